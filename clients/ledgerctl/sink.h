// Where the rows of a listing go: a table for people, CSV, JSON, or an Excel workbook.
// A listing (CallerIDs, recharges, calls, events) is turned into typed cells once, and
// every sink writes the same cells its own way, one row at a time, so that exports stream
// page by page and never hold a whole listing in memory.
#ifndef CALLBACKLEDGER_CLIENTS_LEDGERCTL_SINK_H_
#define CALLBACKLEDGER_CLIENTS_LEDGERCTL_SINK_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace callbackledger {
namespace ctl {

enum class CellKind { kText, kInteger, kMoney, kTime, kBool };

struct Column {
  // The CSV header and the JSON name: the API's field name.
  std::string key;
  // The title people read (table header, workbook header).
  std::string title;
  CellKind kind = CellKind::kText;
  // The least width of the column in a table that is not measured first.
  size_t min_width = 0;
};

struct Cell {
  CellKind kind = CellKind::kText;
  // The value as text: the text, the integer in decimal, the money as the server formatted
  // it (or "unlimited", or empty), the time in RFC 3339, "true" or "false".
  std::string text;
  int64_t integer = 0;
  google::protobuf::Timestamp time;
  bool flag = false;

  static Cell Text(std::string text);
  static Cell Integer(int64_t value);
  static Cell Money(std::string money);
  static Cell Time(const google::protobuf::Timestamp& time);
  static Cell Bool(bool value);
};

class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual void Begin(const std::vector<Column>& columns) = 0;
  // One row; `message` is the API's message the cells came from (for JSON).
  virtual void Row(const std::vector<Cell>& cells, const google::protobuf::Message& message) = 0;
  // Totals after the rows (the cost report): cells aligned with the columns, and the
  // message holding them. CSV leaves them out, so that every record is a row.
  virtual void Totals(const std::vector<Cell>& cells, const google::protobuf::Message& totals) {}
  // Writes what is left and closes. Returns "" or what went wrong.
  virtual std::string End() = 0;
};

// An aligned text table on `out`. Column widths come from the first `buffer_rows` rows
// (0: from the titles alone, for streams that follow the log).
std::unique_ptr<RowSink> NewTableSink(std::FILE* out, size_t buffer_rows);

// CSV (RFC 4180) with a header row of the columns' keys. `flush_each_row` for streams
// that follow the log.
std::unique_ptr<RowSink> NewCsvSink(std::FILE* out, bool flush_each_row = false);

// JSON with the API's field names. `array_key` empty: a JSON array of the rows;
// otherwise an object {array_key: [rows...], totals' fields...}. `lines`: one object per
// line instead (JSON Lines), flushed as it is written.
std::unique_ptr<RowSink> NewJsonSink(std::FILE* out, const std::string& array_key, bool lines);

// An .xlsx workbook at `path`, in libxlsxwriter's constant-memory mode: a bold header
// row, typed cells (numbers for money and ids, dates for times, booleans), column widths
// from the data; a sheet that fills up (1,048,576 rows) continues on a new one.
std::unique_ptr<RowSink> NewXlsxSink(const std::string& path, const std::string& sheet_name);

// A message as JSON with the API's field names; `pretty` for people.
std::string ToJson(const google::protobuf::Message& message, bool pretty);

// How wide `text` is on a terminal (UTF-8 code points).
size_t DisplayWidth(const std::string& text);

}  // namespace ctl
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_CLIENTS_LEDGERCTL_SINK_H_
