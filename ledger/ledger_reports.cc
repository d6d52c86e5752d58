// The cost report: settled calls of an extension or of one CallerID over a time range,
// read from the "calls" rows in start-time order, with totals over the whole range, counted
// by the first page (an extension's from the hours of "call_totals" and the rows of the
// hours at its ends; a CallerID's from its rows) and carried by the page tokens.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "ledger/ledger.h"
#include "ledger/money.h"
#include "ledger/page_token.h"
#include "ledger/validate.h"
#include "projections/rows.h"

namespace callbackledger {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

v1::CallRecord RecordView(const store::v1::CallRow& row, int decimals) {
  v1::CallRecord record;
  record.set_reservation_id(row.reservation_id());
  record.set_callerid_id(row.callerid_id());
  record.set_callback_number(row.callback_number());
  record.set_destination(row.destination());
  *record.mutable_started_at() = row.started_at();
  record.set_duration_seconds(row.duration_seconds());
  record.set_cost(FormatMoney(row.cost_micros(), decimals));
  record.set_node_id(row.node_id());
  record.set_call_id(row.call_id());
  record.set_uncollected(FormatMoney(row.uncollected_micros(), decimals));
  record.set_late(row.late());
  record.set_extension(row.extension());
  return record;
}

bool ValidTime(const google::protobuf::Timestamp& t) {
  return t.seconds() >= 0 && t.seconds() <= 253402300799 && t.nanos() >= 0 &&
         t.nanos() <= 999999999;
}

// Adds the calls of `prefix` that started in [from, to) to `totals`, from their rows.
absl::Status AddCallRows(rocksdb::Iterator* calls, std::string_view prefix, int64_t from,
                         int64_t to, CallTotals* totals) {
  for (calls->Seek(std::string(prefix) + OrderedInt64(from));
       calls->Valid() && calls->key().starts_with(prefix); calls->Next()) {
    const std::string_view key(calls->key().data(), calls->key().size());
    if (key.size() < prefix.size() + kCallKeySuffixBytes) {
      return absl::DataLossError("a call row's key is short");
    }
    if (ReadOrderedInt64(key.substr(prefix.size())) >= to) break;
    CallAmounts amounts;
    if (!ReadCallAmounts(std::string_view(calls->value().data(), calls->value().size()),
                         &amounts)) {
      return absl::DataLossError("an undecodable call row");
    }
    totals->Add(amounts);
  }
  return calls->status().ok() ? absl::OkStatus()
                              : FromRocks(calls->status(), "reading the cost report");
}

// The totals of the calls of `prefix` that started in [start, end): from the hours of
// call_totals inside the range when `hours_kept` (an extension's report), and from the calls'
// rows for the rest.
absl::StatusOr<CallTotals> RangeTotals(Store* store, const rocksdb::ReadOptions& read,
                                       std::string_view prefix, bool hours_kept, int64_t start,
                                       int64_t end) {
  CallTotals totals;
  std::unique_ptr<rocksdb::Iterator> calls(
      store->db()->NewIterator(read, store->projection(Cf::kCalls)));
  // The whole hours inside the range: [first_hour, end_hour).
  const int64_t first_hour =
      CallTotalsHour(start) == start ? start : CallTotalsHour(start) + kCallTotalsHourMicros;
  const int64_t end_hour = CallTotalsHour(end);
  if (!hours_kept || first_hour >= end_hour) {
    if (absl::Status s = AddCallRows(calls.get(), prefix, start, end, &totals); !s.ok()) return s;
    return totals;
  }
  if (absl::Status s = AddCallRows(calls.get(), prefix, start, first_hour, &totals); !s.ok()) {
    return s;
  }
  std::unique_ptr<rocksdb::Iterator> hours(
      store->db()->NewIterator(read, store->projection(Cf::kCallTotals)));
  for (hours->Seek(CallTotalsKey(prefix, first_hour));
       hours->Valid() && hours->key().starts_with(prefix); hours->Next()) {
    const std::string_view key(hours->key().data(), hours->key().size());
    if (key.size() != prefix.size() + 8) return absl::DataLossError("a call totals key is wrong");
    if (ReadOrderedInt64(key.substr(prefix.size())) >= end_hour) break;
    CallTotals hour;
    if (!DecodeCallTotals(std::string_view(hours->value().data(), hours->value().size()), &hour)) {
      return absl::DataLossError("an undecodable call totals row");
    }
    totals.Add(hour);
  }
  if (!hours->status().ok()) return FromRocks(hours->status(), "reading the call totals");
  if (absl::Status s = AddCallRows(calls.get(), prefix, end_hour, end, &totals); !s.ok()) {
    return s;
  }
  return totals;
}

}  // namespace

absl::StatusOr<v1::GetCostReportResponse> Ledger::GetCostReport(
    const v1::GetCostReportRequest& request) {
  int page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  if (page_size < 1 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("page_size: must be between 1 and ",
                                                   kMaxPageSize, ", not ", request.page_size()));
  }
  if ((request.has_start_time() && !ValidTime(request.start_time())) ||
      (request.has_end_time() && !ValidTime(request.end_time()))) {
    return absl::InvalidArgumentError("start_time, end_time: not valid times");
  }
  int64_t start = request.has_start_time() ? ToUnixMicros(request.start_time()) : 0;
  int64_t end = request.has_end_time() ? ToUnixMicros(request.end_time()) : INT64_MAX;
  if (end < start) return absl::InvalidArgumentError("end_time: before start_time");

  // The key prefix of the rows asked for.
  std::string prefix;
  if (request.callerid_id() != 0) {
    ReaderMutexLock lock(&state_mu_);
    const CallerIdState* callerid = state_.FindCallerId(request.callerid_id());
    if (callerid == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("callerid_id ", request.callerid_id(), ": no such CallerID"));
    }
    if (!request.extension().empty() && request.extension() != callerid->extension) {
      return absl::InvalidArgumentError(absl::StrCat("callerid_id ", request.callerid_id(),
                                                     " is not in extension ", request.extension()));
    }
    prefix = CallKeyPrefixByCallerId(request.callerid_id());
  } else {
    if (request.extension().empty()) {
      return absl::InvalidArgumentError("extension: required (or callerid_id)");
    }
    if (absl::Status s = ValidateExtension(request.extension()); !s.ok()) return s;
    prefix = CallKeyPrefixByExtension(request.extension());
  }

  // Where the previous page ended, and the range's totals as its first page counted them.
  absl::StatusOr<std::optional<ReportPosition>> previous =
      ReadReportPageToken(prefix, start, end, request.page_token(), secrets_);
  if (!previous.ok()) return previous.status();

  v1::GetCostReportResponse response;
  // The first page counts the range's totals: for an extension, the hours inside it from
  // call_totals and the calls of the hours at its two ends from their rows (their amounts
  // only); for a CallerID, its calls' amounts. Each later page takes the totals from the
  // token. One snapshot for the totals and the rows: a group that settles calls meanwhile is
  // in both or in neither. The totals are kept wider than int64, and exact.
  rocksdb::ManagedSnapshot snapshot(store_->db());
  rocksdb::ReadOptions read;
  read.snapshot = snapshot.snapshot();
  ReportPosition position;
  position.start_micros = start;
  position.end_micros = end;
  const bool first_page = !previous->has_value();
  if (first_page) {
    absl::StatusOr<CallTotals> totals =
        RangeTotals(store_.get(), read, prefix, request.callerid_id() == 0, start, end);
    if (!totals.ok()) return totals.status();
    position.total_calls = totals->calls;
    position.total_duration_seconds = totals->duration_seconds;
    position.total_cost_micros = totals->cost_micros;
    position.total_uncollected_micros = totals->uncollected_micros;
  } else {
    position = **previous;
  }
  bool more = false;
  std::string last_key;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(read, store_->projection(Cf::kCalls)));
  if (first_page) {
    it->Seek(prefix + OrderedInt64(start));
  } else {
    it->Seek(position.last_key);
    if (it->Valid() && it->key() == position.last_key) it->Next();
  }
  store::v1::CallRow row;
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key.size() < prefix.size() + kCallKeySuffixBytes) {
      return absl::DataLossError("a call row's key is short");
    }
    if (ReadOrderedInt64(key.substr(prefix.size())) >= end) break;
    if (response.calls_size() == page_size) {
      more = true;
      break;
    }
    if (!row.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("an undecodable call row");
    }
    *response.add_calls() = RecordView(row, options_.decimals);
    last_key = std::string(key);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the cost report");
  response.set_total_calls(position.total_calls);
  response.set_total_duration_seconds(position.total_duration_seconds);
  response.set_total_cost(FormatMoneyTotal(position.total_cost_micros, options_.decimals));
  response.set_total_uncollected(
      FormatMoneyTotal(position.total_uncollected_micros, options_.decimals));
  if (more) {
    position.last_key = last_key;
    response.set_next_page_token(MakeReportPageToken(position, secrets_));
  }
  return response;
}

}  // namespace callbackledger
