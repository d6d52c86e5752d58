#include "clients/ledgerctl/listings.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/struct.pb.h"
#include "ledger/money.h"

namespace callbackledger {
namespace ctl {
namespace {

// Money in events is in micros; people read it with two decimals (or more where needed).
std::string Micros(int64_t micros) { return FormatMoney(micros, 2); }

// A value for key=value: quoted when it has spaces, quotes or '=' (UTF-8 kept as is).
std::string Value(const std::string& value) {
  if (!value.empty() && value.find_first_of(" \"=\t\\") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (c == '\t') {
      quoted += "\\t";
    } else {
      quoted += c;
    }
  }
  quoted += '"';
  return quoted;
}

std::string DurationText(uint64_t seconds) {
  if (seconds >= 3600) {
    return absl::StrFormat("%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60);
  }
  return absl::StrFormat("%d:%02d", seconds / 60, seconds % 60);
}

Cell CreditCell(const std::string& money, bool unlimited, const ListingStyle& style) {
  if (unlimited && style.unlimited_text) return Cell::Money("unlimited");
  return Cell::Money(money);
}

Cell DurationCell(uint64_t seconds, const ListingStyle& style) {
  if (style.table) {
    Cell cell = Cell::Text(DurationText(seconds));
    cell.kind = CellKind::kMoney;  // right-aligned in a table; text in a workbook
    return cell;
  }
  return Cell::Integer(static_cast<int64_t>(seconds));
}

}  // namespace

std::vector<Column> CallerIdColumns(const Globals& globals, const ListingStyle& style) {
  std::vector<Column> columns = {
      {"status", "status", CellKind::kText},
      {"callback_number", "callback number", CellKind::kText},
      {"pin_set", "PIN", CellKind::kBool},
      {"total_credit", MoneyTitle(globals, "total credit"), CellKind::kMoney},
      {"available_credit", MoneyTitle(globals, "available credit"), CellKind::kMoney},
  };
  if (style.unlimited_column) columns.push_back({"unlimited", "unlimited", CellKind::kBool});
  columns.push_back({"created_at", "created (UTC)", CellKind::kTime});
  columns.push_back({"order_no", "order no", CellKind::kText});
  columns.push_back({"id", "id", CellKind::kInteger});
  if (style.extension_column) columns.push_back({"extension", "extension", CellKind::kText});
  return columns;
}

std::vector<Cell> CallerIdCells(const v1::CallerId& c, const ListingStyle& style) {
  std::vector<Cell> cells = {
      Cell::Text(StatusName(c.status())),
      Cell::Text(c.callback_number()),
      Cell::Bool(c.pin_set()),
      CreditCell(c.total_credit(), c.unlimited(), style),
      CreditCell(c.available_credit(), c.unlimited(), style),
  };
  if (style.unlimited_column) cells.push_back(Cell::Bool(c.unlimited()));
  cells.push_back(Cell::Time(c.created_at()));
  cells.push_back(Cell::Text(c.order_no()));
  cells.push_back(Cell::Integer(static_cast<int64_t>(c.id())));
  if (style.extension_column) cells.push_back(Cell::Text(c.extension()));
  return cells;
}

std::vector<Column> RechargeColumns(const Globals& globals, const ListingStyle& style) {
  std::vector<Column> columns = {
      {"id", "id", CellKind::kInteger},
      {"created_at", "date (UTC)", CellKind::kTime},
      {"amount", MoneyTitle(globals, "credit added"), CellKind::kMoney},
      {"credit_left", MoneyTitle(globals, "credit left"), CellKind::kMoney},
  };
  if (!style.table) {
    columns.push_back({"total_credit", MoneyTitle(globals, "total credit"), CellKind::kMoney});
    columns.push_back(
        {"available_credit", MoneyTitle(globals, "available credit"), CellKind::kMoney});
  }
  if (style.unlimited_column) columns.push_back({"unlimited", "unlimited", CellKind::kBool});
  columns.push_back({"order_no", "order no", CellKind::kText});
  columns.push_back({"description", "description", CellKind::kText});
  columns.push_back({"actor", "by", CellKind::kText});
  if (!style.table) {
    columns.push_back({"request_id", "request id", CellKind::kText});
    columns.push_back({"callerid_id", "CallerID id", CellKind::kInteger});
  }
  return columns;
}

std::vector<Cell> RechargeCells(const v1::Recharge& r, const ListingStyle& style) {
  std::vector<Cell> cells = {
      Cell::Integer(static_cast<int64_t>(r.id())),
      Cell::Time(r.created_at()),
      Cell::Money(r.amount()),
      CreditCell(r.credit_left(), r.unlimited(), style),
  };
  if (!style.table) {
    cells.push_back(CreditCell(r.total_credit(), r.unlimited(), style));
    cells.push_back(CreditCell(r.available_credit(), r.unlimited(), style));
  }
  if (style.unlimited_column) cells.push_back(Cell::Bool(r.unlimited()));
  cells.push_back(Cell::Text(r.order_no()));
  cells.push_back(Cell::Text(r.description()));
  cells.push_back(Cell::Text(r.actor()));
  if (!style.table) {
    cells.push_back(Cell::Text(r.request_id()));
    cells.push_back(Cell::Integer(static_cast<int64_t>(r.callerid_id())));
  }
  return cells;
}

std::vector<Column> CallColumns(const Globals& globals, const ListingStyle& style) {
  std::vector<Column> columns = {
      {"started_at", "started (UTC)", CellKind::kTime},
      {"callback_number", "callback number", CellKind::kText},
      {"destination", "destination", CellKind::kText},
      {"duration_seconds", style.table ? "duration" : "duration (s)",
       style.table ? CellKind::kMoney : CellKind::kInteger},
      {"cost", MoneyTitle(globals, "cost"), CellKind::kMoney},
      {"uncollected", MoneyTitle(globals, "uncollected"), CellKind::kMoney},
      {"late", "late", CellKind::kBool},
      {"node_id", "node", CellKind::kText},
  };
  if (!style.table) {
    columns.push_back({"call_id", "call id", CellKind::kText});
    columns.push_back({"reservation_id", "reservation id", CellKind::kText});
    columns.push_back({"callerid_id", "CallerID id", CellKind::kInteger});
  }
  if (style.extension_column) columns.push_back({"extension", "extension", CellKind::kText});
  return columns;
}

std::vector<Cell> CallCells(const v1::CallRecord& call, const ListingStyle& style) {
  std::vector<Cell> cells = {
      Cell::Time(call.started_at()),  Cell::Text(call.callback_number()),
      Cell::Text(call.destination()), DurationCell(call.duration_seconds(), style),
      Cell::Money(call.cost()),       Cell::Money(call.uncollected()),
      Cell::Bool(call.late()),        Cell::Text(call.node_id()),
  };
  if (!style.table) {
    cells.push_back(Cell::Text(call.call_id()));
    cells.push_back(Cell::Text(call.reservation_id()));
    cells.push_back(Cell::Integer(static_cast<int64_t>(call.callerid_id())));
  }
  if (style.extension_column) cells.push_back(Cell::Text(call.extension()));
  return cells;
}

std::vector<Column> EventColumns(bool people) {
  // Events are printed as they come (--follow), so a table cannot measure them first.
  std::vector<Column> columns = {
      {"sequence", "seq", CellKind::kInteger, 5},
      {"time", "time (UTC)", CellKind::kTime, 19},
      {"actor", "actor", CellKind::kText, 6},
      {"type", "event", CellKind::kText, 20},
  };
  if (!people) columns.push_back({"request_id", "request id", CellKind::kText, 0});
  columns.push_back({"details", "details", CellKind::kText, 0});
  return columns;
}

std::vector<Cell> EventCells(const v1::Event& event, bool people) {
  std::vector<Cell> cells = {
      Cell::Integer(static_cast<int64_t>(event.sequence())),
      Cell::Time(event.time()),
      Cell::Text(event.actor()),
      Cell::Text(EventType(event)),
  };
  std::string details = EventDetails(event);
  if (!people) {
    cells.push_back(Cell::Text(event.request_id()));
  } else if (!event.request_id().empty()) {
    absl::StrAppend(&details, " request_id=", Value(event.request_id()));
  }
  cells.push_back(Cell::Text(std::move(details)));
  return cells;
}

std::string EventType(const v1::Event& event) {
  const google::protobuf::FieldDescriptor* field =
      event.GetReflection()->GetOneofFieldDescriptor(event, event.GetDescriptor()->oneof_decl(0));
  return field == nullptr ? "unknown" : field->name();
}

std::string EventDetails(const v1::Event& event) {
  std::vector<std::string> parts;
  auto add = [&parts](const std::string& key, const std::string& value) {
    parts.push_back(absl::StrCat(key, "=", Value(value)));
  };
  switch (event.body_case()) {
    case v1::Event::kCallerIdAdded: {
      const v1::CallerIdAdded& e = event.caller_id_added();
      add("id", std::to_string(e.callerid_id()));
      add("extension", e.extension());
      add("number", e.callback_number());
      add("status", StatusName(e.status()));
      add("pin", e.has_pin() ? "yes" : "no");
      add("credit", e.unlimited() ? "unlimited" : Micros(e.initial_credit_micros()));
      if (!e.order_no().empty()) add("order_no", e.order_no());
      break;
    }
    case v1::Event::kCallerIdUpdated: {
      const v1::CallerIdUpdated& e = event.caller_id_updated();
      add("id", std::to_string(e.callerid_id()));
      if (e.has_callback_number()) add("number", e.callback_number());
      if (e.has_pin()) add("pin", "changed");
      if (e.pin_removed()) add("pin", "removed");
      if (e.has_status()) add("status", StatusName(e.status()));
      if (e.has_order_no()) add("order_no", e.order_no());
      if (e.pin_lock_reset()) add("pin_lock", "reset");
      break;
    }
    case v1::Event::kCallerIdsRemoved:
      add("ids", absl::StrJoin(event.caller_ids_removed().callerid_ids(), ","));
      break;
    case v1::Event::kCreditAdded: {
      const v1::CreditAdded& e = event.credit_added();
      add("id", std::to_string(e.callerid_id()));
      add("amount", Micros(e.amount_micros()));
      add("credit_left", e.unlimited() ? "unlimited" : Micros(e.credit_left_micros()));
      if (!e.order_no().empty()) add("order_no", e.order_no());
      if (!e.description().empty()) add("description", e.description());
      break;
    }
    case v1::Event::kExtensionPolicySet: {
      const v1::ExtensionPolicySet& e = event.extension_policy_set();
      add("extension", e.extension());
      add("max_active", std::to_string(e.max_active_callerids()));
      add("min_credit", Micros(e.min_credit_to_call_micros()));
      break;
    }
    case v1::Event::kPinFailed: {
      const v1::PinFailed& e = event.pin_failed();
      add("id", std::to_string(e.callerid_id()));
      add("failed_attempts", std::to_string(e.failed_attempts()));
      if (e.locked()) add("locked", "yes");
      break;
    }
    case v1::Event::kPinAccepted:
      add("id", std::to_string(event.pin_accepted().callerid_id()));
      break;
    case v1::Event::kReservationOpened: {
      const v1::ReservationOpened& e = event.reservation_opened();
      add("reservation", e.reservation_id());
      add("id", std::to_string(e.callerid_id()));
      if (!e.node_id().empty()) add("node", e.node_id());
      add("granted", Micros(e.granted_micros()));
      if (e.granted_seconds() != 0) add("seconds", std::to_string(e.granted_seconds()));
      if (e.final_grant()) add("final", "yes");
      break;
    }
    case v1::Event::kReservationExtended: {
      const v1::ReservationExtended& e = event.reservation_extended();
      add("reservation", e.reservation_id());
      add("granted", Micros(e.granted_micros()));
      add("held", Micros(e.held_after_micros()));
      if (e.final_grant()) add("final", "yes");
      break;
    }
    case v1::Event::kReservationSettled: {
      const v1::ReservationSettled& e = event.reservation_settled();
      add("reservation", e.reservation_id());
      add("id", std::to_string(e.callerid_id()));
      add("cost", Micros(e.cost_micros()));
      if (e.uncollected_micros() != 0) add("uncollected", Micros(e.uncollected_micros()));
      add("duration", absl::StrCat(e.duration_seconds(), "s"));
      if (e.late()) add("late", "yes");
      break;
    }
    case v1::Event::kReservationReleased: {
      const v1::ReservationReleased& e = event.reservation_released();
      add("reservation", e.reservation_id());
      add("reason", v1::ReservationReleased::Reason_Name(e.reason()));
      add("released", Micros(e.released_micros()));
      break;
    }
    case v1::Event::BODY_NOT_SET:
      break;
  }
  return absl::StrJoin(parts, " ");
}

int ListCallerIdsInto(const std::string& command, const Globals& globals,
                      const Connection& connection, v1::ListCallerIdsRequest request,
                      const ListingStyle& style, uint64_t limit, RowSink* sink, Progress* progress,
                      uint64_t* rows, uint64_t* total) {
  *rows = 0;
  *total = 0;
  request.set_page_size(kPageSize);
  request.clear_page_token();
  sink->Begin(CallerIdColumns(globals, style));
  while (true) {
    v1::ListCallerIdsResponse page;
    grpc::Status status = Call(connection, connection.caller_ids(),
                               &v1::CallerIds::Stub::ListCallerIds, request, &page);
    if (!status.ok()) return RpcFailed(command, globals, status);
    *total = page.total_size();
    if (progress != nullptr) {
      progress->SetTotal(limit == 0 ? page.total_size() : std::min(limit, page.total_size()));
    }
    for (const v1::CallerId& caller_id : page.caller_ids()) {
      if (limit != 0 && *rows >= limit) break;
      sink->Row(CallerIdCells(caller_id, style), caller_id);
      ++*rows;
    }
    if (progress != nullptr) progress->Update(*rows);
    if (page.next_page_token().empty() || (limit != 0 && *rows >= limit)) break;
    request.set_page_token(page.next_page_token());
  }
  return kExitOk;
}

int ListRechargesInto(const std::string& command, const Globals& globals,
                      const Connection& connection, v1::ListRechargesRequest request,
                      const ListingStyle& style, uint64_t limit, RowSink* sink, Progress* progress,
                      uint64_t* rows) {
  *rows = 0;
  request.set_page_size(kPageSize);
  request.clear_page_token();
  sink->Begin(RechargeColumns(globals, style));
  while (true) {
    v1::ListRechargesResponse page;
    grpc::Status status =
        Call(connection, connection.credit(), &v1::Credit::Stub::ListRecharges, request, &page);
    if (!status.ok()) return RpcFailed(command, globals, status);
    for (const v1::Recharge& recharge : page.recharges()) {
      if (limit != 0 && *rows >= limit) break;
      sink->Row(RechargeCells(recharge, style), recharge);
      ++*rows;
    }
    if (progress != nullptr) progress->Update(*rows);
    if (page.next_page_token().empty() || (limit != 0 && *rows >= limit)) break;
    request.set_page_token(page.next_page_token());
  }
  return kExitOk;
}

int CostReportInto(const std::string& command, const Globals& globals, const Connection& connection,
                   v1::GetCostReportRequest request, const ListingStyle& style, RowSink* sink,
                   Progress* progress, uint64_t* rows, v1::GetCostReportResponse* totals) {
  *rows = 0;
  request.set_page_size(kPageSize);
  request.clear_page_token();
  const std::vector<Column> columns = CallColumns(globals, style);
  sink->Begin(columns);
  bool first = true;
  while (true) {
    v1::GetCostReportResponse page;
    grpc::Status status =
        Call(connection, connection.reports(), &v1::Reports::Stub::GetCostReport, request, &page);
    if (!status.ok()) return RpcFailed(command, globals, status);
    if (first) {
      first = false;
      *totals = page;
      totals->clear_calls();
      totals->clear_next_page_token();
      if (progress != nullptr) progress->SetTotal(page.total_calls());
    }
    for (const v1::CallRecord& call : page.calls()) {
      sink->Row(CallCells(call, style), call);
      ++*rows;
    }
    if (progress != nullptr) progress->Update(*rows);
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  // The totals row, under the columns it sums.
  std::vector<Cell> cells;
  for (const Column& column : columns) {
    if (column.key == "started_at") {
      cells.push_back(Cell::Text("total"));
    } else if (column.key == "callback_number") {
      cells.push_back(Cell::Text(absl::StrCat(Thousands(totals->total_calls()),
                                              totals->total_calls() == 1 ? " call" : " calls")));
    } else if (column.key == "duration_seconds") {
      cells.push_back(DurationCell(totals->total_duration_seconds(), style));
    } else if (column.key == "cost") {
      cells.push_back(Cell::Money(totals->total_cost()));
    } else if (column.key == "uncollected") {
      cells.push_back(Cell::Money(totals->total_uncollected()));
    } else {
      cells.push_back(Cell::Text(""));
    }
  }
  google::protobuf::Struct json_totals;
  auto& fields = *json_totals.mutable_fields();
  fields["total_calls"].set_string_value(std::to_string(totals->total_calls()));
  fields["total_duration_seconds"].set_string_value(
      std::to_string(totals->total_duration_seconds()));
  fields["total_cost"].set_string_value(totals->total_cost());
  fields["total_uncollected"].set_string_value(totals->total_uncollected());
  sink->Totals(cells, json_totals);
  return kExitOk;
}

}  // namespace ctl
}  // namespace callbackledger
