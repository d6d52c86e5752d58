#include "ledger/views.h"

#include <string>

#include "ledger/money.h"
#include "projections/projector.h"

namespace callbackledger {

v1::CallerId CallerIdView(const CallerIdState& c, int decimals) {
  v1::CallerId view;
  view.set_status(c.status);
  view.set_callback_number(c.callback_number.str());
  view.set_pin_set(c.pin_set());
  view.set_unlimited(c.unlimited);
  if (!c.unlimited) {
    view.set_total_credit(FormatMoney(c.total_credit_micros, decimals));
    view.set_available_credit(FormatMoney(c.available_micros(), decimals));
    view.set_credit_left(FormatMoney(c.credit_left_micros, decimals));
  }
  view.set_held_credit(FormatMoney(c.held_micros, decimals));
  *view.mutable_created_at() = FromUnixMicros(c.created_at_micros);
  *view.mutable_updated_at() = FromUnixMicros(c.updated_at_micros);
  view.set_order_no(c.order_no.str());
  view.set_id(c.id);
  view.set_extension(c.extension.str());
  view.set_pin_locked(c.pin_locked);
  view.set_open_reservations(c.open_reservations);
  return view;
}

v1::CallerId AddedCallerIdView(const v1::Event& event, int decimals) {
  const v1::CallerIdAdded& added = event.caller_id_added();
  CallerIdState c;
  c.id = added.callerid_id();
  c.extension = added.extension();
  c.callback_number = added.callback_number();
  c.status = added.status();
  c.pin_hash = added.pin().hash();
  c.unlimited = added.unlimited();
  c.total_credit_micros = added.initial_credit_micros();
  c.credit_left_micros = added.initial_credit_micros();
  c.created_at_micros = ToUnixMicros(event.time());
  c.updated_at_micros = c.created_at_micros;
  c.order_no = added.order_no();
  return CallerIdView(c, decimals);
}

v1::Recharge RechargeView(const store::v1::RechargeRow& row, int decimals) {
  v1::Recharge view;
  view.set_id(row.sequence());
  view.set_callerid_id(row.callerid_id());
  view.set_amount(row.amount_unlimited() ? "unlimited"
                                         : FormatMoney(row.amount_micros(), decimals));
  view.set_unlimited(row.unlimited());
  if (!row.unlimited()) {
    view.set_credit_left(FormatMoney(row.credit_left_micros(), decimals));
    view.set_total_credit(FormatMoney(row.total_credit_micros(), decimals));
    view.set_available_credit(FormatMoney(row.available_micros(), decimals));
  }
  view.set_order_no(row.order_no());
  view.set_description(row.description());
  *view.mutable_created_at() = row.time();
  view.set_actor(row.actor());
  view.set_request_id(row.request_id());
  return view;
}

v1::Recharge CreditAddedView(const v1::Event& event, int decimals) {
  const v1::CreditAdded& credit = event.credit_added();
  store::v1::RechargeRow row;
  row.set_sequence(event.sequence());
  row.set_callerid_id(credit.callerid_id());
  row.set_amount_micros(credit.amount_micros());
  row.set_unlimited(credit.unlimited());
  row.set_total_credit_micros(credit.total_credit_micros());
  row.set_credit_left_micros(credit.credit_left_micros());
  row.set_available_micros(credit.available_after_micros());
  row.set_order_no(credit.order_no());
  row.set_description(credit.description());
  *row.mutable_time() = event.time();
  row.set_actor(event.actor());
  row.set_request_id(event.request_id());
  return RechargeView(row, decimals);
}

v1::ExtensionPolicy ExtensionPolicyView(const std::string& extension, const ExtensionState& e,
                                        int decimals) {
  v1::ExtensionPolicy view;
  view.set_extension(extension);
  view.set_max_active_callerids(e.max_active_callerids);
  view.set_min_credit_to_call(FormatMoney(e.min_credit_to_call_micros, decimals));
  view.set_active_callerids(e.active_callerids);
  view.set_total_callerids(e.total_callerids);
  return view;
}

v1::Event PublicEvent(v1::Event event) {
  event.clear_request_fingerprint();
  if (event.has_caller_id_added() && event.caller_id_added().has_pin()) {
    event.mutable_caller_id_added()->mutable_pin()->Clear();
  }
  if (event.has_caller_id_updated() && event.caller_id_updated().has_pin()) {
    event.mutable_caller_id_updated()->mutable_pin()->Clear();
  }
  return event;
}

}  // namespace callbackledger
