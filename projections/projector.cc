#include "projections/projector.h"

#include <string>

#include "projections/check.h"

namespace callbackledger {
namespace {

void AdjustActive(View* view, std::string_view extension, int delta) {
  ExtensionState ext = view->GetExtension(extension);
  MetaState& meta = view->mutable_meta();
  LEDGER_CHECK(delta >= 0 || (ext.active_callerids > 0 && meta.active_callerids > 0));
  ext.active_callerids += delta;
  meta.active_callerids += delta;
  view->PutExtension(extension, ext);
}

// A recharge row appended to the view's rows, with what every recharge records.
store::v1::RechargeRow* AddRechargeRow(const v1::Event& event, const CallerIdState& after,
                                       View* view) {
  store::v1::RechargeRow* row = view->appended().recharges.Add();
  row->set_sequence(event.sequence());
  row->set_callerid_id(after.id);
  row->set_unlimited(after.unlimited);
  row->set_total_credit_micros(after.total_credit_micros);
  row->set_credit_left_micros(after.credit_left_micros);
  row->set_available_micros(after.available_micros());
  *row->mutable_time() = event.time();
  row->set_actor(event.actor());
  row->set_request_id(event.request_id());
  return row;
}

void ApplyAdded(const v1::Event& event, const v1::CallerIdAdded& added, View* view) {
  MetaState& meta = view->mutable_meta();
  LEDGER_CHECK(added.callerid_id() > meta.last_callerid_id);
  LEDGER_CHECK(view->FindCallerId(added.callerid_id()) == nullptr);
  LEDGER_CHECK(!view->FindNumber(added.extension(), added.callback_number()).has_value());
  LEDGER_CHECK(added.initial_credit_micros() >= 0);
  LEDGER_CHECK(!added.unlimited() || added.initial_credit_micros() == 0);
  meta.last_callerid_id = added.callerid_id();
  meta.total_callerids += 1;

  CallerIdState callerid;
  callerid.id = added.callerid_id();
  callerid.extension = added.extension();
  callerid.callback_number = added.callback_number();
  callerid.status = added.status();
  callerid.pin_salt = added.pin().salt();
  callerid.pin_hash = added.pin().hash();
  callerid.unlimited = added.unlimited();
  callerid.total_credit_micros = added.initial_credit_micros();
  callerid.credit_left_micros = added.initial_credit_micros();
  callerid.created_at_micros = ToUnixMicros(event.time());
  callerid.updated_at_micros = callerid.created_at_micros;
  callerid.order_no = added.order_no();

  ExtensionState ext = view->GetExtension(callerid.extension);
  ext.total_callerids += 1;
  view->PutExtension(callerid.extension, ext);
  if (callerid.enabled()) AdjustActive(view, callerid.extension, +1);
  view->PutNumber(callerid.extension, callerid.callback_number, callerid.id);

  if (callerid.unlimited || callerid.total_credit_micros != 0) {
    store::v1::RechargeRow* row = AddRechargeRow(event, callerid, view);
    row->set_amount_micros(callerid.total_credit_micros);
    row->set_amount_unlimited(callerid.unlimited);
    row->set_order_no(callerid.order_no.str());
    row->set_description("initial credit");
  }
  view->PutCallerId(std::move(callerid));
}

void ApplyUpdated(const v1::Event& event, const v1::CallerIdUpdated& updated, View* view) {
  const CallerIdState* found = view->FindCallerId(updated.callerid_id());
  LEDGER_CHECK(found != nullptr);
  CallerIdState callerid = *found;
  if (updated.has_callback_number() && updated.callback_number() != callerid.callback_number) {
    LEDGER_CHECK(!view->FindNumber(callerid.extension, updated.callback_number()).has_value());
    view->EraseNumber(callerid.extension, callerid.callback_number);
    callerid.callback_number = updated.callback_number();
    view->PutNumber(callerid.extension, callerid.callback_number, callerid.id);
  }
  if (updated.has_pin()) {
    LEDGER_CHECK(!updated.pin().hash().empty());
    callerid.pin_salt = updated.pin().salt();
    callerid.pin_hash = updated.pin().hash();
  }
  if (updated.pin_removed()) {
    callerid.pin_salt.clear();
    callerid.pin_hash.clear();
  }
  if (updated.has_pin() || updated.pin_removed() || updated.pin_lock_reset()) {
    callerid.failed_pin_attempts = 0;
    callerid.pin_locked = false;
  }
  if (updated.has_status() && updated.status() != callerid.status) {
    LEDGER_CHECK(updated.status() == v1::CallerId::ENABLED ||
                 updated.status() == v1::CallerId::DISABLED);
    AdjustActive(view, callerid.extension, updated.status() == v1::CallerId::ENABLED ? +1 : -1);
    callerid.status = updated.status();
  }
  if (updated.has_order_no()) callerid.order_no = updated.order_no();
  callerid.updated_at_micros = ToUnixMicros(event.time());
  view->PutCallerId(std::move(callerid));
}

void ApplyRemoved(const v1::CallerIdsRemoved& removed, View* view) {
  for (uint64_t id : removed.callerid_ids()) {
    const CallerIdState* found = view->FindCallerId(id);
    LEDGER_CHECK(found != nullptr);
    LEDGER_CHECK(found->open_reservations == 0 && found->held_micros == 0);
    const CallerIdState callerid = *found;
    if (callerid.enabled()) AdjustActive(view, callerid.extension, -1);
    ExtensionState ext = view->GetExtension(callerid.extension);
    LEDGER_CHECK(ext.total_callerids > 0);
    ext.total_callerids -= 1;
    view->PutExtension(callerid.extension, ext);
    MetaState& meta = view->mutable_meta();
    LEDGER_CHECK(meta.total_callerids > 0);
    meta.total_callerids -= 1;
    view->EraseNumber(callerid.extension, callerid.callback_number);
    view->EraseCallerId(id);
  }
}

void ApplyCredit(const v1::Event& event, const v1::CreditAdded& credit, View* view) {
  const CallerIdState* found = view->FindCallerId(credit.callerid_id());
  LEDGER_CHECK(found != nullptr);
  LEDGER_CHECK(credit.amount_micros() != 0);
  CallerIdState callerid = *found;
  if (callerid.unlimited) {
    if (credit.amount_micros() > 0) {
      // Unlimited stays unlimited under positive recharges.
      LEDGER_CHECK(credit.unlimited());
    } else {
      // A negative recharge turns it into a limited CallerID with nothing left.
      LEDGER_CHECK(!credit.unlimited() && credit.credit_left_micros() == 0 &&
                   credit.total_credit_micros() == 0);
      callerid.unlimited = false;
      callerid.total_credit_micros = 0;
      callerid.credit_left_micros = 0;
    }
  } else {
    LEDGER_CHECK(!credit.unlimited());
    callerid.total_credit_micros += credit.amount_micros();
    callerid.credit_left_micros += credit.amount_micros();
    LEDGER_CHECK(callerid.total_credit_micros == credit.total_credit_micros());
    LEDGER_CHECK(callerid.credit_left_micros == credit.credit_left_micros());
    LEDGER_CHECK(callerid.available_micros() >= 0);
    LEDGER_CHECK(callerid.available_micros() == credit.available_after_micros());
  }
  callerid.updated_at_micros = ToUnixMicros(event.time());
  store::v1::RechargeRow* row = AddRechargeRow(event, callerid, view);
  row->set_amount_micros(credit.amount_micros());
  row->set_order_no(credit.order_no());
  row->set_description(credit.description());
  view->PutCallerId(std::move(callerid));
}

void ApplyPolicy(const v1::ExtensionPolicySet& policy, View* view) {
  LEDGER_CHECK(policy.min_credit_to_call_micros() >= 0);
  ExtensionState ext = view->GetExtension(policy.extension());
  ext.max_active_callerids = policy.max_active_callerids();
  ext.min_credit_to_call_micros = policy.min_credit_to_call_micros();
  view->PutExtension(policy.extension(), ext);
}

using Row = store::v1::ReservationRow;

void ApplyPinFailed(const v1::PinFailed& failed, View* view) {
  const CallerIdState* found = view->FindCallerId(failed.callerid_id());
  LEDGER_CHECK(found != nullptr);
  LEDGER_CHECK(failed.failed_attempts() == found->failed_pin_attempts + 1);
  CallerIdState callerid = *found;
  callerid.failed_pin_attempts = failed.failed_attempts();
  callerid.pin_locked = failed.locked();
  view->PutCallerId(std::move(callerid));
}

void ApplyPinAccepted(const v1::PinAccepted& accepted, View* view) {
  const CallerIdState* found = view->FindCallerId(accepted.callerid_id());
  LEDGER_CHECK(found != nullptr && !found->pin_locked);
  CallerIdState callerid = *found;
  callerid.failed_pin_attempts = 0;
  view->PutCallerId(std::move(callerid));
}

void ApplyOpened(const v1::Event& event, const v1::ReservationOpened& opened, View* view) {
  LEDGER_CHECK(view->FindReservation(opened.reservation_id()) == nullptr);
  const CallerIdState* found = view->FindCallerId(opened.callerid_id());
  LEDGER_CHECK(found != nullptr);
  LEDGER_CHECK(opened.granted_micros() >= 0);
  CallerIdState callerid = *found;
  callerid.open_reservations += 1;
  if (opened.counted()) {
    LEDGER_CHECK(!callerid.unlimited);
    callerid.held_micros += opened.granted_micros();
    LEDGER_CHECK(callerid.available_micros() >= 0);
    LEDGER_CHECK(callerid.available_micros() == opened.available_after_micros());
  }
  Row reservation;
  reservation.set_reservation_id(opened.reservation_id());
  reservation.set_callerid_id(callerid.id);
  reservation.set_state(Row::OPEN);
  reservation.set_node_id(opened.node_id());
  reservation.set_call_id(opened.call_id());
  reservation.set_destination(opened.destination());
  if (opened.has_rate()) {
    *reservation.mutable_rate() = opened.rate();
  }
  reservation.set_held_micros(opened.granted_micros());
  reservation.set_counted(opened.counted());
  reservation.set_counted_micros(opened.counted() ? opened.granted_micros() : 0);
  *reservation.mutable_created_at() = event.time();
  *reservation.mutable_expires_at() = opened.expires_at();
  reservation.set_reserve_fingerprint(opened.fingerprint());
  reservation.set_opened_sequence(event.sequence());
  reservation.set_extension(callerid.extension.str());
  reservation.set_callback_number(callerid.callback_number.str());
  reservation.set_ttl_seconds(opened.ttl_seconds());
  view->PutReservation(std::move(reservation));
  view->PutCallerId(std::move(callerid));
}

void ApplyExtended(const v1::Event& event, const v1::ReservationExtended& extended, View* view) {
  const Row* found = view->FindReservation(extended.reservation_id());
  LEDGER_CHECK(found != nullptr && found->state() == Row::OPEN);
  LEDGER_CHECK(extended.granted_micros() >= 0);
  Row reservation = *found;
  const CallerIdState* owner = view->FindCallerId(reservation.callerid_id());
  LEDGER_CHECK(owner != nullptr);
  if (extended.counted()) {
    CallerIdState callerid = *owner;
    LEDGER_CHECK(!callerid.unlimited);
    callerid.held_micros += extended.granted_micros();
    LEDGER_CHECK(callerid.available_micros() >= 0);
    view->PutCallerId(std::move(callerid));
    reservation.set_counted_micros(reservation.counted_micros() + extended.granted_micros());
  }
  reservation.set_held_micros(reservation.held_micros() + extended.granted_micros());
  LEDGER_CHECK(reservation.held_micros() == extended.held_after_micros());
  *reservation.mutable_expires_at() = extended.expires_at();
  reservation.set_last_extend_sequence(event.sequence());
  reservation.set_last_extend_fingerprint(extended.fingerprint());
  view->PutReservation(std::move(reservation));
}

// Gives a reservation's hold back to its CallerID.
void ReturnHold(const Row& reservation, View* view) {
  const CallerIdState* found = view->FindCallerId(reservation.callerid_id());
  LEDGER_CHECK(found != nullptr);
  CallerIdState callerid = *found;
  LEDGER_CHECK(callerid.open_reservations > 0);
  callerid.open_reservations -= 1;
  callerid.held_micros -= reservation.counted_micros();
  LEDGER_CHECK(callerid.held_micros >= 0);
  view->PutCallerId(std::move(callerid));
}

void ApplySettled(const v1::Event& event, const v1::ReservationSettled& settled, View* view) {
  const Row* found = view->FindReservation(settled.reservation_id());
  LEDGER_CHECK(found != nullptr && found->state() != Row::SETTLED &&
               found->state() != Row::RELEASED);
  LEDGER_CHECK(settled.cost_micros() >= 0 && settled.uncollected_micros() >= 0);
  Row reservation = *found;
  bool open = reservation.state() == Row::OPEN;
  LEDGER_CHECK(settled.released_micros() == (open ? reservation.counted_micros() : 0));
  if (open) ReturnHold(reservation, view);
  CallerIdState callerid = *view->FindCallerId(reservation.callerid_id());
  if (!callerid.unlimited) {
    callerid.credit_left_micros -= settled.cost_micros();
    LEDGER_CHECK(callerid.credit_left_micros == settled.credit_left_after_micros());
    LEDGER_CHECK(callerid.available_micros() >= 0);
  }
  view->PutCallerId(callerid);
  reservation.set_state(Row::SETTLED);
  reservation.set_held_micros(0);
  reservation.set_counted_micros(0);
  reservation.set_closed_sequence(event.sequence());
  reservation.set_closed_fingerprint(settled.fingerprint());

  store::v1::CallRow& call = *view->appended().calls.Add();
  call.set_sequence(event.sequence());
  call.set_reservation_id(reservation.reservation_id());
  call.set_callerid_id(callerid.id);
  call.set_extension(reservation.extension());
  call.set_callback_number(reservation.callback_number());
  call.set_destination(settled.destination());
  *call.mutable_started_at() = settled.started_at();
  call.set_duration_seconds(settled.duration_seconds());
  call.set_cost_micros(settled.cost_micros());
  call.set_uncollected_micros(settled.uncollected_micros());
  call.set_node_id(reservation.node_id());
  call.set_call_id(reservation.call_id());
  call.set_late(settled.late());
  view->PutReservation(std::move(reservation));
}

void ApplyReleased(const v1::Event& event, const v1::ReservationReleased& released, View* view) {
  const Row* found = view->FindReservation(released.reservation_id());
  LEDGER_CHECK(found != nullptr && found->state() == Row::OPEN);
  Row reservation = *found;
  LEDGER_CHECK(released.released_micros() == reservation.held_micros());
  ReturnHold(reservation, view);
  switch (released.reason()) {
    case v1::ReservationReleased::RELEASED:
      reservation.set_state(Row::RELEASED);
      reservation.set_closed_fingerprint(released.fingerprint());
      break;
    case v1::ReservationReleased::ORPHANED:
      reservation.set_state(Row::ORPHANED);
      break;
    case v1::ReservationReleased::EXPIRED:
      reservation.set_state(Row::EXPIRED);
      break;
    default:
      LEDGER_CHECK(false && "a release needs a reason");
  }
  reservation.set_held_micros(0);
  reservation.set_counted_micros(0);
  reservation.set_closed_sequence(event.sequence());
  view->PutReservation(std::move(reservation));
}

}  // namespace

std::string IdempotencyKey(std::string_view rpc, std::string_view request_id) {
  std::string key(rpc);
  key.push_back('/');
  key.append(request_id);
  return key;
}

std::string IdempotencyKeyFor(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kCallerIdAdded:
      return IdempotencyKey("AddCallerId", event.request_id());
    case v1::Event::kCreditAdded:
      return IdempotencyKey("AddCredit", event.request_id());
    case v1::Event::kReservationExtended:
      return IdempotencyKey("Extend", event.request_id());
    default:
      LEDGER_CHECK(event.request_id().empty());
      return std::string();
  }
}

void ApplyEvent(const v1::Event& event, View* view) {
  LEDGER_CHECK(event.sequence() == view->meta().last_sequence + 1);
  view->mutable_meta().last_sequence = event.sequence();
  switch (event.body_case()) {
    case v1::Event::kCallerIdAdded:
      ApplyAdded(event, event.caller_id_added(), view);
      break;
    case v1::Event::kCallerIdUpdated:
      ApplyUpdated(event, event.caller_id_updated(), view);
      break;
    case v1::Event::kCallerIdsRemoved:
      ApplyRemoved(event.caller_ids_removed(), view);
      break;
    case v1::Event::kCreditAdded:
      ApplyCredit(event, event.credit_added(), view);
      break;
    case v1::Event::kExtensionPolicySet:
      ApplyPolicy(event.extension_policy_set(), view);
      break;
    case v1::Event::kPinFailed:
      ApplyPinFailed(event.pin_failed(), view);
      break;
    case v1::Event::kPinAccepted:
      ApplyPinAccepted(event.pin_accepted(), view);
      break;
    case v1::Event::kReservationOpened:
      ApplyOpened(event, event.reservation_opened(), view);
      break;
    case v1::Event::kReservationExtended:
      ApplyExtended(event, event.reservation_extended(), view);
      break;
    case v1::Event::kReservationSettled:
      ApplySettled(event, event.reservation_settled(), view);
      break;
    case v1::Event::kReservationReleased:
      ApplyReleased(event, event.reservation_released(), view);
      break;
    case v1::Event::BODY_NOT_SET:
      LEDGER_CHECK(event.body_case() != v1::Event::BODY_NOT_SET);
      break;
  }
  if (!event.request_id().empty()) {
    // The idempotency key remembers which event answered the request first.
    view->PutIdempotency(IdempotencyKeyFor(event),
                         IdempotencyEntry(event.request_fingerprint(), event.sequence()));
  }
}

}  // namespace callbackledger
