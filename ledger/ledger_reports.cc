// The cost report: settled calls of an extension or of one CallerID over a time range,
// read from the "calls" rows in start-time order, with totals over the whole range (counted
// by the first page, carried by the page tokens).
#include <memory>
#include <optional>
#include <string>

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
    prefix = "c" + BigEndian64(request.callerid_id());
  } else {
    if (request.extension().empty()) {
      return absl::InvalidArgumentError("extension: required (or callerid_id)");
    }
    if (absl::Status s = ValidateExtension(request.extension()); !s.ok()) return s;
    prefix = "e" + request.extension() + std::string(1, '\0');
  }

  // Where the previous page ended, and the range's totals as its first page counted them.
  absl::StatusOr<std::optional<ReportPosition>> previous =
      ReadReportPageToken(prefix, start, end, request.page_token(), secrets_);
  if (!previous.ok()) return previous.status();

  v1::GetCostReportResponse response;
  // The first page reads the whole range, for its totals; each later page reads its own
  // rows only, from where the previous one ended, and takes the totals from the token.
  // Past its own rows, the first page reads only each row's key (for its start time) and
  // amounts (ReadCallAmounts), not its strings. A sum of int64 amounts can pass int64: the
  // totals are kept wider, and exact.
  ReportPosition position;
  position.start_micros = start;
  position.end_micros = end;
  const bool first_page = !previous->has_value();
  if (!first_page) position = **previous;
  bool more = false;
  std::string last_key;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->projection(Cf::kCalls)));
  if (first_page) {
    it->Seek(prefix + OrderedInt64(start));
  } else {
    it->Seek(position.last_key);
    if (it->Valid() && it->key() == position.last_key) it->Next();
  }
  store::v1::CallRow row;
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    // The key: the prefix, the call's start time (as in the row), its sequence.
    const std::string_view key(it->key().data(), it->key().size());
    const std::string_view value(it->value().data(), it->value().size());
    if (key.size() < prefix.size() + 16) return absl::DataLossError("a call row's key is short");
    if (ReadOrderedInt64(key.substr(prefix.size())) >= end) break;
    if (response.calls_size() == page_size) {
      more = true;
      if (!first_page) break;
    }
    CallAmounts amounts;
    if (more) {
      if (!ReadCallAmounts(value, &amounts)) return absl::DataLossError("an undecodable call row");
    } else {
      if (!row.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        return absl::DataLossError("an undecodable call row");
      }
      amounts = {row.duration_seconds(), row.cost_micros(), row.uncollected_micros()};
      *response.add_calls() = RecordView(row, options_.decimals);
      last_key = std::string(key);
    }
    if (first_page) {
      ++position.total_calls;
      position.total_cost_micros += amounts.cost_micros;
      position.total_uncollected_micros += amounts.uncollected_micros;
      position.total_duration_seconds += amounts.duration_seconds;
    }
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
