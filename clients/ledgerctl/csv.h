// CSV as RFC 4180 defines it: fields separated by commas, records by CRLF; a field that
// contains a comma, a double quote, CR or LF is enclosed in double quotes, and a double
// quote inside it is doubled. The reader accepts LF or CRLF line ends and a UTF-8 byte
// order mark at the start, and reads one record at a time.
#ifndef CALLBACKLEDGER_CLIENTS_LEDGERCTL_CSV_H_
#define CALLBACKLEDGER_CLIENTS_LEDGERCTL_CSV_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace callbackledger {
namespace ctl {

// One field, quoted when it needs to be.
std::string CsvField(const std::string& value);
// One record with its CRLF.
std::string CsvRecord(const std::vector<std::string>& fields);

// Writes records to a stdio stream (not owned).
class CsvWriter {
 public:
  explicit CsvWriter(std::FILE* out) : out_(out) {}
  void Write(const std::vector<std::string>& fields);
  // False when a write failed (disk full, closed pipe).
  bool ok() const { return !std::ferror(out_); }

 private:
  std::FILE* out_;
};

struct CsvRow {
  std::vector<std::string> fields;
  // The line of the file the record starts on (1-based).
  uint64_t line = 0;
  // Empty, or what is wrong with the record's quoting (the fields are then best effort).
  std::string error;
  // The record is an empty line.
  bool blank() const { return fields.size() == 1 && fields[0].empty() && error.empty(); }
};

// Reads records from a stdio stream (not owned).
class CsvReader {
 public:
  explicit CsvReader(std::FILE* in) : in_(in) {}
  // Reads the next record; false at the end of the input.
  bool Next(CsvRow* row);
  // Bytes consumed so far, for progress.
  uint64_t bytes_read() const { return bytes_read_; }
  // The stream failed (not just ended).
  bool failed() const { return std::ferror(in_) != 0; }

 private:
  int Get();
  void Unget(int c);

  std::FILE* in_;
  // Bytes given back by Unget, the next one last.
  std::string pushback_;
  uint64_t line_ = 1;
  uint64_t bytes_read_ = 0;
  bool started_ = false;
};

}  // namespace ctl
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_CLIENTS_LEDGERCTL_CSV_H_
