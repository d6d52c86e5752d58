// The operations of a Simulation (simulation.h): one for each call of the ledger.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/calls.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "ledger/ledger.h"
#include "ledger/money.h"
#include "ledger/testing/simulation.h"
#include "projections/state.h"

namespace callbackledger::simulation {

using ::absl::StrCat;
using Code = ::absl::StatusCode;

// ---- Operations: each predicts from the model, calls the ledger, checks the answer and
// the log, then applies the change to the model. ----------------------------------------

void Simulation::DoAddCallerId(const std::string& number, const std::string& pin, bool unlimited,
                               std::optional<int64_t> initial, bool enabled, bool status_given) {
  v1::AddCallerIdRequest request;
  request.set_extension(kExt);
  request.set_callback_number(number);
  request.set_pin(pin);
  request.set_unlimited(unlimited);
  if (initial.has_value()) request.set_initial_credit(MoneyText(*initial, rng_.Percent(50)));
  request.set_order_no(StrCat("ORD-", number.substr(number.size() - 3)));
  if (status_given || !enabled) {
    request.set_status(enabled ? v1::CallerId::ENABLED : v1::CallerId::DISABLED);
  }
  op_ = StrCat("AddCallerId", Describe(request));
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::CallerId> got = Call(&Ledger::AddCallerId, request);
  if (enabled && ActiveCount() >= kLicense) {
    if (ExpectStatus(got, Code::kResourceExhausted)) ExpectWrites(before, 0);
    Count("AddCallerId RESOURCE_EXHAUSTED");
    return;
  }
  if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, 1)) return;
  ModelCallerId c;
  c.id = next_callerid_id_++;
  c.number = number;
  c.enabled = enabled;
  c.unlimited = unlimited;
  c.pin = pin;
  c.recharged = initial.value_or(0);
  c.created_at = Now();
  callers_.push_back(c);
  CheckCaller(*got, callers_.size() - 1, "AddCallerId reply");
  Count("AddCallerId OK");
}

void Simulation::DoReserve(const ReserveArgs& a) {
  const v1::ReserveRequest request = a.Request();
  op_ = StrCat("Reserve", Describe(request));
  const std::string key = a.Key();
  const int64_t now = Now();
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::ReserveResponse> got = Call(&Ledger::Reserve, request);

  if (auto found = reservations_.find(a.reservation_id); found != reservations_.end()) {
    ModelReservation& r = found->second;
    if (r.reserve_key != key) {
      if (ExpectStatus(got, Code::kAlreadyExists)) ExpectWrites(before, 0);
      Count("Reserve ALREADY_EXISTS");
      return;
    }
    if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
      ExpectSameReply(*got, r.reserve_reply, "Reserve");
    }
    return;
  }

  const std::optional<size_t> ci = FindNumber(a.number);
  v1::Decision denial = v1::DECISION_UNSPECIFIED;
  if (!ci.has_value()) {
    denial = v1::NOT_AUTHORIZED;
  } else if (!callers_[*ci].enabled) {
    denial = v1::DISABLED;
  } else if (callers_[*ci].locked) {
    denial = v1::PIN_LOCKED;
  }
  const bool limited = ci.has_value() && !callers_[*ci].unlimited;
  const int64_t wanted = a.amount != 0 ? a.amount : a.rate->Cost(a.seconds);
  int64_t granted = wanted;
  uint64_t granted_seconds = a.rate.has_value() ? a.seconds : 0;
  int64_t available = 0;
  int64_t available_after = 0;
  if (denial == v1::DECISION_UNSPECIFIED && limited) {
    available = Available(*ci);
    if (available <= 0) {
      denial = v1::NO_CREDIT;
    } else if (!a.rate.has_value()) {
      granted = std::min(wanted, available);
    } else if (a.amount != 0) {
      granted = std::min(wanted, available);
      granted_seconds = a.rate->MaxCall(granted);
      if (granted_seconds == 0) denial = v1::NO_CREDIT;
    } else {
      granted_seconds = std::min(a.rate->Billed(a.seconds), a.rate->MaxCall(available));
      if (granted_seconds == 0) denial = v1::NO_CREDIT;
      granted = a.rate->Cost(granted_seconds);
    }
    if (denial == v1::DECISION_UNSPECIFIED && granted <= 0) denial = v1::NO_CREDIT;
    available_after = available - granted;
  }
  const uint32_t ttl = a.ttl != 0 ? a.ttl : kDefaultTtl;

  v1::ReserveResponse want;
  want.set_reservation_id(a.reservation_id);
  if (denial != v1::DECISION_UNSPECIFIED) {
    want.set_decision(denial);
    want.set_granted_amount(Shown(0));
    if (ci.has_value()) {
      want.set_callerid_id(callers_[*ci].id);
      if (limited) want.set_available_credit(Shown(Available(*ci)));
    }
  } else {
    want.set_decision(v1::ALLOWED);
    want.set_callerid_id(callers_[*ci].id);
    want.set_granted_amount(Shown(granted));
    want.set_granted_seconds(granted_seconds);
    *want.mutable_expires_at() = FromUnixMicros(now + int64_t{ttl} * kMicrosPerSecond);
    if (limited) {
      want.set_final_grant(a.rate.has_value() ? available_after < a.rate->IncrementCost()
                                              : available_after <= 0);
      want.set_available_credit(Shown(available_after));
    }
  }
  if (!ExpectStatus(got, Code::kOk)) return;
  if (got->decision() == v1::ALLOWED && limited) {
    // The rules of a grant, whatever the model computes.
    absl::StatusOr<int64_t> shown = ParseMoney("granted_amount", got->granted_amount());
    if (!shown.ok() || *shown > available || *shown > wanted || *shown <= 0) {
      return Fail(StrCat("granted ", got->granted_amount(), " with ", Shown(available),
                         " available and ", Shown(wanted), " asked"));
    }
  }
  if (!ExpectWrites(before, denial == v1::DECISION_UNSPECIFIED ? 1 : 0) ||
      !ExpectReply(*got, want, "Reserve")) {
    return;
  }
  Count(StrCat("Reserve ", v1::Decision_Name(want.decision())));
  if (denial != v1::DECISION_UNSPECIFIED) return;

  ModelReservation r;
  r.id = a.reservation_id;
  r.caller = *ci;
  r.node = a.node;
  r.counted_held = limited ? granted : 0;
  r.rate = a.rate;
  r.held = granted;
  r.expires = now + int64_t{ttl} * kMicrosPerSecond;
  r.ttl = ttl;
  r.reserve_key = key;
  r.reserve_reply = *got;
  reservations_[r.id] = r;
  open_.insert(r.id);
  history_.push_back(a);
}

bool Simulation::OtherNode(const ModelReservation& r, const std::string& node) {
  return !node.empty() && !r.node.empty() && node != r.node;
}

void Simulation::DoExtend(const ExtendArgs& a) {
  const v1::ExtendRequest request = a.Request();
  op_ = StrCat("Extend", Describe(request));
  const std::string key = a.Key();
  const int64_t now = Now();
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::ExtendResponse> got = Call(&Ledger::Extend, request);

  auto found = reservations_.find(a.reservation_id);
  if (found == reservations_.end()) {
    if (ExpectStatus(got, Code::kNotFound)) ExpectWrites(before, 0);
    Count("Extend NOT_FOUND");
    return;
  }
  ModelReservation& r = found->second;
  if (OtherNode(r, a.node)) {
    if (ExpectStatus(got, Code::kPermissionDenied)) ExpectWrites(before, 0);
    Count("Extend PERMISSION_DENIED (another node's)");
    return;
  }
  const std::string request_key = StrCat(a.reservation_id, "/", a.request_id);
  if (!a.request_id.empty()) {
    if (auto seen = extend_requests_.find(request_key); seen != extend_requests_.end()) {
      if (seen->second.first != key) {
        if (ExpectStatus(got, Code::kAlreadyExists)) ExpectWrites(before, 0);
        Count("Extend ALREADY_EXISTS");
        return;
      }
      if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
        ExpectSameReply(*got, seen->second.second, "Extend with request_id");
      }
      return;
    }
  } else if (!r.last_extend_key.empty() && r.last_extend_key == key) {
    // Without a request_id, repeating the last extension is a retry of it.
    if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
      ExpectSameReply(*got, r.last_extend_reply, "Extend without request_id");
    }
    return;
  }
  if (r.state == ResState::kSettled || r.state == ResState::kReleased) {
    if (ExpectStatus(got, Code::kFailedPrecondition)) ExpectWrites(before, 0);
    Count("Extend FAILED_PRECONDITION");
    return;
  }
  const size_t ci = r.caller;
  const ModelCallerId& c = callers_[ci];
  v1::Decision denial = v1::DECISION_UNSPECIFIED;
  if (r.state != ResState::kOpen || r.expires <= now) {
    denial = v1::EXPIRED;
  } else if (a.seconds != 0 && !r.rate.has_value()) {
    if (ExpectStatus(got, Code::kInvalidArgument)) ExpectWrites(before, 0);
    Count("Extend INVALID_ARGUMENT");
    return;
  } else if (!c.enabled) {
    denial = v1::DISABLED;
  } else if (c.locked) {
    denial = v1::PIN_LOCKED;
  }
  int64_t wanted = a.amount;
  if (a.seconds != 0 && r.rate.has_value()) wanted = r.rate->Extra(a.seconds);
  int64_t granted = wanted;
  uint64_t granted_seconds = a.seconds;
  int64_t available_after = 0;
  if (denial == v1::DECISION_UNSPECIFIED && !c.unlimited) {
    const int64_t available = Available(ci);
    if (a.seconds != 0) {
      granted_seconds = std::min(a.seconds, r.rate->MaxExtra(available));
      granted = granted_seconds == 0 ? 0 : r.rate->Extra(granted_seconds);
      granted = std::min(granted, available);
    } else {
      granted = std::min(wanted, available);
      if (r.rate.has_value()) granted_seconds = r.rate->MaxExtra(granted);
    }
    if (wanted > 0 && granted <= 0) denial = v1::NO_CREDIT;
    available_after = available - granted;
  }
  const uint32_t ttl = a.ttl != 0 ? a.ttl : r.ttl;

  v1::ExtendResponse want;
  want.set_reservation_id(a.reservation_id);
  if (denial != v1::DECISION_UNSPECIFIED) {
    want.set_decision(denial);
    want.set_granted_amount(Shown(0));
    want.set_held_amount(Shown(r.held));
    *want.mutable_expires_at() = FromUnixMicros(r.expires);
    if (!c.unlimited) want.set_available_credit(Shown(Available(ci)));
    want.set_final_grant(true);
  } else {
    want.set_decision(v1::ALLOWED);
    want.set_granted_amount(Shown(granted));
    want.set_granted_seconds(granted_seconds);
    want.set_held_amount(Shown(r.held + granted));
    *want.mutable_expires_at() = FromUnixMicros(now + int64_t{ttl} * kMicrosPerSecond);
    if (!c.unlimited) {
      want.set_final_grant(r.rate.has_value() ? available_after < r.rate->IncrementCost()
                                              : available_after <= 0);
      want.set_available_credit(Shown(available_after));
    }
  }
  if (!ExpectStatus(got, Code::kOk) ||
      !ExpectWrites(before, denial == v1::DECISION_UNSPECIFIED ? 1 : 0) ||
      !ExpectReply(*got, want, "Extend")) {
    return;
  }
  Count(StrCat("Extend ", v1::Decision_Name(want.decision())));
  if (denial != v1::DECISION_UNSPECIFIED) return;
  r.held += granted;
  if (!c.unlimited) r.counted_held += granted;
  r.expires = now + int64_t{ttl} * kMicrosPerSecond;
  r.last_extend_key = key;
  r.last_extend_reply = *got;
  if (!a.request_id.empty()) extend_requests_[request_key] = {key, *got};
  history_.push_back(a);
}

void Simulation::DoSettle(const SettleArgs& a) {
  const v1::SettleRequest request = a.Request();
  op_ = StrCat("Settle", Describe(request));
  const std::string key = a.Key();
  const int64_t now = Now();
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::SettleResponse> got = Call(&Ledger::Settle, request);

  auto found = reservations_.find(a.reservation_id);
  if (found == reservations_.end()) {
    if (ExpectStatus(got, Code::kNotFound)) ExpectWrites(before, 0);
    Count("Settle NOT_FOUND");
    return;
  }
  ModelReservation& r = found->second;
  if (OtherNode(r, a.node)) {
    if (ExpectStatus(got, Code::kPermissionDenied)) ExpectWrites(before, 0);
    Count("Settle PERMISSION_DENIED (another node's)");
    return;
  }
  if (r.state == ResState::kSettled) {
    if (r.settle_key != key) {
      if (ExpectStatus(got, Code::kAlreadyExists)) ExpectWrites(before, 0);
      Count("Settle ALREADY_EXISTS");
      return;
    }
    if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
      ExpectSameReply(*got, r.settle_reply, "Settle");
    }
    return;
  }
  if (r.state == ResState::kReleased) {
    if (ExpectStatus(got, Code::kFailedPrecondition)) ExpectWrites(before, 0);
    Count("Settle FAILED_PRECONDITION (released)");
    return;
  }
  int64_t cost = 0;
  if (a.cost.has_value()) {
    cost = *a.cost;
  } else if (a.duration > 0) {
    if (!r.rate.has_value()) {
      if (ExpectStatus(got, Code::kFailedPrecondition)) ExpectWrites(before, 0);
      Count("Settle FAILED_PRECONDITION (no rate)");
      return;
    }
    cost = r.rate->Cost(a.duration);
  }
  const size_t ci = r.caller;
  ModelCallerId& c = callers_[ci];
  const bool open = r.state == ResState::kOpen;
  const int64_t hold = open ? r.counted_held : 0;
  const int64_t available = c.unlimited ? 0 : Available(ci);
  const int64_t charged = c.unlimited ? cost : std::min(cost, available + hold);
  const bool late = !open || r.expires < now;

  v1::SettleResponse want;
  want.set_reservation_id(a.reservation_id);
  want.set_callerid_id(c.id);
  want.set_cost(Shown(charged));
  want.set_uncollected(Shown(cost - charged));
  want.set_late(late);
  if (!c.unlimited) {
    want.set_credit_left(Shown(c.credit_left() - charged));
    want.set_available_credit(Shown(available + hold - charged));
  }
  if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, 1) ||
      !ExpectReply(*got, want, "Settle")) {
    return;
  }
  Count(late ? "Settle late" : "Settle in time");
  if (charged < cost) Count("Settle with uncollected");
  if (!c.unlimited) c.charged += charged;
  Close(r, ResState::kSettled);
  r.settle_key = key;
  r.settle_reply = *got;
  history_.push_back(a);
}

void Simulation::DoRelease(const ReleaseArgs& a) {
  const v1::ReleaseRequest request = a.Request();
  op_ = StrCat("Release", Describe(request));
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::ReleaseResponse> got = Call(&Ledger::Release, request);

  auto found = reservations_.find(a.reservation_id);
  if (found == reservations_.end()) {
    if (ExpectStatus(got, Code::kNotFound)) ExpectWrites(before, 0);
    Count("Release NOT_FOUND");
    return;
  }
  ModelReservation& r = found->second;
  if (OtherNode(r, a.node)) {
    if (ExpectStatus(got, Code::kPermissionDenied)) ExpectWrites(before, 0);
    Count("Release PERMISSION_DENIED (another node's)");
    return;
  }
  const size_t ci = r.caller;
  const bool limited = !callers_[ci].unlimited;
  switch (r.state) {
    case ResState::kReleased:
      if (r.release_key != a.Key()) {
        if (ExpectStatus(got, Code::kAlreadyExists)) ExpectWrites(before, 0);
        Count("Release ALREADY_EXISTS");
        return;
      }
      if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
        ExpectSameReply(*got, r.release_reply, "Release");
      }
      return;
    case ResState::kSettled:
      if (ExpectStatus(got, Code::kFailedPrecondition)) ExpectWrites(before, 0);
      Count("Release FAILED_PRECONDITION");
      return;
    case ResState::kExpired:
    case ResState::kOrphaned: {
      // The ledger already gave the hold back: nothing more to release.
      v1::ReleaseResponse want;
      want.set_reservation_id(a.reservation_id);
      want.set_released_amount(Shown(0));
      if (limited) want.set_available_credit(Shown(Available(ci)));
      if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
        ExpectReply(*got, want, "Release");
      }
      Count("Release of an expired hold");
      return;
    }
    case ResState::kOpen:
      break;
  }
  v1::ReleaseResponse want;
  want.set_reservation_id(a.reservation_id);
  want.set_released_amount(Shown(r.held));  // exactly what it held
  if (limited) want.set_available_credit(Shown(Available(ci) + r.counted_held));
  if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, 1) ||
      !ExpectReply(*got, want, "Release")) {
    return;
  }
  Count("Release OK");
  Close(r, ResState::kReleased);
  r.release_key = a.Key();
  r.release_reply = *got;
  history_.push_back(a);
}

void Simulation::DoSync(const std::string& node, const std::vector<std::string>& keep) {
  v1::SyncReservationsRequest request;
  request.set_node_id(node);
  for (const std::string& id : keep) request.add_reservation_ids(id);
  op_ = StrCat("SyncReservations", Describe(request));
  std::vector<std::string> orphans;
  int64_t released = 0;
  for (const std::string& id : open_) {
    const ModelReservation& r = reservations_.at(id);
    if (r.node == node && std::find(keep.begin(), keep.end(), id) == keep.end()) {
      orphans.push_back(id);
      released += r.held;
    }
  }
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::SyncReservationsResponse> got = Call(&Ledger::SyncReservations, request);
  if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, orphans.size())) return;
  std::vector<std::string> ids(got->released_reservation_ids().begin(),
                               got->released_reservation_ids().end());
  std::sort(ids.begin(), ids.end());
  if (ids != orphans || got->released_amount() != Shown(released)) {
    return Fail(StrCat("SyncReservations released [", absl::StrJoin(ids, ","), "] ",
                       got->released_amount(), "; the model expects [", absl::StrJoin(orphans, ","),
                       "] ", Shown(released)));
  }
  stats_["SyncReservations orphans"] += orphans.size();
  for (const std::string& id : orphans) Close(reservations_.at(id), ResState::kOrphaned);
}

void Simulation::DoExpireDue() {
  op_ = "ExpireDue";
  const int64_t now = Now();
  std::vector<std::string> due;
  for (const std::string& id : open_) {
    if (reservations_.at(id).expires <= now) due.push_back(id);
  }
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<uint64_t> got = CallExpireDue();
  if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, due.size())) return;
  if (*got != due.size()) {
    return Fail(StrCat("ExpireDue expired ", *got, "; the model expects ", due.size()));
  }
  stats_["ExpireDue expired"] += due.size();
  for (const std::string& id : due) Close(reservations_.at(id), ResState::kExpired);
  last_expire_run_ = now;
}

void Simulation::DoCredit(const CreditArgs& a) {
  const v1::AddCreditRequest request = a.Request();
  op_ = StrCat("AddCredit", Describe(request));
  const std::string key = a.Key();
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::Recharge> got = Call(&Ledger::AddCredit, request);

  if (!a.request_id.empty()) {
    if (auto seen = credit_requests_.find(a.request_id); seen != credit_requests_.end()) {
      if (seen->second.first != key) {
        if (ExpectStatus(got, Code::kAlreadyExists)) ExpectWrites(before, 0);
        Count("AddCredit ALREADY_EXISTS");
        return;
      }
      if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
        ExpectSameReply(*got, seen->second.second, "AddCredit");
      }
      return;
    }
  }
  const std::optional<size_t> ci =
      a.callerid_id != 0 ? FindId(a.callerid_id) : FindNumber(a.number);
  if (!ci.has_value()) {
    if (ExpectStatus(got, Code::kNotFound)) ExpectWrites(before, 0);
    Count("AddCredit NOT_FOUND");
    return;
  }
  ModelCallerId& c = callers_[*ci];
  const int64_t held = Held(*ci);
  v1::Recharge want;
  want.set_id(before + 1);
  want.set_callerid_id(c.id);
  want.set_amount(Shown(a.amount));
  want.set_order_no(a.order_no);
  want.set_description(a.description);
  *want.mutable_created_at() = FromUnixMicros(Now());
  want.set_actor(kActor);
  want.set_request_id(a.request_id);
  bool becomes_limited = false;
  if (c.unlimited && a.amount > 0) {
    want.set_unlimited(true);
  } else if (c.unlimited) {
    // A negative recharge turns an unlimited CallerID into a limited one with nothing left.
    becomes_limited = true;
    want.set_credit_left(Shown(0));
    want.set_total_credit(Shown(0));
    want.set_available_credit(Shown(0));
  } else {
    const int64_t left = c.credit_left() + a.amount;
    if (left - held < 0) {
      if (ExpectStatus(got, Code::kFailedPrecondition)) ExpectWrites(before, 0);
      Count("AddCredit FAILED_PRECONDITION");
      return;
    }
    want.set_credit_left(Shown(left));
    want.set_total_credit(Shown(c.recharged + a.amount));
    want.set_available_credit(Shown(left - held));
  }
  if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, 1) ||
      !ExpectReply(*got, want, "AddCredit")) {
    return;
  }
  if (becomes_limited) {
    c.unlimited = false;
    c.recharged = 0;
    c.charged = 0;
    Count("AddCredit unlimited -> limited");
  } else if (!c.unlimited) {
    c.recharged += a.amount;
    Count(a.amount > 0 ? "AddCredit +" : "AddCredit -");
  } else {
    Count("AddCredit unlimited +");
  }
  if (!a.request_id.empty()) credit_requests_[a.request_id] = {key, *got};
  history_.push_back(a);
}

v1::AuthorizeResponse Simulation::AuthorizeAnswer(size_t i,
                                                  const std::optional<RateModel>& rate) const {
  const ModelCallerId& c = callers_[i];
  v1::AuthorizeResponse answer;
  answer.set_callerid_id(c.id);
  answer.set_unlimited(c.unlimited);
  answer.set_decision(v1::ALLOWED);
  if (c.unlimited) {
    if (rate.has_value()) answer.set_max_duration_seconds(kDaySeconds);
    return answer;
  }
  const int64_t available = Available(i);
  answer.set_available_credit(Shown(available));
  if (rate.has_value()) answer.set_max_duration_seconds(rate->MaxCall(available));
  if (available <= 0 || (rate.has_value() && answer.max_duration_seconds() == 0)) {
    answer.set_decision(v1::NO_CREDIT);
  }
  return answer;
}

void Simulation::DoAuthorize(size_t i, const std::string& pin, const std::optional<RateModel>& rate,
                             bool trim) {
  ModelCallerId& c = callers_[i];
  v1::AuthorizeRequest request;
  request.set_extension(kExt);
  request.set_callback_number(c.number);
  request.set_pin(pin);
  if (rate.has_value()) *request.mutable_rate() = rate->ToProto(trim);
  op_ = StrCat("Authorize", Describe(request));
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::AuthorizeResponse> got = Call(&Ledger::Authorize, request);

  v1::AuthorizeResponse want;
  want.set_callerid_id(c.id);
  uint64_t writes = 0;
  uint32_t failed_after = c.failed_pins;
  bool locked_after = c.locked;
  if (!c.enabled) {
    want.set_decision(v1::DISABLED);
  } else if (c.locked) {
    want.set_decision(v1::PIN_LOCKED);
  } else if (!c.pin.empty() && pin.empty()) {
    want.set_decision(v1::PIN_REQUIRED);
  } else if (c.pin.empty() || (c.failed_pins == 0 && pin == c.pin)) {
    want = AuthorizeAnswer(i, rate);  // nothing to record
  } else if (pin == c.pin) {
    writes = 1;  // the right PIN after wrong ones resets the count
    failed_after = 0;
    want = AuthorizeAnswer(i, rate);
  } else {
    writes = 1;
    failed_after = c.failed_pins + 1;
    locked_after = failed_after >= kPinMaxAttempts;
    want.set_decision(v1::WRONG_PIN);
  }
  if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, writes) ||
      !ExpectReply(*got, want, "Authorize")) {
    return;
  }
  Count(StrCat("Authorize ", v1::Decision_Name(want.decision())));
  if (locked_after && !c.locked) Count("Authorize locked a PIN");
  c.failed_pins = failed_after;
  c.locked = locked_after;
}

void Simulation::DoUpdate(size_t i, std::optional<bool> enable, std::optional<std::string> pin,
                          bool reset, bool by_alias) {
  ModelCallerId& c = callers_[i];
  v1::UpdateCallerIdRequest request;
  if (by_alias) {
    request.set_id(c.id);
  } else {
    request.set_callerid_id(c.id);
  }
  if (enable.has_value()) {
    request.set_status(*enable ? v1::CallerId::ENABLED : v1::CallerId::DISABLED);
  }
  if (pin.has_value()) request.set_pin(*pin);
  request.set_reset_pin_lock(reset);
  op_ = StrCat("UpdateCallerId", Describe(request));
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::CallerId> got = Call(&Ledger::UpdateCallerId, request);
  if (enable.value_or(false) && !c.enabled && ActiveCount() >= kLicense) {
    if (ExpectStatus(got, Code::kResourceExhausted)) ExpectWrites(before, 0);
    Count("UpdateCallerId RESOURCE_EXHAUSTED");
    return;
  }
  if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, 1)) return;
  if (enable.has_value()) c.enabled = *enable;
  if (pin.has_value()) c.pin = *pin;
  if (pin.has_value() || reset) {
    c.failed_pins = 0;
    c.locked = false;
  }
  Count("UpdateCallerId OK");
  CheckCaller(*got, i, "UpdateCallerId reply");
}

}  // namespace callbackledger::simulation
