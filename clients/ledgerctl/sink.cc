#include "clients/ledgerctl/sink.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "absl/strings/str_cat.h"
#include "clients/ledgerctl/common.h"
#include "clients/ledgerctl/csv.h"
#include "google/protobuf/util/json_util.h"

namespace callbackledger {
namespace ctl {

Cell Cell::Text(std::string text) {
  Cell cell;
  cell.kind = CellKind::kText;
  cell.text = std::move(text);
  return cell;
}

Cell Cell::Integer(int64_t value) {
  Cell cell;
  cell.kind = CellKind::kInteger;
  cell.integer = value;
  cell.text = std::to_string(value);
  return cell;
}

Cell Cell::Money(std::string money) {
  Cell cell;
  cell.kind = CellKind::kMoney;
  cell.text = std::move(money);
  return cell;
}

Cell Cell::Time(const google::protobuf::Timestamp& time) {
  Cell cell;
  cell.kind = CellKind::kTime;
  cell.time = time;
  cell.text = Rfc3339(time);
  return cell;
}

Cell Cell::Bool(bool value) {
  Cell cell;
  cell.kind = CellKind::kBool;
  cell.flag = value;
  cell.text = value ? "true" : "false";
  return cell;
}

size_t DisplayWidth(const std::string& text) {
  size_t width = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string ToJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) return "{}";
  while (!json.empty() && json.back() == '\n') json.pop_back();
  return json;
}

namespace {

std::string Upper(const std::string& text) {
  std::string upper;
  for (char c : text) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return upper;
}

bool RightAligned(CellKind kind) { return kind == CellKind::kInteger || kind == CellKind::kMoney; }

// How a cell reads in a table.
std::string TableText(const Cell& cell) {
  switch (cell.kind) {
    case CellKind::kTime:
      return HumanTime(cell.time);
    case CellKind::kBool:
      return cell.flag ? "yes" : "no";
    default:
      return cell.text;
  }
}

class TableSink : public RowSink {
 public:
  TableSink(std::FILE* out, size_t buffer_rows) : out_(out), buffer_rows_(buffer_rows) {}

  void Begin(const std::vector<Column>& columns) override {
    columns_ = columns;
    widths_.clear();
    for (const Column& column : columns_) {
      widths_.push_back(std::max(column.min_width, DisplayWidth(column.title)));
    }
    if (buffer_rows_ == 0) PrintHeader();
  }

  void Row(const std::vector<Cell>& cells, const google::protobuf::Message&) override {
    std::vector<std::string> texts;
    for (const Cell& cell : cells) texts.push_back(TableText(cell));
    if (!header_printed_ && buffered_.size() < buffer_rows_) {
      for (size_t i = 0; i < texts.size() && i < widths_.size(); ++i) {
        widths_[i] = std::max(widths_[i], DisplayWidth(texts[i]));
      }
      buffered_.push_back(std::move(texts));
      if (buffered_.size() == buffer_rows_) Flush();
      return;
    }
    PrintLine(texts);
  }

  void Totals(const std::vector<Cell>& cells, const google::protobuf::Message&) override {
    Flush();
    std::vector<std::string> texts;
    for (const Cell& cell : cells) texts.push_back(TableText(cell));
    std::vector<std::string> rule;
    for (size_t width : widths_) rule.push_back(std::string(width, '-'));
    PrintLine(rule);
    PrintLine(texts);
  }

  std::string End() override {
    Flush();
    std::fflush(out_);
    return std::ferror(out_) ? "cannot write the output" : "";
  }

 private:
  void Flush() {
    if (!header_printed_) PrintHeader();
    for (const std::vector<std::string>& texts : buffered_) PrintLine(texts);
    buffered_.clear();
  }

  void PrintHeader() {
    header_printed_ = true;
    std::vector<std::string> titles;
    for (const Column& column : columns_) titles.push_back(Upper(column.title));
    PrintLine(titles, /*header=*/true);
  }

  void PrintLine(const std::vector<std::string>& texts, bool header = false) {
    std::string line;
    for (size_t i = 0; i < texts.size(); ++i) {
      const size_t width = i < widths_.size() ? widths_[i] : 0;
      const size_t text_width = DisplayWidth(texts[i]);
      const size_t pad = width > text_width ? width - text_width : 0;
      const bool right = !header && i < columns_.size() && RightAligned(columns_[i].kind);
      if (i != 0) line += "  ";
      if (right) line.append(pad, ' ');
      line += texts[i];
      if (!right && i + 1 < texts.size()) line.append(pad, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out_);
  }

  std::FILE* out_;
  size_t buffer_rows_;
  std::vector<Column> columns_;
  std::vector<size_t> widths_;
  std::vector<std::vector<std::string>> buffered_;
  bool header_printed_ = false;
};

class CsvSink : public RowSink {
 public:
  CsvSink(std::FILE* out, bool flush_each_row)
      : out_(out), writer_(out), flush_each_row_(flush_each_row) {}

  void Begin(const std::vector<Column>& columns) override {
    std::vector<std::string> keys;
    for (const Column& column : columns) keys.push_back(column.key);
    writer_.Write(keys);
  }

  void Row(const std::vector<Cell>& cells, const google::protobuf::Message&) override {
    std::vector<std::string> texts;
    for (const Cell& cell : cells) texts.push_back(cell.text);
    writer_.Write(texts);
    if (flush_each_row_) std::fflush(out_);
  }

  std::string End() override {
    std::fflush(out_);
    return writer_.ok() ? "" : "cannot write the CSV output";
  }

 private:
  std::FILE* out_;
  CsvWriter writer_;
  bool flush_each_row_;
};

class JsonSink : public RowSink {
 public:
  JsonSink(std::FILE* out, std::string array_key, bool lines)
      : out_(out), array_key_(std::move(array_key)), lines_(lines) {}

  void Begin(const std::vector<Column>&) override {
    if (lines_) return;
    if (array_key_.empty()) {
      std::fputs("[", out_);
    } else {
      std::fprintf(out_, "{\n  \"%s\": [", array_key_.c_str());
    }
  }

  void Row(const std::vector<Cell>&, const google::protobuf::Message& message) override {
    const std::string json = ToJson(message, /*pretty=*/false);
    if (lines_) {
      std::fprintf(out_, "%s\n", json.c_str());
      std::fflush(out_);
      return;
    }
    std::fprintf(out_, "%s\n%s%s", rows_ == 0 ? "" : ",", array_key_.empty() ? "  " : "    ",
                 json.c_str());
    ++rows_;
  }

  void Totals(const std::vector<Cell>&, const google::protobuf::Message& totals) override {
    totals_ = ToJson(totals, /*pretty=*/false);
  }

  std::string End() override {
    if (!lines_) {
      if (array_key_.empty()) {
        std::fputs(rows_ == 0 ? "]\n" : "\n]\n", out_);
      } else {
        std::fputs(rows_ == 0 ? "]" : "\n  ]", out_);
        // The totals' own fields, after the rows.
        if (totals_.size() > 2) {
          std::fprintf(out_, ",\n  %s", totals_.substr(1, totals_.size() - 2).c_str());
        }
        std::fputs("\n}\n", out_);
      }
    }
    std::fflush(out_);
    return std::ferror(out_) ? "cannot write the output" : "";
  }

 private:
  std::FILE* out_;
  std::string array_key_;
  bool lines_;
  uint64_t rows_ = 0;
  std::string totals_;
};

}  // namespace

std::unique_ptr<RowSink> NewTableSink(std::FILE* out, size_t buffer_rows) {
  return std::make_unique<TableSink>(out, buffer_rows);
}

std::unique_ptr<RowSink> NewCsvSink(std::FILE* out, bool flush_each_row) {
  return std::make_unique<CsvSink>(out, flush_each_row);
}

std::unique_ptr<RowSink> NewJsonSink(std::FILE* out, const std::string& array_key, bool lines) {
  return std::make_unique<JsonSink>(out, array_key, lines);
}

}  // namespace ctl
}  // namespace callbackledger
