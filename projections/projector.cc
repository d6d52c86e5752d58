#include "projections/projector.h"

#include <string>

#include "projections/check.h"

namespace callbackledger {
namespace {

void AdjustActive(View* view, const std::string& extension, int delta) {
  ExtensionState ext = view->GetExtension(extension);
  MetaState& meta = view->mutable_meta();
  LEDGER_CHECK(delta >= 0 || (ext.active_callerids > 0 && meta.active_callerids > 0));
  ext.active_callerids += delta;
  meta.active_callerids += delta;
  view->PutExtension(extension, ext);
}

store::v1::RechargeRow RechargeRowFor(const v1::Event& event, const CallerIdState& after) {
  store::v1::RechargeRow row;
  row.set_sequence(event.sequence());
  row.set_callerid_id(after.id);
  row.set_unlimited(after.unlimited);
  row.set_total_credit_micros(after.total_credit_micros);
  row.set_credit_left_micros(after.credit_left_micros);
  row.set_available_micros(after.available_micros());
  *row.mutable_time() = event.time();
  row.set_actor(event.actor());
  row.set_request_id(event.request_id());
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
    store::v1::RechargeRow row = RechargeRowFor(event, callerid);
    row.set_amount_micros(callerid.total_credit_micros);
    row.set_amount_unlimited(callerid.unlimited);
    row.set_order_no(callerid.order_no);
    row.set_description("initial credit");
    view->appended().recharges.push_back(std::move(row));
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
  }
  callerid.updated_at_micros = ToUnixMicros(event.time());
  store::v1::RechargeRow row = RechargeRowFor(event, callerid);
  row.set_amount_micros(credit.amount_micros());
  row.set_order_no(credit.order_no());
  row.set_description(credit.description());
  view->appended().recharges.push_back(std::move(row));
  view->PutCallerId(std::move(callerid));
}

void ApplyPolicy(const v1::ExtensionPolicySet& policy, View* view) {
  LEDGER_CHECK(policy.min_credit_to_call_micros() >= 0);
  ExtensionState ext = view->GetExtension(policy.extension());
  ext.max_active_callerids = policy.max_active_callerids();
  ext.min_credit_to_call_micros = policy.min_credit_to_call_micros();
  view->PutExtension(policy.extension(), ext);
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
    default:
      LEDGER_CHECK(event.request_id().empty());
      return std::string();
  }
}

int64_t ToUnixMicros(const google::protobuf::Timestamp& timestamp) {
  return timestamp.seconds() * 1000000 + timestamp.nanos() / 1000;
}

google::protobuf::Timestamp FromUnixMicros(int64_t micros) {
  google::protobuf::Timestamp timestamp;
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    seconds -= 1;
  }
  timestamp.set_seconds(seconds);
  timestamp.set_nanos(static_cast<int32_t>(rest * 1000));
  return timestamp;
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
    case v1::Event::BODY_NOT_SET:
      LEDGER_CHECK(event.body_case() != v1::Event::BODY_NOT_SET);
      break;
  }
  if (!event.request_id().empty()) {
    // The idempotency key remembers which event answered the request first.
    store::v1::IdempotencyRow row;
    row.set_fingerprint(event.request_fingerprint());
    row.set_sequence(event.sequence());
    view->PutIdempotency(IdempotencyKeyFor(event), std::move(row));
  }
}

}  // namespace callbackledger
