// Reads every record of an in-memory file with ledgerctl's CSV reader, as `ledgerctl
// import` reads a file.
#ifndef CALLBACKLEDGER_FUZZ_CSV_READER_H_
#define CALLBACKLEDGER_FUZZ_CSV_READER_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "clients/ledgerctl/csv.h"

namespace callbackledger {

// The records of `text` and the bytes the reader consumed.
struct CsvFile {
  std::vector<ctl::CsvRow> rows;
  uint64_t bytes_read = 0;
};

inline CsvFile ReadCsv(const std::string& text) {
  CsvFile file;
  // fmemopen cannot open an empty buffer; an empty file has no records.
  if (text.empty()) return file;
  std::FILE* in = fmemopen(const_cast<char*>(text.data()), text.size(), "r");
  if (in == nullptr) std::abort();
  ctl::CsvReader reader(in);
  ctl::CsvRow row;
  while (reader.Next(&row)) file.rows.push_back(row);
  file.bytes_read = reader.bytes_read();
  std::fclose(in);
  return file;
}

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_FUZZ_CSV_READER_H_
