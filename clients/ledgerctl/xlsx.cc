// The Excel sink, on libxlsxwriter in constant-memory mode: each row goes to a temporary
// file as it is written, so a million rows take no more memory than one.
#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "clients/ledgerctl/common.h"
#include "clients/ledgerctl/sink.h"
#include "ledger/money.h"
#include "xlsxwriter.h"

namespace callbackledger {
namespace ctl {
namespace {

// Excel's rows per sheet.
constexpr lxw_row_t kMaxRows = 1048576;
// Column widths in characters.
constexpr double kMinWidth = 6;
constexpr double kMaxWidth = 60;
constexpr double kTimeWidth = 20;

class XlsxSink : public RowSink {
 public:
  XlsxSink(const std::string& path, const std::string& sheet_name)
      : path_(path), sheet_name_(sheet_name) {
    lxw_workbook_options options{};
    options.constant_memory = LXW_TRUE;
    workbook_ = workbook_new_opt(path_.c_str(), &options);
    if (workbook_ == nullptr) {
      error_ = absl::StrCat("cannot create the workbook ", path_,
                            ": check that the directory exists and is writable");
      return;
    }
    bold_ = workbook_add_format(workbook_);
    format_set_bold(bold_);
    date_ = workbook_add_format(workbook_);
    format_set_num_format(date_, "yyyy-mm-dd hh:mm:ss");
    bold_date_ = workbook_add_format(workbook_);
    format_set_num_format(bold_date_, "yyyy-mm-dd hh:mm:ss");
    format_set_bold(bold_date_);
    for (int decimals = 0; decimals <= kMaxMoneyDecimals; ++decimals) {
      std::string format = "#,##0";
      if (decimals > 0) format += "." + std::string(decimals, '0');
      money_[decimals] = workbook_add_format(workbook_);
      format_set_num_format(money_[decimals], format.c_str());
      bold_money_[decimals] = workbook_add_format(workbook_);
      format_set_num_format(bold_money_[decimals], format.c_str());
      format_set_bold(bold_money_[decimals]);
    }
  }

  ~XlsxSink() override {
    // A workbook never ended (an error on the way) is not written.
    if (workbook_ != nullptr) {
      workbook_close(workbook_);
      std::remove(path_.c_str());
    }
  }

  void Begin(const std::vector<Column>& columns) override {
    columns_ = columns;
    widths_.assign(columns_.size(), kMinWidth);
    for (size_t i = 0; i < columns_.size(); ++i) {
      widths_[i] = std::max<double>(widths_[i], columns_[i].title.size() + 2);
      if (columns_[i].kind == CellKind::kTime) widths_[i] = std::max(widths_[i], kTimeWidth);
    }
    NewSheet();
  }

  void Row(const std::vector<Cell>& cells, const google::protobuf::Message&) override {
    if (!error_.empty()) return;
    if (row_ == kMaxRows) NewSheet();
    WriteCells(cells, /*bold=*/false);
  }

  void Totals(const std::vector<Cell>& cells, const google::protobuf::Message&) override {
    if (!error_.empty()) return;
    if (row_ == kMaxRows) NewSheet();
    WriteCells(cells, /*bold=*/true);
  }

  std::string End() override {
    if (workbook_ == nullptr) return error_;
    FinishSheet();
    lxw_error closed = workbook_close(workbook_);
    workbook_ = nullptr;
    if (error_.empty() && closed != LXW_NO_ERROR) {
      error_ = absl::StrCat("cannot write the workbook ", path_, ": ", lxw_strerror(closed));
    }
    if (!error_.empty()) std::remove(path_.c_str());
    return error_;
  }

 private:
  void NewSheet() {
    if (workbook_ == nullptr) return;
    FinishSheet();
    ++sheets_;
    const std::string name =
        sheets_ == 1 ? sheet_name_ : absl::StrCat(sheet_name_, " (", sheets_, ")");
    sheet_ = workbook_add_worksheet(workbook_, name.c_str());
    if (sheet_ == nullptr) {
      error_ = "cannot add a worksheet";
      return;
    }
    for (size_t i = 0; i < columns_.size(); ++i) {
      Check(worksheet_write_string(sheet_, 0, static_cast<lxw_col_t>(i), columns_[i].title.c_str(),
                                   bold_));
    }
    worksheet_freeze_panes(sheet_, 1, 0);
    row_ = 1;
  }

  // Column widths and the autofilter of the sheet being written.
  void FinishSheet() {
    if (sheet_ == nullptr || columns_.empty()) return;
    for (size_t i = 0; i < columns_.size(); ++i) {
      const auto column = static_cast<lxw_col_t>(i);
      worksheet_set_column(sheet_, column, column, std::min(widths_[i], kMaxWidth), nullptr);
    }
    worksheet_autofilter(sheet_, 0, 0, row_ > 1 ? row_ - 1 : 0,
                         static_cast<lxw_col_t>(columns_.size() - 1));
    sheet_ = nullptr;
  }

  void WriteCells(const std::vector<Cell>& cells, bool bold) {
    for (size_t i = 0; i < cells.size() && i < columns_.size(); ++i) {
      const Cell& cell = cells[i];
      const auto column = static_cast<lxw_col_t>(i);
      double width = static_cast<double>(DisplayWidth(cell.text)) + 2;
      switch (cell.kind) {
        case CellKind::kText:
          if (!cell.text.empty()) {
            Check(worksheet_write_string(sheet_, row_, column, cell.text.c_str(),
                                         bold ? bold_ : nullptr));
          }
          break;
        case CellKind::kInteger:
          Check(worksheet_write_number(sheet_, row_, column, static_cast<double>(cell.integer),
                                       bold ? bold_ : nullptr));
          break;
        case CellKind::kMoney:
          WriteMoney(column, cell.text, bold);
          width += 1 + cell.text.size() / 3;  // thousands separators
          break;
        case CellKind::kTime:
          if (cell.time.seconds() != 0 || cell.time.nanos() != 0) {
            lxw_datetime datetime = ToDatetime(cell.time);
            Check(worksheet_write_datetime(sheet_, row_, column, &datetime,
                                           bold ? bold_date_ : date_));
          }
          width = kTimeWidth;
          break;
        case CellKind::kBool:
          Check(worksheet_write_boolean(sheet_, row_, column, cell.flag ? 1 : 0,
                                        bold ? bold_ : nullptr));
          break;
      }
      widths_[i] = std::max(widths_[i], width);
    }
    ++row_;
  }

  // Money as a number with as many decimals as the server showed; text that is not a
  // number ("unlimited") stays text.
  void WriteMoney(lxw_col_t column, const std::string& text, bool bold) {
    if (text.empty()) return;
    absl::StatusOr<int64_t> micros = ParseMoney("money", text);
    if (!micros.ok()) {
      Check(worksheet_write_string(sheet_, row_, column, text.c_str(), bold ? bold_ : nullptr));
      return;
    }
    const size_t point = text.find('.');
    const int decimals =
        point == std::string::npos
            ? 0
            : std::min<int>(kMaxMoneyDecimals, static_cast<int>(text.size() - point - 1));
    // A double holds every amount below 2^53 micros (9 billion units) exactly enough for
    // Excel, which keeps 15 significant digits.
    const double value = static_cast<double>(*micros) / static_cast<double>(kMicrosPerUnit);
    Check(worksheet_write_number(sheet_, row_, column, value,
                                 bold ? bold_money_[decimals] : money_[decimals]));
  }

  static lxw_datetime ToDatetime(const google::protobuf::Timestamp& time) {
    const std::time_t seconds = static_cast<std::time_t>(time.seconds());
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    lxw_datetime datetime{};
    datetime.year = utc.tm_year + 1900;
    datetime.month = utc.tm_mon + 1;
    datetime.day = utc.tm_mday;
    datetime.hour = utc.tm_hour;
    datetime.min = utc.tm_min;
    datetime.sec = utc.tm_sec + time.nanos() / 1e9;
    return datetime;
  }

  void Check(lxw_error error) {
    if (error != LXW_NO_ERROR && error_.empty()) {
      error_ = absl::StrCat("cannot write to the workbook ", path_, ": ", lxw_strerror(error));
    }
  }

  std::string path_;
  std::string sheet_name_;
  std::string error_;
  lxw_workbook* workbook_ = nullptr;
  lxw_worksheet* sheet_ = nullptr;
  lxw_format* bold_ = nullptr;
  lxw_format* date_ = nullptr;
  lxw_format* bold_date_ = nullptr;
  lxw_format* money_[kMaxMoneyDecimals + 1] = {};
  lxw_format* bold_money_[kMaxMoneyDecimals + 1] = {};
  std::vector<Column> columns_;
  std::vector<double> widths_;
  lxw_row_t row_ = 0;
  int sheets_ = 0;
};

}  // namespace

std::unique_ptr<RowSink> NewXlsxSink(const std::string& path, const std::string& sheet_name) {
  return std::make_unique<XlsxSink>(path, sheet_name);
}

}  // namespace ctl
}  // namespace callbackledger
