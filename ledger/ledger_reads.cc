// The read side of Ledger: served from the in-memory projections (under the readers'
// lock) and from stored rows, never through the committer.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/ledger.h"
#include "ledger/page_token.h"
#include "ledger/validate.h"
#include "ledger/views.h"
#include "projections/rows.h"

namespace callbackledger {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

absl::StatusOr<int> CheckPageSize(int page_size) {
  if (page_size == 0) return kDefaultPageSize;
  if (page_size < 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be between 1 and ", kMaxPageSize, ", not ", page_size));
  }
  return page_size;
}

// An id given together with an extension or a number must name the same CallerID: a
// request that contradicts itself is refused rather than half obeyed. `callerid` is the
// CallerID of `id`, or null when there is none (the caller then answers NOT_FOUND).
absl::StatusOr<uint64_t> CheckSameCallerId(uint64_t id, const CallerIdState* callerid,
                                           const std::string& extension,
                                           const std::string& number) {
  if (!extension.empty()) {
    if (absl::Status s = ValidateExtension(extension); !s.ok()) return s;
  }
  if (!number.empty()) {
    if (absl::Status s = ValidateCallbackNumber("callback_number", number); !s.ok()) return s;
  }
  if (callerid != nullptr && ((!extension.empty() && extension != callerid->extension) ||
                              (!number.empty() && number != callerid->callback_number))) {
    return absl::InvalidArgumentError(
        absl::StrCat("callerid_id ", id, " is ", callerid->callback_number.str(), " in extension ",
                     callerid->extension.str(), ", not the extension and callback_number given"));
  }
  return id;
}

// How many CallerIDs of `extension` (of every extension when empty) have `status` (either
// status when unspecified): counts the ledger keeps as it goes, so no listing scans for them.
uint64_t KeptCount(const State& state, const std::string& extension, v1::CallerId::Status status) {
  uint64_t total = state.meta().total_callerids;
  uint64_t enabled = state.meta().active_callerids;
  if (!extension.empty()) {
    const ExtensionState* ext = state.FindExtension(extension);
    if (ext == nullptr) return 0;
    total = ext->total_callerids;
    enabled = ext->active_callerids;
  }
  switch (status) {
    case v1::CallerId::ENABLED:
      return enabled;
    case v1::CallerId::DISABLED:
      return total - enabled;
    default:
      return total;
  }
}

// IdTable::VisitFrom over the CallerIDs of one extension (`ids`, null when it has none).
template <typename F>
std::optional<uint64_t> VisitIdsFrom(const State& state, const absl::btree_set<uint64_t>* ids,
                                     uint64_t first, size_t max_ids, F&& f) {
  if (ids == nullptr) return std::nullopt;
  for (auto it = ids->lower_bound(first); it != ids->end(); ++it) {
    if (max_ids == 0) return *it;
    --max_ids;
    const CallerIdState* callerid = state.FindCallerId(*it);
    if (callerid != nullptr && !f(*it, *callerid)) {
      if (*it == UINT64_MAX) return std::nullopt;
      return *it + 1;
    }
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<uint64_t> Ledger::ResolveCallerId(uint64_t id, uint64_t alias,
                                                 const std::string& extension,
                                                 const std::string& number) const {
  if (id != 0 && alias != 0 && id != alias) {
    return absl::InvalidArgumentError(
        absl::StrCat("callerid_id ", id, " and id ", alias, " name different CallerIDs"));
  }
  if (id == 0) id = alias;
  if (id != 0) return CheckSameCallerId(id, state_.FindCallerId(id), extension, number);
  if (extension.empty() && number.empty()) {
    return absl::InvalidArgumentError(
        "callerid_id: required (or extension and callback_number together)");
  }
  if (absl::Status s = ValidateExtension(extension); !s.ok()) return s;
  if (absl::Status s = ValidateCallbackNumber("callback_number", number); !s.ok()) return s;
  std::optional<uint64_t> found = state_.FindNumber(extension, number);
  if (!found.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("callback_number ", number, " is not a CallerID of extension ", extension));
  }
  return *found;
}

absl::StatusOr<v1::CallerId> Ledger::GetCallerId(const v1::GetCallerIdRequest& request) {
  ReaderMutexLock lock(&state_mu_);
  absl::StatusOr<uint64_t> id = ResolveCallerId(request.callerid_id(), request.id(),
                                                request.extension(), request.callback_number());
  if (!id.ok()) return id.status();
  const CallerIdState* callerid = state_.FindCallerId(*id);
  if (callerid == nullptr) {
    return absl::NotFoundError(absl::StrCat("callerid_id ", *id, ": no such CallerID"));
  }
  return CallerIdView(*callerid, options_.decimals);
}

absl::StatusOr<v1::ListCallerIdsResponse> Ledger::ListCallerIds(
    const v1::ListCallerIdsRequest& request) {
  absl::StatusOr<int> page_size = CheckPageSize(request.page_size());
  if (!page_size.ok()) return page_size.status();
  if (!request.extension().empty()) {
    if (absl::Status s = ValidateExtension(request.extension()); !s.ok()) return s;
  }
  const std::string& needle = request.callback_number();
  if (needle.size() > kMaxCallbackDigits + 1 ||
      needle.find_first_not_of("+0123456789") != std::string::npos) {
    return absl::InvalidArgumentError(
        "callback_number: a search is digits (and '+'), at most 21 characters");
  }
  v1::CallerId::Status status = request.status();
  if (status != v1::CallerId::STATUS_UNSPECIFIED && status != v1::CallerId::ENABLED &&
      status != v1::CallerId::DISABLED) {
    return absl::InvalidArgumentError(
        absl::StrCat("status: must be ENABLED, DISABLED or unset, not ", static_cast<int>(status)));
  }
  auto matches = [&](const CallerIdState& c) {
    return (status == v1::CallerId::STATUS_UNSPECIFIED || c.status == status) &&
           (needle.empty() || c.callback_number.view().find(needle) != std::string_view::npos);
  };

  // The count of a search without a number is kept by the ledger; a search by number counts
  // its matches over every CallerID on its first page, and its page tokens carry that count
  // (ReadSearchPageToken). So only a search's first page scans every CallerID; any other
  // page looks at what follows the page token, up to the first match beyond the page.
  // Either way the readers' lock is held for LedgerOptions::list_scan_chunk CallerIDs at a
  // time, so that a listing over a million CallerIDs never holds back the committer, which
  // folds each group's changes in under the writers' side of that lock, for long.
  const bool by_number = !needle.empty();
  uint64_t after = 0;
  std::optional<uint64_t> total;
  std::string search;  // the search's terms, which its page tokens are valid for
  if (by_number) {
    AppendCanonical(&search, request.extension());
    AppendCanonical(&search, needle);
    AppendCanonical(&search, std::to_string(static_cast<int>(status)));
    absl::StatusOr<std::optional<SearchPosition>> position =
        ReadSearchPageToken(search, request.page_token(), secrets_);
    if (!position.ok()) return position.status();
    if (position->has_value()) {
      after = (*position)->position;
      total = (*position)->total;
    }
  } else {
    absl::StatusOr<uint64_t> position = ReadPageToken("callerids", request.page_token());
    if (!position.ok()) return position.status();
    after = *position;
  }
  const bool count_by_scan = by_number && !total.has_value();
  const size_t chunk = std::max<size_t>(1, options_.list_scan_chunk);
  v1::ListCallerIdsResponse response;
  uint64_t counted = 0;
  uint64_t last_id = 0;
  bool more = false;
  auto visit = [&](uint64_t id, const CallerIdState& c) {
    if (!matches(c)) return true;
    if (count_by_scan) ++counted;
    if (id <= after) return true;
    if (response.caller_ids_size() < *page_size) {
      *response.add_caller_ids() = CallerIdView(c, options_.decimals);
      last_id = id;
      return true;
    }
    more = true;
    return count_by_scan;
  };
  std::optional<uint64_t> next;
  if (count_by_scan) {
    next = 0;
  } else if (after < UINT64_MAX) {
    next = after + 1;
  }
  while (next.has_value() && !(more && !count_by_scan)) {
    ReaderMutexLock lock(&state_mu_);
    if (!by_number && !total.has_value()) total = KeptCount(state_, request.extension(), status);
    if (request.extension().empty()) {
      next = state_.callerids().VisitFrom(*next, chunk, visit);
    } else {
      next = VisitIdsFrom(state_, state_.ExtensionIds(request.extension()), *next, chunk, visit);
    }
  }
  if (count_by_scan) total = counted;
  if (!total.has_value()) {
    // Nothing after the page token to look at.
    ReaderMutexLock lock(&state_mu_);
    total = KeptCount(state_, request.extension(), status);
  }
  response.set_total_size(*total);
  if (more) {
    response.set_next_page_token(by_number
                                     ? MakeSearchPageToken(search, {last_id, *total}, secrets_)
                                     : MakePageToken("callerids", last_id));
  }
  return response;
}

absl::StatusOr<v1::LicenseUsage> Ledger::GetLicenseUsage(
    const v1::GetLicenseUsageRequest& request) {
  if (!request.extension().empty()) {
    if (absl::Status s = ValidateExtension(request.extension()); !s.ok()) return s;
  }
  v1::LicenseUsage usage;
  ReaderMutexLock lock(&state_mu_);
  const MetaState& meta = state_.meta();
  uint32_t max = options_.license_max_active_callerids;
  usage.set_max_active_callerids(max);
  usage.set_active_callerids(meta.active_callerids);
  usage.set_total_callerids(meta.total_callerids);
  usage.set_available(meta.active_callerids >= max ? 0 : max - meta.active_callerids);
  usage.set_currency(options_.currency);
  usage.set_decimals(options_.decimals);
  if (!request.extension().empty()) {
    const ExtensionState* ext = state_.FindExtension(request.extension());
    *usage.mutable_extension_policy() = ExtensionPolicyView(
        request.extension(), ext != nullptr ? *ext : ExtensionState{}, options_.decimals);
  }
  return usage;
}

absl::StatusOr<v1::ListRechargesResponse> Ledger::ListRecharges(
    const v1::ListRechargesRequest& request) {
  if (request.callerid_id() == 0) return absl::InvalidArgumentError("callerid_id: required");
  absl::StatusOr<int> page_size = CheckPageSize(request.page_size());
  if (!page_size.ok()) return page_size.status();
  absl::StatusOr<uint64_t> before = ReadPageToken("recharges", request.page_token());
  if (!before.ok()) return before.status();
  {
    ReaderMutexLock lock(&state_mu_);
    if (state_.FindCallerId(request.callerid_id()) == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("callerid_id ", request.callerid_id(), ": no such CallerID"));
    }
  }
  v1::ListRechargesResponse response;
  std::string prefix = BigEndian64(request.callerid_id());
  std::string start = *before == 0 ? prefix + std::string(8, '\xff')
                                   : RechargeKey(request.callerid_id(), *before - 1);
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->projection(Cf::kRecharges)));
  uint64_t last_sequence = 0;
  for (it->SeekForPrev(start); it->Valid() && it->key().starts_with(prefix); it->Prev()) {
    store::v1::RechargeRow row;
    if (!row.ParseFromArray(it->value().data(), it->value().size())) {
      return absl::DataLossError("an undecodable recharge row");
    }
    if (response.recharges_size() == *page_size) {
      response.set_next_page_token(MakePageToken("recharges", last_sequence));
      break;
    }
    last_sequence = row.sequence();
    *response.add_recharges() = RechargeView(row, options_.decimals);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the recharge history");
  return response;
}

absl::StatusOr<v1::ReadEventsResponse> Ledger::ReadEvents(const v1::ReadEventsRequest& request) {
  absl::StatusOr<int> page_size = CheckPageSize(request.page_size());
  if (!page_size.ok()) return page_size.status();
  uint64_t from = request.from_sequence() == 0 ? 1 : request.from_sequence();
  uint64_t last = last_sequence();
  absl::StatusOr<std::vector<v1::Event>> events = store_->ReadEvents(from, *page_size);
  if (!events.ok()) return events.status();
  v1::ReadEventsResponse response;
  for (v1::Event& event : *events) {
    if (event.sequence() > last) break;  // not yet acknowledged
    *response.add_events() = PublicEvent(std::move(event));
  }
  response.set_next_sequence(from + response.events_size());
  response.set_last_sequence(last);
  return response;
}

}  // namespace callbackledger
