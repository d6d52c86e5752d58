// ledgerctl's CSV reader (the import file) on any bytes. Asserts: it reads the whole input;
// records start on increasing lines; a record read without error, written again with the
// CSV writer, reads back as the same fields (the reader and writer agree on RFC 4180);
// every quoting error is described in printable text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "clients/ledgerctl/csv.h"
#include "fuzz/csv_reader.h"
#include "fuzz/property.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using callbackledger::ReadCsv;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const callbackledger::CsvFile file = ReadCsv(input);
  PROPERTY(file.bytes_read == input.size(), input);
  uint64_t line = 0;
  for (const callbackledger::ctl::CsvRow& row : file.rows) {
    PROPERTY(row.line > line, input);
    line = row.line;
    PROPERTY(!row.fields.empty(), input);
    if (!row.error.empty()) {
      PROPERTY(callbackledger::IsPrintableAscii(row.error), input);
      continue;
    }
    // A byte order mark first, so that one the record itself starts with is kept.
    const std::string again = "\xEF\xBB\xBF" + callbackledger::ctl::CsvRecord(row.fields);
    const callbackledger::CsvFile reread = ReadCsv(again);
    PROPERTY(reread.rows.size() == 1, again);
    PROPERTY(reread.rows[0].error.empty(), again);
    PROPERTY(reread.rows[0].fields == row.fields, again);
  }
  return 0;
}
