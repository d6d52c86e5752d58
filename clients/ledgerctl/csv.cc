#include "clients/ledgerctl/csv.h"

#include "absl/strings/str_cat.h"

namespace callbackledger {
namespace ctl {

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string CsvRecord(const std::vector<std::string>& fields) {
  std::string record;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i != 0) record += ',';
    record += CsvField(fields[i]);
  }
  record += "\r\n";
  return record;
}

void CsvWriter::Write(const std::vector<std::string>& fields) {
  const std::string record = CsvRecord(fields);
  std::fwrite(record.data(), 1, record.size(), out_);
}

int CsvReader::Get() {
  int c;
  if (!pushback_.empty()) {
    c = static_cast<unsigned char>(pushback_.back());
    pushback_.pop_back();
  } else {
    c = std::getc(in_);
  }
  if (c != EOF) ++bytes_read_;
  return c;
}

void CsvReader::Unget(int c) {
  if (c == EOF) return;
  pushback_.push_back(static_cast<char>(c));
  --bytes_read_;
}

bool CsvReader::Next(CsvRow* row) {
  if (!started_) {
    started_ = true;
    // A UTF-8 byte order mark, as spreadsheets write it, is skipped.
    const int b0 = Get();
    const int b1 = b0 == 0xEF ? Get() : EOF;
    const int b2 = b1 == 0xBB ? Get() : EOF;
    if (b0 != 0xEF || b1 != 0xBB || b2 != 0xBF) {
      Unget(b2);
      Unget(b1);
      Unget(b0);
    }
  }

  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
  row->fields.clear();
  row->error.clear();
  row->line = line_;
  std::string field;
  State state = State::kFieldStart;
  uint64_t quote_line = line_;
  bool any = false;
  auto set_error = [row](const std::string& error) {
    if (row->error.empty()) row->error = error;
  };
  auto end_of_line = [this](int c) {
    if (c == '\r') {
      const int next = Get();
      if (next != '\n') Unget(next);
    }
    ++line_;
  };

  while (true) {
    const int c = Get();
    if (c == EOF) {
      if (state == State::kQuoted) {
        set_error(absl::StrCat("the file ends inside the quoted field that starts on line ",
                               quote_line, ": a closing quote is missing"));
      }
      if (!any) return false;
      row->fields.push_back(std::move(field));
      return true;
    }
    any = true;
    const char ch = static_cast<char>(c);
    switch (state) {
      case State::kFieldStart:
        if (ch == '"') {
          state = State::kQuoted;
          quote_line = line_;
        } else if (ch == ',') {
          row->fields.push_back(std::move(field));
          field.clear();
        } else if (ch == '\r' || ch == '\n') {
          end_of_line(c);
          row->fields.push_back(std::move(field));
          return true;
        } else {
          field += ch;
          state = State::kUnquoted;
        }
        break;
      case State::kUnquoted:
        if (ch == ',') {
          row->fields.push_back(std::move(field));
          field.clear();
          state = State::kFieldStart;
        } else if (ch == '\r' || ch == '\n') {
          end_of_line(c);
          row->fields.push_back(std::move(field));
          return true;
        } else {
          if (ch == '"') {
            set_error(absl::StrCat("field ", row->fields.size() + 1,
                                   " has a double quote but does not start with one: enclose "
                                   "the whole field in double quotes and double the quote"));
          }
          field += ch;
        }
        break;
      case State::kQuoted:
        if (ch == '"') {
          state = State::kQuoteInQuoted;
        } else {
          if (ch == '\n') ++line_;
          field += ch;
        }
        break;
      case State::kQuoteInQuoted:
        if (ch == '"') {
          field += '"';
          state = State::kQuoted;
        } else if (ch == ',') {
          row->fields.push_back(std::move(field));
          field.clear();
          state = State::kFieldStart;
        } else if (ch == '\r' || ch == '\n') {
          end_of_line(c);
          row->fields.push_back(std::move(field));
          return true;
        } else {
          set_error(absl::StrCat("field ", row->fields.size() + 1,
                                 " has text after its closing quote: double a quote that is "
                                 "part of the value"));
          field += ch;
          state = State::kUnquoted;
        }
        break;
    }
  }
}

}  // namespace ctl
}  // namespace callbackledger
