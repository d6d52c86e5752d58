// The state machine of the call-credit protocol: Authorize's PIN attempts, Reserve,
// Extend, Settle, Release, SyncReservations and expiry.
#include <algorithm>
#include <optional>
#include <string>
#include <variant>

#include "absl/strings/str_cat.h"
#include "ledger/decide.h"
#include "ledger/money.h"
#include "ledger/pricing.h"

namespace callbackledger {
namespace {

using Row = store::v1::ReservationRow;

Decided Deny(v1::Decision decision) {
  Decided decided;
  decided.denial = decision;
  return decided;
}

Decided Replay(uint64_t sequence) {
  Decided decided;
  decided.replay_sequence = sequence;
  return decided;
}

absl::Status NoReservation(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("reservation_id ", id, ": no such reservation"));
}

const char* StateName(Row::State state) {
  switch (state) {
    case Row::SETTLED:
      return "settled";
    case Row::RELEASED:
      return "released";
    case Row::EXPIRED:
      return "expired";
    case Row::ORPHANED:
      return "released as an orphan";
    default:
      return "open";
  }
}

// Why a CallerID may not call now, or ALLOWED.
v1::Decision CallerAllowed(const CallerIdState* callerid) {
  if (callerid == nullptr) return v1::NOT_AUTHORIZED;
  if (!callerid->enabled()) return v1::DISABLED;
  if (callerid->pin_locked) return v1::PIN_LOCKED;
  return v1::ALLOWED;
}

bool FinalGrant(const CallerIdState& callerid, const Row& reservation, int64_t available_after) {
  if (callerid.unlimited) return false;
  if (reservation.has_rate()) return available_after < IncrementCostMicros(reservation.rate());
  return available_after <= 0;
}

}  // namespace

absl::Status CheckNodeBinding(const View& view, const CommandBody& body) {
  const std::string* id = nullptr;
  const std::string* node_id = nullptr;
  if (const auto* extend = std::get_if<ExtendCommand>(&body)) {
    id = &extend->reservation_id;
    node_id = &extend->node_id;
  } else if (const auto* settle = std::get_if<SettleCommand>(&body)) {
    id = &settle->reservation_id;
    node_id = &settle->node_id;
  } else if (const auto* release = std::get_if<ReleaseCommand>(&body)) {
    id = &release->reservation_id;
    node_id = &release->node_id;
  }
  if (id == nullptr || node_id->empty()) return absl::OkStatus();
  const Row* reservation = view.FindReservation(*id);
  if (reservation == nullptr || reservation->node_id().empty() ||
      reservation->node_id() == *node_id) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat("reservation ", *id, " belongs to node ",
                                                  reservation->node_id(), ", not ", *node_id));
}

absl::StatusOr<Decided> DecidePinAttempt(const View& view, const PinAttemptCommand& command,
                                         const LedgerRules& rules) {
  const CallerIdState* callerid = view.FindCallerId(command.callerid_id);
  // The PIN changed (or the CallerID went) since it was checked: count nothing.
  if (callerid == nullptr || callerid->pin_hash != command.pin_hash_seen) {
    return Deny(v1::WRONG_PIN);
  }
  if (callerid->pin_locked) return Deny(v1::PIN_LOCKED);
  Decided decided;
  if (command.correct) {
    if (callerid->failed_pin_attempts > 0) {
      decided.add_event()->mutable_pin_accepted()->set_callerid_id(callerid->id);
    }
    return decided;
  }
  v1::PinFailed* failed = decided.add_event()->mutable_pin_failed();
  failed->set_callerid_id(callerid->id);
  failed->set_failed_attempts(callerid->failed_pin_attempts + 1);
  failed->set_locked(rules.pin_max_attempts > 0 &&
                     failed->failed_attempts() >= rules.pin_max_attempts);
  return decided;
}

absl::StatusOr<Decided> DecideReserve(const View& view, const ReserveCommand& command,
                                      const LedgerRules& rules, int64_t now_micros) {
  if (const Row* existing = view.FindReservation(command.reservation_id)) {
    if (existing->reserve_fingerprint() == command.fingerprint) {
      return Replay(existing->opened_sequence());
    }
    return absl::AlreadyExistsError(absl::StrCat("reservation_id ", command.reservation_id,
                                                 " was already used with other arguments"));
  }
  std::optional<uint64_t> id = view.FindNumber(command.extension, command.callback_number);
  const CallerIdState* callerid = id.has_value() ? view.FindCallerId(*id) : nullptr;
  if (v1::Decision allowed = CallerAllowed(callerid); allowed != v1::ALLOWED) return Deny(allowed);

  int64_t wanted = command.amount_micros;
  if (wanted == 0) wanted = CallCostMicros(*command.rate, command.seconds);
  int64_t granted = wanted;
  uint64_t granted_seconds = command.rate.has_value() ? command.seconds : 0;
  int64_t available_after = 0;
  if (!callerid->unlimited) {
    int64_t available = callerid->available_micros();
    ExtensionState ext = view.GetExtension(callerid->extension);
    if (available <= 0 || available < ext.min_credit_to_call_micros) return Deny(v1::NO_CREDIT);
    if (!command.rate.has_value()) {
      granted = std::min(wanted, available);
    } else if (command.amount_micros != 0) {
      granted = std::min(wanted, available);
      granted_seconds = MaxCallSeconds(*command.rate, granted);
      if (granted_seconds == 0) return Deny(v1::NO_CREDIT);
    } else {
      granted_seconds = std::min<uint64_t>(BilledSeconds(*command.rate, command.seconds),
                                           MaxCallSeconds(*command.rate, available));
      if (granted_seconds == 0) return Deny(v1::NO_CREDIT);
      granted = CallCostMicros(*command.rate, granted_seconds);
    }
    if (granted <= 0) return Deny(v1::NO_CREDIT);
    available_after = available - granted;
  }

  Decided decided;
  v1::ReservationOpened* opened = decided.add_event()->mutable_reservation_opened();
  opened->set_reservation_id(command.reservation_id);
  opened->set_callerid_id(callerid->id);
  opened->set_node_id(command.node_id);
  opened->set_call_id(command.call_id);
  opened->set_destination(command.destination);
  if (command.rate.has_value()) *opened->mutable_rate() = *command.rate;
  opened->set_requested_micros(wanted);
  opened->set_requested_seconds(command.seconds);
  opened->set_granted_micros(granted);
  opened->set_granted_seconds(granted_seconds);
  uint32_t ttl = command.ttl_seconds != 0 ? command.ttl_seconds : rules.default_ttl_seconds;
  opened->set_ttl_seconds(ttl);
  *opened->mutable_expires_at() = FromUnixMicros(now_micros + int64_t{ttl} * 1000000);
  opened->set_counted(!callerid->unlimited);
  opened->set_available_after_micros(available_after);
  Row probe;
  if (command.rate.has_value()) {
    *probe.mutable_rate() = *command.rate;
  }
  opened->set_final_grant(FinalGrant(*callerid, probe, available_after));
  opened->set_fingerprint(command.fingerprint);
  return decided;
}

absl::StatusOr<Decided> DecideExtend(const View& view, const ExtendCommand& command,
                                     const Command& envelope, int64_t now_micros) {
  const Row* reservation = view.FindReservation(command.reservation_id);
  if (reservation == nullptr) return NoReservation(command.reservation_id);
  if (envelope.request_id.empty() && reservation->last_extend_sequence() != 0 &&
      reservation->last_extend_fingerprint() == command.fingerprint) {
    return Replay(reservation->last_extend_sequence());
  }
  if (reservation->state() == Row::SETTLED || reservation->state() == Row::RELEASED) {
    return absl::FailedPreconditionError(absl::StrCat("reservation_id ", command.reservation_id,
                                                      " is already ",
                                                      StateName(reservation->state())));
  }
  if (reservation->state() != Row::OPEN || ToUnixMicros(reservation->expires_at()) <= now_micros) {
    return Deny(v1::EXPIRED);
  }
  if (command.seconds != 0 && !reservation->has_rate()) {
    return absl::InvalidArgumentError(
        "seconds: the reservation has no rate; extend it by an amount instead");
  }
  const CallerIdState* callerid = view.FindCallerId(reservation->callerid_id());
  if (v1::Decision allowed = CallerAllowed(callerid); allowed != v1::ALLOWED) return Deny(allowed);

  int64_t wanted = command.amount_micros;
  if (command.seconds != 0) wanted = ExtraCostMicros(reservation->rate(), command.seconds);
  int64_t granted = wanted;
  uint64_t granted_seconds = command.seconds;
  int64_t available_after = 0;
  if (!callerid->unlimited) {
    int64_t available = callerid->available_micros();
    if (command.seconds != 0) {
      granted_seconds =
          std::min<uint64_t>(command.seconds, MaxExtraSeconds(reservation->rate(), available));
      granted = granted_seconds == 0 ? 0 : ExtraCostMicros(reservation->rate(), granted_seconds);
      granted = std::min(granted, available);
    } else {
      granted = std::min(wanted, available);
      if (reservation->has_rate()) granted_seconds = MaxExtraSeconds(reservation->rate(), granted);
    }
    if (wanted > 0 && granted <= 0) return Deny(v1::NO_CREDIT);
    available_after = available - granted;
  }
  // Unlimited grants are bounded per request only: many of them could overflow the hold.
  std::optional<int64_t> held_after = CheckedAdd(reservation->held_micros(), granted);
  if (!held_after.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("amount: reservation_id ", command.reservation_id,
                     " already holds all it can; settle it and open another"));
  }

  Decided decided;
  v1::ReservationExtended* extended = decided.add_event()->mutable_reservation_extended();
  extended->set_reservation_id(command.reservation_id);
  extended->set_fingerprint(command.fingerprint);
  extended->set_request_id(envelope.request_id);
  extended->set_counted(!callerid->unlimited);
  extended->set_granted_micros(granted);
  extended->set_granted_seconds(granted_seconds);
  extended->set_held_after_micros(*held_after);
  uint32_t ttl = command.ttl_seconds != 0 ? command.ttl_seconds : reservation->ttl_seconds();
  *extended->mutable_expires_at() = FromUnixMicros(now_micros + int64_t{ttl} * 1000000);
  extended->set_final_grant(FinalGrant(*callerid, *reservation, available_after));
  extended->set_available_after_micros(available_after);
  return decided;
}

absl::StatusOr<Decided> DecideSettle(const View& view, const SettleCommand& command,
                                     int64_t now_micros) {
  const Row* reservation = view.FindReservation(command.reservation_id);
  if (reservation == nullptr) return NoReservation(command.reservation_id);
  if (reservation->state() == Row::SETTLED) {
    if (reservation->closed_fingerprint() == command.fingerprint) {
      return Replay(reservation->closed_sequence());
    }
    return absl::AlreadyExistsError(absl::StrCat("reservation_id ", command.reservation_id,
                                                 " was already settled with other arguments"));
  }
  if (reservation->state() == Row::RELEASED) {
    return absl::FailedPreconditionError(absl::StrCat("reservation_id ", command.reservation_id,
                                                      " was released: there is nothing to settle"));
  }
  int64_t cost = 0;
  if (command.cost_micros.has_value()) {
    cost = *command.cost_micros;
  } else if (command.duration_seconds > 0) {
    if (!reservation->has_rate()) {
      return absl::FailedPreconditionError(
          "duration_seconds: the reservation has no rate to price it; settle with cost");
    }
    cost = CallCostMicros(reservation->rate(), command.duration_seconds);
  }
  const CallerIdState* callerid = view.FindCallerId(reservation->callerid_id());
  if (callerid == nullptr) {
    return absl::FailedPreconditionError("the reservation's CallerID was removed");
  }
  bool open = reservation->state() == Row::OPEN;
  int64_t hold = open ? reservation->counted_micros() : 0;
  int64_t charged = cost;
  int64_t credit_left_after = callerid->credit_left_micros;
  int64_t available_after = 0;
  if (!callerid->unlimited) {
    charged = std::min(cost, callerid->available_micros() + hold);
    credit_left_after -= charged;
    available_after = callerid->available_micros() + hold - charged;
  }

  Decided decided;
  v1::ReservationSettled* settled = decided.add_event()->mutable_reservation_settled();
  settled->set_reservation_id(command.reservation_id);
  settled->set_fingerprint(command.fingerprint);
  settled->set_callerid_id(callerid->id);
  settled->set_cost_micros(charged);
  settled->set_uncollected_micros(cost - charged);
  settled->set_late(!open || ToUnixMicros(reservation->expires_at()) < now_micros);
  settled->set_duration_seconds(command.duration_seconds);
  *settled->mutable_started_at() = command.started_at_micros != 0
                                       ? FromUnixMicros(command.started_at_micros)
                                       : reservation->created_at();
  settled->set_destination(command.destination.empty() ? reservation->destination()
                                                       : command.destination);
  settled->set_released_micros(hold);
  settled->set_credit_left_after_micros(credit_left_after);
  settled->set_available_after_micros(available_after);
  settled->set_unlimited(callerid->unlimited);
  return decided;
}

absl::StatusOr<Decided> DecideRelease(const View& view, const ReleaseCommand& command) {
  const Row* reservation = view.FindReservation(command.reservation_id);
  if (reservation == nullptr) return NoReservation(command.reservation_id);
  switch (reservation->state()) {
    case Row::RELEASED:
      if (reservation->closed_fingerprint() == command.fingerprint) {
        return Replay(reservation->closed_sequence());
      }
      return absl::AlreadyExistsError(absl::StrCat("reservation_id ", command.reservation_id,
                                                   " was already released with other arguments"));
    case Row::SETTLED:
      return absl::FailedPreconditionError(absl::StrCat("reservation_id ", command.reservation_id,
                                                        " is settled: it cannot be released"));
    case Row::EXPIRED:
    case Row::ORPHANED:
      return Deny(v1::EXPIRED);  // the ledger already gave the hold back
    default:
      break;
  }
  const CallerIdState* callerid = view.FindCallerId(reservation->callerid_id());
  Decided decided;
  v1::ReservationReleased* released = decided.add_event()->mutable_reservation_released();
  released->set_reservation_id(command.reservation_id);
  released->set_reason(v1::ReservationReleased::RELEASED);
  released->set_released_micros(reservation->held_micros());
  released->set_fingerprint(command.fingerprint);
  released->set_unlimited(callerid != nullptr && callerid->unlimited);
  released->set_available_after_micros(callerid == nullptr || callerid->unlimited
                                           ? 0
                                           : callerid->available_micros() +
                                                 reservation->counted_micros());
  return decided;
}

namespace {

void ReleaseAs(const View& view, const Row& reservation, v1::ReservationReleased::Reason reason,
               Decided* decided) {
  const CallerIdState* callerid = view.FindCallerId(reservation.callerid_id());
  v1::ReservationReleased* released = decided->add_event()->mutable_reservation_released();
  released->set_reservation_id(reservation.reservation_id());
  released->set_reason(reason);
  released->set_released_micros(reservation.held_micros());
  released->set_available_after_micros(callerid == nullptr || callerid->unlimited
                                           ? 0
                                           : callerid->available_micros() +
                                                 reservation.counted_micros());
}

}  // namespace

absl::StatusOr<Decided> DecideSync(const View& view, const SyncReservationsCommand& command,
                                   const LedgerRules& rules) {
  Decided decided;
  auto consider = [&](const std::string& id) {
    if (decided.events.size() >= rules.max_events_per_command) return;
    if (std::binary_search(command.keep.begin(), command.keep.end(), id)) return;
    const Row* reservation = view.FindReservation(id);
    if (reservation == nullptr || reservation->state() != Row::OPEN ||
        reservation->node_id() != command.node_id) {
      return;
    }
    ReleaseAs(view, *reservation, v1::ReservationReleased::ORPHANED, &decided);
  };
  if (const auto* open = view.base().OpenReservationsOfNode(command.node_id)) {
    for (const std::string& id : *open) consider(id);
  }
  for (const std::string& id : view.ReservationsNotInBase()) consider(id);  // opened since
  return decided;
}

absl::StatusOr<Decided> DecideExpire(const View& view, const LedgerRules& rules,
                                     int64_t now_micros) {
  Decided decided;
  auto expire_if_due = [&](const std::string& id) {
    const Row* reservation = view.FindReservation(id);
    if (reservation == nullptr || reservation->state() != Row::OPEN ||
        ToUnixMicros(reservation->expires_at()) > now_micros) {
      return;
    }
    ReleaseAs(view, *reservation, v1::ReservationReleased::EXPIRED, &decided);
  };
  for (const auto& [expires, id] : view.base().expiry_index()) {
    if (expires > now_micros || decided.events.size() >= rules.max_events_per_command) break;
    expire_if_due(id);
  }
  // Opened by a group not yet in the state (and its index): due only with a very short TTL.
  for (const std::string& id : view.ReservationsNotInBase()) {
    if (decided.events.size() >= rules.max_events_per_command) break;
    expire_if_due(id);
  }
  return decided;
}

}  // namespace callbackledger
