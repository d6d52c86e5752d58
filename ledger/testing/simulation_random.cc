// The random operations of a Simulation (simulation.h): each draws the arguments of a call
// from the seed and runs the operation (simulation_operations.cc).
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ledger/testing/simulation.h"

namespace callbackledger::simulation {

using ::absl::StrCat;

// ---- Random operations ------------------------------------------------------------------

int64_t Simulation::RandomAmount() {
  switch (rng_.Below(10)) {
    case 0:
      return rng_.Between(1, 5 * kUnit);  // any number of micros
    case 1:
    case 2:
      return rng_.Between(1, 200) * kUnit;  // large, whole units
    default:
      return rng_.Between(1, 2000) * 10000;  // cents, up to 20
  }
}

RateModel Simulation::RandomRate() {
  static constexpr int64_t kFees[] = {0, 0, 50000, 100000};
  static constexpr int64_t kPrices[] = {12500, 100000, 500000, 1200000};
  static constexpr uint32_t kIncrements[] = {0, 1, 6, 30, 60};
  static constexpr uint32_t kMinimums[] = {0, 0, 30, 60};
  RateModel rate;
  rate.fee = rng_.Percent(20) ? rng_.Between(0, 200000) : kFees[rng_.Below(4)];
  if (rng_.Percent(3)) {
    rate.per_minute = 0;
  } else {
    rate.per_minute = rng_.Percent(25) ? rng_.Between(1, 3 * kUnit) : kPrices[rng_.Below(4)];
  }
  rate.increment = kIncrements[rng_.Below(5)];
  rate.minimum = kMinimums[rng_.Below(4)];
  return rate;
}

uint32_t Simulation::RandomTtl() {
  static constexpr uint32_t kTtls[] = {0, 30, 60, 120, 600};
  return kTtls[rng_.Below(5)];
}

std::string Simulation::RandomPin() { return StrCat(rng_.Between(1000, 99999)); }

const char* Simulation::RandomNode() { return kNodes[rng_.Below(3)]; }

size_t Simulation::PickCaller() {
  std::vector<size_t> callable;
  for (size_t i = 0; i < callers_.size(); ++i) {
    if (callers_[i].enabled && !callers_[i].locked) callable.push_back(i);
  }
  if (!callable.empty() && rng_.Percent(85)) return callable[rng_.Below(callable.size())];
  return rng_.Below(callers_.size());
}

const ModelReservation* Simulation::PickReservation() {
  if (!open_.empty() && rng_.Percent(90)) {
    auto it = open_.begin();
    std::advance(it, rng_.Below(open_.size()));
    return &reservations_.at(*it);
  }
  if (reservations_.empty()) return nullptr;
  auto it = reservations_.begin();
  std::advance(it, rng_.Below(reservations_.size()));
  return &it->second;
}

void Simulation::Setup() {
  step_ = 0;
  // Two limited CallerIDs (one with a PIN), two unlimited (one with a PIN), and one added
  // disabled with no credit because the license (4) is full.
  // One draw per statement: the order of a call's arguments is unspecified.
  const int64_t first_credit = rng_.Between(20, 80) * kUnit;
  int64_t second_credit = rng_.Between(5, 30) * kUnit;
  second_credit += rng_.Between(0, kUnit - 1);
  const std::string second_pin = RandomPin();
  const std::string fourth_pin = RandomPin();
  DoAddCallerId(NextNumber(), "", false, first_credit, true, true);
  if (!failed_) DoAddCallerId(NextNumber(), second_pin, false, second_credit, true, false);
  if (!failed_) DoAddCallerId(NextNumber(), "", true, std::nullopt, true, false);
  if (!failed_) DoAddCallerId(NextNumber(), fourth_pin, true, std::nullopt, true, true);
  if (!failed_) DoAddCallerId(NextNumber(), "", false, std::nullopt, false, true);
  if (!failed_) CheckCallerIds();
}

std::string Simulation::NextNumber() { return StrCat("+1555", 1000000 + next_number_++); }

void Simulation::RandomStep() {
  const uint64_t roll = rng_.Below(100);
  if (roll < 24) {
    NewReserve();
  } else if (roll < 36) {
    NewExtend();
  } else if (roll < 46) {
    NewSettle();
  } else if (roll < 51) {
    NewRelease();
  } else if (roll < 61) {
    Retry(/*same=*/true);
  } else if (roll < 66) {
    Retry(/*same=*/false);
  } else if (roll < 73) {
    op_ = "advance the clock";
    clock_.AdvanceMicros(rng_.Between(1, 90) * kMicrosPerSecond);
    if (rng_.Percent(20)) clock_.AdvanceMicros(rng_.Between(0, kMicrosPerSecond - 1));
    if (rng_.Percent(30)) DoExpireDue();
  } else if (roll < 78) {
    DoExpireDue();
  } else if (roll < 81) {
    NewSync();
  } else if (roll < 89) {
    NewCredit();
  } else if (roll < 93) {
    NewUpdate();
  } else if (roll < 97) {
    NewAuthorize();
  } else if (roll < 98) {
    NewAddCallerId();
  } else {
    Unknown();
  }
}

void Simulation::NewReserve() {
  ReserveArgs a;
  ++next_reservation_;
  a.reservation_id = StrCat("call-", next_reservation_, "-leg1");
  a.number = callers_[PickCaller()].number;
  const uint64_t kind = rng_.Below(100);
  if (kind < 45) {
    a.amount = RandomAmount();
  } else if (kind < 85) {
    a.rate = RandomRate();
    a.seconds = rng_.Percent(10) ? rng_.Between(1, kDaySeconds) : rng_.Between(1, 900);
  } else {
    a.rate = RandomRate();
    a.amount = RandomAmount();
  }
  a.ttl = RandomTtl();
  a.call_id = StrCat("c", next_reservation_);
  a.node = RandomNode();
  if (rng_.Percent(30)) a.destination = StrCat("+4930", rng_.Between(1000000, 9999999));
  a.trim = rng_.Percent(50);
  DoReserve(a);
}

void Simulation::NewExtend() {
  const ModelReservation* r = PickReservation();
  if (r == nullptr) return NewReserve();
  ExtendArgs a;
  a.reservation_id = r->id;
  a.node = r->node;
  const uint64_t kind = rng_.Below(100);
  if (kind < 45 && r->rate.has_value()) {
    a.seconds = rng_.Between(1, 600);
  } else if (kind < 3) {
    a.seconds = rng_.Between(1, 60);  // without a rate: INVALID_ARGUMENT
  } else if (kind < 10) {
    a.amount_given = rng_.Percent(50);  // nothing more: only pushes the expiry
  } else {
    a.amount = RandomAmount();
  }
  a.ttl = RandomTtl();
  if (rng_.Percent(40)) a.request_id = StrCat("ext-", ++next_request_);
  a.trim = rng_.Percent(50);
  DoExtend(a);
}

void Simulation::NewSettle() {
  const ModelReservation* r = PickReservation();
  if (r == nullptr) return NewReserve();
  SettleArgs a;
  a.reservation_id = r->id;
  a.node = r->node;
  const uint64_t kind = rng_.Below(100);
  if (kind < 30 || (kind < 80 && !r->rate.has_value() && rng_.Percent(80))) {
    a.cost = rng_.Between(0, r->held);  // within the hold
  } else if (kind < 45) {
    a.cost = r->held + RandomAmount();  // more than it holds
  } else if (kind < 50) {
    // More than the hold and all the credit: the rest is uncollected.
    a.cost = r->held + std::max<int64_t>(0, Available(r->caller)) + RandomAmount();
  } else if (kind < 55) {
    a.cost = 0;
  } else if (kind < 90) {
    a.duration = rng_.Between(0, 1200);                       // priced at the rate
    if (rng_.Percent(10)) a.cost = rng_.Between(0, r->held);  // the cost wins
  }  // else: neither, a call that cost nothing
  if (rng_.Percent(20)) a.destination = StrCat("+3491", rng_.Between(1000000, 9999999));
  if (rng_.Percent(20)) a.started_at = Now() - rng_.Between(1, 600) * kMicrosPerSecond;
  a.trim = rng_.Percent(50);
  DoSettle(a);
}

void Simulation::NewRelease() {
  const ModelReservation* r = PickReservation();
  if (r == nullptr) return NewReserve();
  ReleaseArgs a;
  a.reservation_id = r->id;
  a.node = rng_.Percent(90) ? r->node : std::string("node-z");
  DoRelease(a);
}

void Simulation::NewSync() {
  const std::string node = RandomNode();
  std::vector<std::string> keep;
  for (const std::string& id : open_) {
    if (reservations_.at(id).node == node && rng_.Percent(60)) keep.push_back(id);
  }
  if (rng_.Percent(20)) keep.push_back("call-gone-leg1");
  if (rng_.Percent(20) && !open_.empty()) keep.push_back(*open_.begin());
  DoSync(node, keep);
}

void Simulation::NewCredit() {
  const size_t i = rng_.Below(callers_.size());
  const ModelCallerId& c = callers_[i];
  CreditArgs a;
  const uint64_t how = rng_.Below(100);
  if (how < 2) {
    a.callerid_id = 9999;  // unknown
  } else if (how < 15) {
    a.number = c.number;
  } else {
    a.callerid_id = c.id;
  }
  if (c.unlimited) {
    a.amount = RandomAmount();
    if (rng_.Percent(4)) a.amount = -a.amount;
  } else if (rng_.Percent(30)) {
    const int64_t available = Available(i);
    a.amount =
        -(rng_.Percent(70) ? rng_.Between(1, std::max<int64_t>(1, available)) : RandomAmount());
  } else {
    a.amount = rng_.Percent(80) ? rng_.Between(1, 60) * kUnit : RandomAmount();
  }
  if (rng_.Percent(30)) a.order_no = StrCat("PO-", rng_.Between(100, 999));
  if (rng_.Percent(30)) a.description = "top-up";
  if (rng_.Percent(40)) a.request_id = StrCat("recharge-", ++next_request_);
  a.trim = rng_.Percent(50);
  DoCredit(a);
}

void Simulation::NewAuthorize() {
  const size_t i = rng_.Below(callers_.size());
  const ModelCallerId& c = callers_[i];
  std::string pin;
  const uint64_t roll = rng_.Below(100);
  if (!c.pin.empty()) {
    if (roll < 55) {
      pin = c.pin;
    } else if (roll < 85) {
      pin = "999999";  // never a PIN we set
    }
  } else if (roll < 20) {
    pin = "4321";  // a PIN where none is needed is ignored
  }
  std::optional<RateModel> rate;
  if (rng_.Percent(50)) rate = RandomRate();
  const bool trim = rng_.Percent(50);
  DoAuthorize(i, pin, rate, trim);
}

void Simulation::NewUpdate() {
  const size_t i = rng_.Below(callers_.size());
  std::optional<bool> enable;
  std::optional<std::string> pin;
  bool reset = false;
  const uint64_t roll = rng_.Below(100);
  if (roll < 50) {
    enable = rng_.Percent(65);
  } else if (roll < 65) {
    pin = rng_.Percent(70) ? RandomPin() : std::string();  // a new PIN, or none
  } else if (roll < 85) {
    reset = true;
  } else {
    enable = rng_.Percent(65);
    reset = true;
  }
  const bool by_alias = rng_.Percent(30);
  DoUpdate(i, enable, pin, reset, by_alias);
}

void Simulation::NewAddCallerId() {
  if (callers_.size() >= kMaxCallerIds) return NewCredit();
  const bool unlimited = rng_.Percent(40);
  std::optional<int64_t> initial;
  if (!unlimited && rng_.Percent(70)) initial = rng_.Between(1, 50) * kUnit;
  std::string pin;
  if (rng_.Percent(50)) pin = RandomPin();
  const bool enabled = rng_.Percent(70);
  const bool status_given = rng_.Percent(50);
  DoAddCallerId(NextNumber(), pin, unlimited, initial, enabled, status_given);
}

void Simulation::Unknown() {
  const std::string id = StrCat("call-unknown-", rng_.Between(1, 1000000));
  switch (rng_.Below(4)) {
    case 0: {
      ReserveArgs a;
      ++next_reservation_;
      a.reservation_id = StrCat("call-", next_reservation_, "-leg1");
      a.number = kUnknownNumber;
      a.amount = RandomAmount();
      a.node = RandomNode();
      return DoReserve(a);
    }
    case 1: {
      ExtendArgs a;
      a.reservation_id = id;
      a.amount = RandomAmount();
      return DoExtend(a);
    }
    case 2: {
      SettleArgs a;
      a.reservation_id = id;
      a.cost = RandomAmount();
      return DoSettle(a);
    }
    default: {
      ReleaseArgs a;
      a.reservation_id = id;
      return DoRelease(a);
    }
  }
}

void Simulation::Retry(bool same) {
  if (history_.empty()) return NewReserve();
  Recorded call = history_[rng_.Below(history_.size())];
  const bool retrim = rng_.Percent(30);
  if (auto* a = std::get_if<ReserveArgs>(&call)) {
    if (retrim) a->trim = !a->trim;
    if (!same) {
      const uint64_t what = rng_.Below(3);
      if (what == 0 && a->amount != 0) {
        a->amount += 10000;
      } else if (what == 0) {
        a->seconds = a->seconds == kDaySeconds ? a->seconds - 1 : a->seconds + 1;
      } else if (what == 1) {
        a->ttl = a->ttl == 600 ? 601 : 600;
      } else {
        a->node = a->node == "node-z" ? "node-y" : "node-z";
      }
    }
    DoReserve(*a);
  } else if (auto* a = std::get_if<ExtendArgs>(&call)) {
    if (retrim) a->trim = !a->trim;
    if (!same) {
      if (a->seconds != 0) {
        a->seconds = a->seconds == kDaySeconds ? a->seconds - 1 : a->seconds + 1;
      } else {
        a->amount += 10000;
      }
    }
    DoExtend(*a);
  } else if (auto* a = std::get_if<SettleArgs>(&call)) {
    if (retrim) a->trim = !a->trim;
    if (!same) {
      if (a->cost.has_value()) {
        *a->cost += 1;
      } else {
        a->duration += 1;
      }
    }
    DoSettle(*a);
  } else if (auto* a = std::get_if<ReleaseArgs>(&call)) {
    if (!same) a->node = a->node == "node-z" ? "node-y" : "node-z";
    DoRelease(*a);
  } else if (auto* a = std::get_if<CreditArgs>(&call)) {
    if (retrim) a->trim = !a->trim;
    if (!same) a->amount += a->amount == -kUnit ? 2 * kUnit : kUnit;  // never zero
    DoCredit(*a);
  }
}

}  // namespace callbackledger::simulation
