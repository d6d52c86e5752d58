// A RocksDB FileSystem that writes zeros ahead of the write-ahead log, so that the log's
// appends overwrite blocks the file already has and each synced write costs one device
// write instead of two.
//
// Why: RocksDB appends its write-ahead log. An fdatasync after an append that grew the
// file must also write the inode (its size changed), a second synchronous write; on this
// project's reference machine (ext4) that made a synced 1.5 KB write cost about 250 µs at
// the median instead of about 175 µs over blocks already written (docs/benchmarks.md).
// RocksDB's own answer, recycle_log_file_num, is turned off by RocksDB 7.8 under the
// point-in-time recovery the ledger uses.
//
// How: for every write-ahead log file (NNNNNN.log), before an append would come within
// half a chunk of the zeroed end, the next chunk past it is written with zeros (buffered:
// the next sync carries them and the new size, once per chunk). A clean close cuts the
// zeros off. After a crash the file ends in zeros, which RocksDB's log reader skips as
// padding: recovery reads the same records as without them (wal_zero_ahead_test).
//
// Other files (table files, MANIFEST, the info LOG) pass through untouched. On a
// copy-on-write file system (btrfs, ZFS) an overwrite allocates new blocks anyway, so the
// zeros only double the bytes written: turn it off there (--wal_zero_ahead_mib=0).
#ifndef CALLBACKLEDGER_LEDGER_WAL_ZERO_AHEAD_H_
#define CALLBACKLEDGER_LEDGER_WAL_ZERO_AHEAD_H_

#include <cstdint>
#include <memory>
#include <string>

#include "rocksdb/file_system.h"

namespace callbackledger {

// True for a write-ahead log file's name: digits, then ".log", after the last '/'.
bool IsWriteAheadLogName(const std::string& path);

// Wraps `base`; `chunk_bytes` (at least 4096; rounded up to whole pages) of zeros are kept
// ahead of each write-ahead log file's end.
std::shared_ptr<rocksdb::FileSystem> NewZeroAheadFileSystem(
    std::shared_ptr<rocksdb::FileSystem> base, uint64_t chunk_bytes);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_WAL_ZERO_AHEAD_H_
