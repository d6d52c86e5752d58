// The call-credit protocol side of Ledger: requests from PBX nodes checked for form and
// turned into commands; answers built from the events that recorded them.
#include <algorithm>
#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/ledger.h"
#include "ledger/money.h"
#include "ledger/pricing.h"
#include "ledger/validate.h"

namespace callbackledger {
namespace {

using Status = absl::Status;

constexpr size_t kMaxIdLength = 128;
constexpr size_t kMaxDestinationLength = 64;
constexpr uint32_t kMaxTtlSeconds = 86400;
constexpr size_t kMaxSyncReservations = 10000;
// The most one call can cost: a day-long call (kMaxCallSeconds) at the highest price per
// minute and connect fee ParseRate accepts (1000000 each). Amounts held or charged for one
// call are bounded by it, which keeps every sum over calls far from int64 overflow.
constexpr int64_t kMaxCallUnits = (kMaxCallSeconds / 60 + 1) * 1000000;
constexpr int64_t kMaxCallMicros = kMaxCallUnits * kMicrosPerUnit;

// An identifier chosen by a node: 1-128 printable ASCII characters, no spaces.
Status CheckIdentifier(std::string_view field, const std::string& value, bool required) {
  if (value.empty()) {
    return required ? absl::InvalidArgumentError(absl::StrCat(std::string(field), ": required"))
                    : absl::OkStatus();
  }
  if (value.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": at most ", kMaxIdLength, " characters"));
  }
  for (char c : value) {
    if (c <= 0x20 || c >= 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(field), ": only printable ASCII characters without spaces are allowed"));
    }
  }
  return absl::OkStatus();
}

Status CheckTtl(uint32_t ttl_seconds) {
  if (ttl_seconds > kMaxTtlSeconds) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttl_seconds: at most ", kMaxTtlSeconds, " (one day)"));
  }
  return absl::OkStatus();
}

Status CheckSeconds(std::string_view field, uint64_t seconds) {
  if (seconds > kMaxCallSeconds) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": at most ", kMaxCallSeconds, " (one day)"));
  }
  return absl::OkStatus();
}

// A positive (or, with allow_zero, non-negative) amount of one call, at most
// kMaxCallMicros; empty gives 0.
absl::StatusOr<int64_t> OptionalAmount(std::string_view field, const std::string& text,
                                       bool allow_zero) {
  if (text.empty()) return 0;
  absl::StatusOr<int64_t> amount = ParseMoney(field, text);
  if (!amount.ok()) return amount.status();
  if (*amount < 0 || (*amount == 0 && !allow_zero)) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": must be ", allow_zero ? "zero or more" : "positive"));
  }
  if (*amount > kMaxCallMicros) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": at most ", kMaxCallUnits,
                                                   " (a day-long call at the highest rate)"));
  }
  return *amount;
}

// The fields are views (of the request, or of temporaries that outlive the call), and the
// result is sized once: no copy of a field, and one allocation.
std::string Canonical(std::initializer_list<std::string_view> fields) {
  size_t size = 0;
  for (std::string_view field : fields) size += field.size() + 21;  // length, ':', field
  std::string canonical;
  canonical.reserve(size);
  for (std::string_view field : fields) AppendCanonical(&canonical, field);
  return canonical;
}

std::string RateCanonical(const std::optional<v1::RateMicros>& rate) {
  return rate.has_value() ? rate->SerializeAsString() : std::string("-");
}

}  // namespace

v1::AuthorizeResponse Ledger::AuthorizeAnswer(const CallerIdState& callerid,
                                              const std::optional<v1::RateMicros>& rate) const {
  v1::AuthorizeResponse response;
  response.set_callerid_id(callerid.id);
  response.set_unlimited(callerid.unlimited);
  response.set_decision(v1::ALLOWED);
  if (callerid.unlimited) {
    if (rate.has_value()) response.set_max_duration_seconds(kMaxCallSeconds);
    return response;
  }
  int64_t available = callerid.available_micros();
  response.set_available_credit(FormatMoney(available, options_.decimals));
  const ExtensionState* ext = state_.FindExtension(callerid.extension);
  int64_t minimum = ext != nullptr ? ext->min_credit_to_call_micros : 0;
  if (rate.has_value()) response.set_max_duration_seconds(MaxCallSeconds(*rate, available));
  if (available <= 0 || available < minimum ||
      (rate.has_value() && response.max_duration_seconds() == 0)) {
    response.set_decision(v1::NO_CREDIT);
  }
  return response;
}

void Ledger::Authorize(const v1::AuthorizeRequest& request, const Origin& origin,
                       Done<v1::AuthorizeResponse> done) {
  Status s = ValidateExtension(request.extension());
  if (s.ok()) s = ValidateCallbackNumber("callback_number", request.callback_number());
  if (s.ok() && !request.pin().empty()) s = ValidatePin(request.pin());
  std::optional<v1::RateMicros> rate;
  if (s.ok() && HasRate(request.rate())) {
    absl::StatusOr<v1::RateMicros> parsed = ParseRate(request.rate());
    if (parsed.ok()) {
      rate = *parsed;
    } else {
      s = parsed.status();
    }
  }
  if (!s.ok()) return done(s);

  // Answered here unless a PIN attempt has to be recorded; `done` runs outside the lock.
  std::optional<v1::AuthorizeResponse> answer;
  PinAttemptCommand attempt;
  {
    ReaderMutexLock lock(&state_mu_);
    std::optional<uint64_t> id = state_.FindNumber(request.extension(), request.callback_number());
    const CallerIdState* callerid = id.has_value() ? state_.FindCallerId(*id) : nullptr;
    v1::Decision denial = v1::DECISION_UNSPECIFIED;
    if (callerid == nullptr) {
      denial = v1::NOT_AUTHORIZED;
    } else if (!callerid->enabled()) {
      denial = v1::DISABLED;
    } else if (callerid->pin_locked) {
      denial = v1::PIN_LOCKED;
    } else if (callerid->pin_set() && request.pin().empty()) {
      denial = v1::PIN_REQUIRED;
    }
    if (denial != v1::DECISION_UNSPECIFIED) {
      answer.emplace();
      answer->set_decision(denial);
      if (callerid != nullptr) answer->set_callerid_id(callerid->id);
    } else if (!callerid->pin_set() ||
               (callerid->failed_pin_attempts == 0 &&
                secrets_.PinMatches(callerid->pin_salt, callerid->pin_hash, request.pin()))) {
      answer = AuthorizeAnswer(*callerid, rate);  // nothing to record
    } else {
      attempt.callerid_id = callerid->id;
      attempt.pin_hash_seen = callerid->pin_hash;
      attempt.correct = secrets_.PinMatches(callerid->pin_salt, callerid->pin_hash, request.pin());
    }
  }
  if (answer.has_value()) return done(*std::move(answer));
  // A wrong PIN is counted (and may lock), a right one after wrong ones resets the count.
  Command command;
  uint64_t id = attempt.callerid_id;
  bool correct = attempt.correct;
  command.body = std::move(attempt);
  command.done = [this, id, correct, rate, done = std::move(done)](CommandResult result) {
    if (!result.status.ok()) return done(result.status);
    ReaderMutexLock lock(&state_mu_);
    const CallerIdState* callerid = state_.FindCallerId(id);
    v1::AuthorizeResponse answer;
    answer.set_callerid_id(id);
    if (callerid == nullptr) {
      answer.set_decision(v1::NOT_AUTHORIZED);
    } else if (result.denial != v1::DECISION_UNSPECIFIED) {
      answer.set_decision(result.denial);
    } else if (!correct) {
      answer.set_decision(v1::WRONG_PIN);
    } else {
      answer = AuthorizeAnswer(*callerid, rate);
    }
    done(std::move(answer));
  };
  Submit(std::move(command), origin);
}

void Ledger::Reserve(const v1::ReserveRequest& request, const Origin& origin,
                     Done<v1::ReserveResponse> done) {
  ReserveCommand reserve;
  Status s = CheckIdentifier("reservation_id", request.reservation_id(), true);
  if (s.ok()) s = ValidateExtension(request.extension());
  if (s.ok()) s = ValidateCallbackNumber("callback_number", request.callback_number());
  if (s.ok()) s = CheckIdentifier("call_id", request.call_id(), false);
  if (s.ok()) s = CheckIdentifier("node_id", request.node_id(), false);
  if (s.ok()) s = ValidateText("destination", request.destination(), kMaxDestinationLength);
  if (s.ok()) s = CheckTtl(request.ttl_seconds());
  if (s.ok()) s = CheckSeconds("seconds", request.seconds());
  if (s.ok() && HasRate(request.rate())) {
    absl::StatusOr<v1::RateMicros> rate = ParseRate(request.rate());
    if (rate.ok()) reserve.rate = *rate;
    if (!rate.ok()) s = rate.status();
  }
  if (s.ok()) {
    absl::StatusOr<int64_t> amount = OptionalAmount("amount", request.amount(), false);
    if (amount.ok()) reserve.amount_micros = *amount;
    if (!amount.ok()) s = amount.status();
  }
  if (s.ok() && request.seconds() != 0 && !reserve.rate.has_value()) {
    s = absl::InvalidArgumentError("seconds: a rate is needed to price them");
  }
  if (s.ok() && reserve.amount_micros == 0 && request.seconds() == 0) {
    s = absl::InvalidArgumentError("amount: give the amount wanted, or a rate and seconds");
  }
  if (s.ok() && reserve.amount_micros != 0 && request.seconds() != 0) {
    s = absl::InvalidArgumentError("amount: give the amount wanted or seconds, not both");
  }
  if (!s.ok()) return done(s);

  reserve.reservation_id = request.reservation_id();
  reserve.extension = request.extension();
  reserve.callback_number = request.callback_number();
  reserve.seconds = request.seconds();
  reserve.ttl_seconds = request.ttl_seconds();
  reserve.call_id = request.call_id();
  reserve.node_id = request.node_id();
  reserve.destination = request.destination();
  reserve.fingerprint = secrets_.Fingerprint(
      Canonical({reserve.extension, reserve.callback_number, std::to_string(reserve.amount_micros),
                 RateCanonical(reserve.rate), std::to_string(reserve.seconds),
                 std::to_string(reserve.ttl_seconds), reserve.call_id, reserve.node_id,
                 reserve.destination}));
  std::string reservation_id = reserve.reservation_id;
  std::string extension = reserve.extension;
  std::string number = reserve.callback_number;
  Command command;
  command.body = std::move(reserve);
  command.done = [this, reservation_id, extension, number,
                  done = std::move(done)](CommandResult result) {
    if (!result.status.ok()) return done(result.status);
    v1::ReserveResponse response;
    response.set_reservation_id(reservation_id);
    if (result.denial != v1::DECISION_UNSPECIFIED) {
      response.set_decision(result.denial);
      response.set_granted_amount(FormatMoney(0, options_.decimals));
      ReaderMutexLock lock(&state_mu_);
      std::optional<uint64_t> id = state_.FindNumber(extension, number);
      const CallerIdState* callerid = id.has_value() ? state_.FindCallerId(*id) : nullptr;
      if (callerid != nullptr) {
        response.set_callerid_id(callerid->id);
        if (!callerid->unlimited) {
          response.set_available_credit(
              FormatMoney(callerid->available_micros(), options_.decimals));
        }
      }
      return done(std::move(response));
    }
    const v1::ReservationOpened& opened = result.event().reservation_opened();
    response.set_decision(v1::ALLOWED);
    response.set_callerid_id(opened.callerid_id());
    response.set_granted_amount(FormatMoney(opened.granted_micros(), options_.decimals));
    response.set_granted_seconds(opened.granted_seconds());
    *response.mutable_expires_at() = opened.expires_at();
    response.set_final_grant(opened.final_grant());
    if (opened.counted()) {
      response.set_available_credit(
          FormatMoney(opened.available_after_micros(), options_.decimals));
    }
    done(std::move(response));
  };
  Submit(std::move(command), origin);
}

void Ledger::Extend(const v1::ExtendRequest& request, const Origin& origin,
                    Done<v1::ExtendResponse> done) {
  ExtendCommand extend;
  Status s = CheckIdentifier("reservation_id", request.reservation_id(), true);
  if (s.ok()) s = CheckIdentifier("node_id", request.node_id(), false);
  if (s.ok()) s = CheckIdentifier("request_id", request.request_id(), false);
  if (s.ok()) s = CheckTtl(request.ttl_seconds());
  if (s.ok()) s = CheckSeconds("seconds", request.seconds());
  if (s.ok()) {
    absl::StatusOr<int64_t> amount = OptionalAmount("amount", request.amount(), true);
    if (amount.ok()) extend.amount_micros = *amount;
    if (!amount.ok()) s = amount.status();
  }
  if (s.ok() && extend.amount_micros != 0 && request.seconds() != 0) {
    s = absl::InvalidArgumentError("amount: give the amount wanted or seconds, not both");
  }
  if (!s.ok()) return done(s);
  extend.reservation_id = request.reservation_id();
  extend.seconds = request.seconds();
  extend.ttl_seconds = request.ttl_seconds();
  extend.node_id = request.node_id();
  extend.fingerprint = secrets_.Fingerprint(Canonical(
      {extend.reservation_id, std::to_string(extend.amount_micros), std::to_string(extend.seconds),
       std::to_string(extend.ttl_seconds), extend.node_id, request.request_id()}));
  std::string reservation_id = extend.reservation_id;
  Command command;
  if (!request.request_id().empty()) {
    command.request_id = absl::StrCat(reservation_id, "/", request.request_id());
    command.fingerprint = extend.fingerprint;
  }
  command.body = std::move(extend);
  command.done = [this, reservation_id, done = std::move(done)](CommandResult result) {
    if (!result.status.ok()) return done(result.status);
    v1::ExtendResponse response;
    response.set_reservation_id(reservation_id);
    const std::optional<ReservationState> reservation = CurrentReservation(reservation_id);
    ReaderMutexLock lock(&state_mu_);
    const CallerIdState* callerid =
        reservation.has_value() ? state_.FindCallerId(reservation->callerid_id()) : nullptr;
    if (result.denial != v1::DECISION_UNSPECIFIED) {
      response.set_decision(result.denial);
      response.set_granted_amount(FormatMoney(0, options_.decimals));
      if (reservation.has_value()) {
        response.set_held_amount(FormatMoney(reservation->held_micros(), options_.decimals));
        *response.mutable_expires_at() = reservation->expires_at();
      }
      if (callerid != nullptr && !callerid->unlimited) {
        response.set_available_credit(FormatMoney(callerid->available_micros(), options_.decimals));
      }
      response.set_final_grant(true);
      return done(std::move(response));
    }
    const v1::ReservationExtended& extended = result.event().reservation_extended();
    response.set_decision(v1::ALLOWED);
    response.set_granted_amount(FormatMoney(extended.granted_micros(), options_.decimals));
    response.set_granted_seconds(extended.granted_seconds());
    response.set_held_amount(FormatMoney(extended.held_after_micros(), options_.decimals));
    *response.mutable_expires_at() = extended.expires_at();
    response.set_final_grant(extended.final_grant());
    if (extended.counted()) {
      response.set_available_credit(
          FormatMoney(extended.available_after_micros(), options_.decimals));
    }
    done(std::move(response));
  };
  Submit(std::move(command), origin);
}

void Ledger::Settle(const v1::SettleRequest& request, const Origin& origin,
                    Done<v1::SettleResponse> done) {
  SettleCommand settle;
  Status s = CheckIdentifier("reservation_id", request.reservation_id(), true);
  if (s.ok()) s = CheckIdentifier("node_id", request.node_id(), false);
  if (s.ok()) s = ValidateText("destination", request.destination(), kMaxDestinationLength);
  if (s.ok()) s = CheckSeconds("duration_seconds", request.duration_seconds());
  if (s.ok() && !request.cost().empty()) {
    absl::StatusOr<int64_t> cost = OptionalAmount("cost", request.cost(), true);
    if (cost.ok()) settle.cost_micros = *cost;
    if (!cost.ok()) s = cost.status();
  }
  if (s.ok() && request.has_started_at() &&
      (request.started_at().seconds() <= 0 || request.started_at().nanos() < 0 ||
       request.started_at().nanos() > 999999999 || request.started_at().seconds() > 253402300799)) {
    s = absl::InvalidArgumentError("started_at: not a valid time");
  }
  if (!s.ok()) return done(s);
  settle.reservation_id = request.reservation_id();
  settle.duration_seconds = request.duration_seconds();
  settle.node_id = request.node_id();
  settle.destination = request.destination();
  if (request.has_started_at()) settle.started_at_micros = ToUnixMicros(request.started_at());
  settle.fingerprint = secrets_.Fingerprint(Canonical(
      {settle.reservation_id,
       settle.cost_micros.has_value() ? std::to_string(*settle.cost_micros) : std::string("-"),
       std::to_string(settle.duration_seconds), settle.node_id, settle.destination,
       std::to_string(settle.started_at_micros)}));
  std::string reservation_id = settle.reservation_id;
  Command command;
  command.body = std::move(settle);
  command.done = [this, reservation_id, done = std::move(done)](CommandResult result) {
    if (!result.status.ok()) return done(result.status);
    const v1::ReservationSettled& settled = result.event().reservation_settled();
    v1::SettleResponse response;
    response.set_reservation_id(reservation_id);
    response.set_callerid_id(settled.callerid_id());
    response.set_cost(FormatMoney(settled.cost_micros(), options_.decimals));
    response.set_uncollected(FormatMoney(settled.uncollected_micros(), options_.decimals));
    response.set_late(settled.late());
    if (!settled.unlimited()) {
      response.set_credit_left(FormatMoney(settled.credit_left_after_micros(), options_.decimals));
      response.set_available_credit(
          FormatMoney(settled.available_after_micros(), options_.decimals));
    }
    done(std::move(response));
  };
  Submit(std::move(command), origin);
}

void Ledger::Release(const v1::ReleaseRequest& request, const Origin& origin,
                     Done<v1::ReleaseResponse> done) {
  Status s = CheckIdentifier("reservation_id", request.reservation_id(), true);
  if (s.ok()) s = CheckIdentifier("node_id", request.node_id(), false);
  if (!s.ok()) return done(s);
  ReleaseCommand release;
  release.reservation_id = request.reservation_id();
  release.node_id = request.node_id();
  release.fingerprint = secrets_.Fingerprint(Canonical({release.reservation_id, release.node_id}));
  std::string reservation_id = release.reservation_id;
  Command command;
  command.body = std::move(release);
  command.done = [this, reservation_id, done = std::move(done)](CommandResult result) {
    if (!result.status.ok()) return done(result.status);
    v1::ReleaseResponse response;
    response.set_reservation_id(reservation_id);
    if (result.denial == v1::DECISION_UNSPECIFIED) {
      // Answered from the event, so that a retry gets the first answer.
      const v1::ReservationReleased& released = result.event().reservation_released();
      response.set_released_amount(FormatMoney(released.released_micros(), options_.decimals));
      if (!released.unlimited()) {
        response.set_available_credit(
            FormatMoney(released.available_after_micros(), options_.decimals));
      }
      return done(std::move(response));
    }
    // The ledger had already released it at its expiry: nothing more to release.
    response.set_released_amount(FormatMoney(0, options_.decimals));
    const std::optional<ReservationState> reservation = CurrentReservation(reservation_id);
    ReaderMutexLock lock(&state_mu_);
    const CallerIdState* callerid =
        reservation.has_value() ? state_.FindCallerId(reservation->callerid_id()) : nullptr;
    if (callerid != nullptr && !callerid->unlimited) {
      response.set_available_credit(FormatMoney(callerid->available_micros(), options_.decimals));
    }
    done(std::move(response));
  };
  Submit(std::move(command), origin);
}

std::optional<ReservationState> Ledger::CurrentReservation(
    const std::string& reservation_id) const {
  {
    ReaderMutexLock lock(&state_mu_);
    if (const ReservationState* kept = state_.FindReservation(reservation_id)) return *kept;
  }
  absl::StatusOr<std::optional<ReservationState>> stored =
      store_->FindClosedReservation(reservation_id);
  if (!stored.ok()) return std::nullopt;
  return *std::move(stored);
}

void Ledger::SyncReservations(const v1::SyncReservationsRequest& request, const Origin& origin,
                              Done<v1::SyncReservationsResponse> done) {
  Status s = CheckIdentifier("node_id", request.node_id(), true);
  if (s.ok() && static_cast<size_t>(request.reservation_ids_size()) > kMaxSyncReservations) {
    s = absl::InvalidArgumentError(
        absl::StrCat("reservation_ids: at most ", kMaxSyncReservations, " at once"));
  }
  SyncReservationsCommand sync;
  for (const std::string& id : request.reservation_ids()) {
    if (s.ok()) s = CheckIdentifier("reservation_ids", id, true);
    sync.keep.push_back(id);
  }
  if (!s.ok()) return done(s);
  std::sort(sync.keep.begin(), sync.keep.end());
  sync.node_id = request.node_id();
  Command command;
  command.body = std::move(sync);
  command.done = [this, done = std::move(done)](CommandResult result) {
    if (!result.status.ok()) return done(result.status);
    v1::SyncReservationsResponse response;
    int64_t released = 0;
    for (const v1::Event& event : result.events) {
      response.add_released_reservation_ids(event.reservation_released().reservation_id());
      released += event.reservation_released().released_micros();
    }
    response.set_released_amount(FormatMoney(released, options_.decimals));
    done(std::move(response));
  };
  Submit(std::move(command), origin);
}

void Ledger::ExpireDue(Done<uint64_t> done) {
  Command command;
  command.body = ExpireCommand{};
  command.done = [done = std::move(done)](CommandResult result) {
    if (!result.status.ok()) return done(result.status);
    done(static_cast<uint64_t>(result.events.size()));
  };
  Submit(std::move(command), Origin("ledger"));
}

void Ledger::RunExpiry() {
  const absl::Duration poll = absl::Milliseconds(options_.expiry_poll_milliseconds);
  while (true) {
    {
      MutexLock lock(&expiry_mu_);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(expiry_mu_) { return expiry_stop_; };
      if (expiry_mu_.AwaitWithTimeout(Condition(&stop), poll)) return;
    }
    bool due = false;
    {
      ReaderMutexLock lock(&state_mu_);
      const auto& index = state_.expiry_index();
      due = !index.empty() && index.begin()->first <= clock_->NowMicros();
    }
    if (!due) continue;
    std::promise<void> finished;
    ExpireDue([&finished](absl::StatusOr<uint64_t>) { finished.set_value(); });
    finished.get_future().wait();
  }
}

}  // namespace callbackledger
