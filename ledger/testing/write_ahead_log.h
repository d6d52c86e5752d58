// What a test reads of a data directory's RocksDB write-ahead log.
#ifndef LEDGER_TESTING_WRITE_AHEAD_LOG_H_
#define LEDGER_TESTING_WRITE_AHEAD_LOG_H_

#include <cstdint>
#include <filesystem>
#include <string>

namespace callbackledger::testing {

// The write-ahead log files of a RocksDB directory, in bytes: what a start would replay.
inline uintmax_t WriteAheadLogBytes(const std::string& path) {
  uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(path)) {
    if (entry.path().extension() == ".log") bytes += entry.file_size();
  }
  return bytes;
}

}  // namespace callbackledger::testing

#endif  // LEDGER_TESTING_WRITE_AHEAD_LOG_H_
