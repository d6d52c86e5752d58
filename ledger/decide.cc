#include "ledger/decide.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/money.h"
#include "projections/projector.h"

namespace callbackledger {
namespace {

using Status = absl::Status;

Status NotFoundCallerId(uint64_t id) {
  return absl::NotFoundError(absl::StrCat("callerid_id ", id, ": no such CallerID"));
}

// Enabling one more CallerID in `extension` must stay within the license and the
// extension's own limit.
Status CheckCanEnable(const View& view, const std::string& extension, const LedgerRules& rules) {
  if (view.meta().active_callerids >= rules.license_max_active_callerids) {
    return absl::ResourceExhaustedError(
        absl::StrCat("license limit reached: ", view.meta().active_callerids, " of ",
                     rules.license_max_active_callerids,
                     " active CallerIDs; disable or remove one, or add this one disabled"));
  }
  ExtensionState ext = view.GetExtension(extension);
  if (ext.max_active_callerids > 0 && ext.active_callerids >= ext.max_active_callerids) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "extension ", extension, " limit reached: ", ext.active_callerids, " of ",
        ext.max_active_callerids, " active CallerIDs (its policy's max_active_callerids)"));
  }
  return absl::OkStatus();
}

Status CheckNumberFree(const View& view, const std::string& extension, const std::string& number) {
  if (view.FindNumber(extension, number).has_value()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "callback_number ", number, " is already authorized in extension ", extension));
  }
  return absl::OkStatus();
}

absl::StatusOr<Decided> DecideAdd(const View& view, const AddCallerIdCommand& add,
                                  const LedgerRules& rules) {
  if (Status s = CheckNumberFree(view, add.extension, add.callback_number); !s.ok()) return s;
  if (add.status == v1::CallerId::ENABLED) {
    if (Status s = CheckCanEnable(view, add.extension, rules); !s.ok()) return s;
  }
  Decided decided;
  v1::CallerIdAdded* added = decided.add_event()->mutable_caller_id_added();
  added->set_callerid_id(view.meta().last_callerid_id + 1);
  added->set_extension(add.extension);
  added->set_callback_number(add.callback_number);
  added->set_status(add.status);
  if (add.pin.has_value()) *added->mutable_pin() = *add.pin;
  added->set_unlimited(add.unlimited);
  added->set_initial_credit_micros(add.initial_credit_micros);
  added->set_order_no(add.order_no);
  return decided;
}

absl::StatusOr<Decided> DecideUpdate(const View& view, const UpdateCallerIdCommand& update,
                                     const LedgerRules& rules) {
  const CallerIdState* callerid = view.FindCallerId(update.callerid_id);
  if (callerid == nullptr) return NotFoundCallerId(update.callerid_id);
  Decided decided;
  v1::CallerIdUpdated* updated = decided.add_event()->mutable_caller_id_updated();
  updated->set_callerid_id(callerid->id);
  if (update.callback_number.has_value() && *update.callback_number != callerid->callback_number) {
    if (Status s = CheckNumberFree(view, callerid->extension.str(), *update.callback_number);
        !s.ok()) {
      return s;
    }
    updated->set_callback_number(*update.callback_number);
  }
  if (update.pin.has_value()) *updated->mutable_pin() = *update.pin;
  if (update.remove_pin) updated->set_pin_removed(true);
  if (update.status.has_value() && *update.status != callerid->status) {
    if (*update.status == v1::CallerId::ENABLED) {
      if (Status s = CheckCanEnable(view, callerid->extension.str(), rules); !s.ok()) return s;
    }
    updated->set_status(*update.status);
  }
  if (update.order_no.has_value()) updated->set_order_no(*update.order_no);
  if (update.reset_pin_lock) updated->set_pin_lock_reset(true);
  return decided;
}

absl::StatusOr<Decided> DecideRemove(const View& view, const RemoveCallerIdsCommand& remove) {
  Decided decided;
  v1::CallerIdsRemoved* removed = decided.add_event()->mutable_caller_ids_removed();
  for (uint64_t id : remove.callerid_ids) {
    const CallerIdState* callerid = view.FindCallerId(id);
    if (callerid == nullptr) return NotFoundCallerId(id);
    if (callerid->open_reservations > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("callerid_id ", id, " (", callerid->callback_number.str(), ") has ",
                       callerid->open_reservations,
                       " open reservation(s): it can be removed once its calls end"));
    }
    removed->add_callerid_ids(id);
  }
  return decided;
}

absl::StatusOr<Decided> DecideCredit(const View& view, const AddCreditCommand& credit,
                                     const LedgerRules& rules) {
  uint64_t id = credit.callerid_id;
  if (id == 0) {
    std::optional<uint64_t> found = view.FindNumber(credit.extension, credit.callback_number);
    if (!found.has_value()) {
      return absl::NotFoundError(absl::StrCat("callback_number ", credit.callback_number,
                                              " is not a CallerID of extension ",
                                              credit.extension));
    }
    id = *found;
  }
  const CallerIdState* callerid = view.FindCallerId(id);
  if (callerid == nullptr) return NotFoundCallerId(id);
  if (credit.callerid_id != 0 &&
      ((!credit.extension.empty() && credit.extension != callerid->extension) ||
       (!credit.callback_number.empty() && credit.callback_number != callerid->callback_number))) {
    return absl::InvalidArgumentError(
        absl::StrCat("callerid_id ", id, " is ", callerid->callback_number.str(), " in extension ",
                     callerid->extension.str(), ", not the extension and callback_number given"));
  }

  Decided decided;
  v1::CreditAdded* added = decided.add_event()->mutable_credit_added();
  added->set_callerid_id(id);
  added->set_amount_micros(credit.amount_micros);
  added->set_order_no(credit.order_no);
  added->set_description(credit.description);
  if (callerid->unlimited) {
    // Positive: stays unlimited. Negative: limited from now on, with nothing left.
    added->set_unlimited(credit.amount_micros > 0);
    return decided;
  }
  std::optional<int64_t> total = CheckedAdd(callerid->total_credit_micros, credit.amount_micros);
  std::optional<int64_t> left = CheckedAdd(callerid->credit_left_micros, credit.amount_micros);
  if (!total.has_value() || !left.has_value()) {
    return absl::FailedPreconditionError(
        "amount: the credit would exceed the largest amount the ledger can hold");
  }
  if (*left - callerid->held_micros < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("amount: ", FormatMoney(credit.amount_micros, rules.decimals),
                     " would take the credit below zero: available credit is ",
                     FormatMoney(callerid->available_micros(), rules.decimals)));
  }
  added->set_total_credit_micros(*total);
  added->set_credit_left_micros(*left);
  added->set_available_after_micros(*left - callerid->held_micros);
  return decided;
}

absl::StatusOr<Decided> DecidePolicy(const SetExtensionPolicyCommand& policy) {
  Decided decided;
  v1::ExtensionPolicySet* set = decided.add_event()->mutable_extension_policy_set();
  set->set_extension(policy.extension);
  set->set_max_active_callerids(policy.max_active_callerids);
  set->set_min_credit_to_call_micros(policy.min_credit_to_call_micros);
  return decided;
}

}  // namespace

absl::StatusOr<Decided> Decide(const View& view, const Command& command, const LedgerRules& rules,
                               int64_t now_micros) {
  if (absl::Status bound = CheckNodeBinding(view, command.body); !bound.ok()) return bound;
  if (!command.request_id.empty()) {
    const IdempotencyEntry* seen =
        view.FindIdempotency(IdempotencyKey(CommandRpcName(command.body), command.request_id));
    if (seen != nullptr) {
      if (seen->fingerprint() != command.fingerprint) {
        return absl::AlreadyExistsError(absl::StrCat("request_id ", command.request_id,
                                                     " was already used with other arguments"));
      }
      Decided decided;
      decided.replay_sequence = seen->sequence();
      return decided;
    }
  }
  struct Visitor {
    const View& view;
    const Command& command;
    const LedgerRules& rules;
    int64_t now;
    absl::StatusOr<Decided> operator()(const PinAttemptCommand& c) {
      return DecidePinAttempt(view, c, rules);
    }
    absl::StatusOr<Decided> operator()(const ReserveCommand& c) {
      return DecideReserve(view, c, rules, now);
    }
    absl::StatusOr<Decided> operator()(const ExtendCommand& c) {
      return DecideExtend(view, c, command, now);
    }
    absl::StatusOr<Decided> operator()(const SettleCommand& c) {
      return DecideSettle(view, c, now);
    }
    absl::StatusOr<Decided> operator()(const ReleaseCommand& c) { return DecideRelease(view, c); }
    absl::StatusOr<Decided> operator()(const SyncReservationsCommand& c) {
      return DecideSync(view, c, rules);
    }
    absl::StatusOr<Decided> operator()(const ExpireCommand&) {
      return DecideExpire(view, rules, now);
    }
    absl::StatusOr<Decided> operator()(const AddCallerIdCommand& c) {
      return DecideAdd(view, c, rules);
    }
    absl::StatusOr<Decided> operator()(const UpdateCallerIdCommand& c) {
      return DecideUpdate(view, c, rules);
    }
    absl::StatusOr<Decided> operator()(const RemoveCallerIdsCommand& c) {
      return DecideRemove(view, c);
    }
    absl::StatusOr<Decided> operator()(const AddCreditCommand& c) {
      return DecideCredit(view, c, rules);
    }
    absl::StatusOr<Decided> operator()(const SetExtensionPolicyCommand& c) {
      return DecidePolicy(c);
    }
  };
  return std::visit(Visitor{view, command, rules, now_micros}, command.body);
}

const char* CommandRpcName(const CommandBody& body) {
  struct Visitor {
    const char* operator()(const AddCallerIdCommand&) { return "AddCallerId"; }
    const char* operator()(const UpdateCallerIdCommand&) { return "UpdateCallerId"; }
    const char* operator()(const RemoveCallerIdsCommand&) { return "RemoveCallerIds"; }
    const char* operator()(const AddCreditCommand&) { return "AddCredit"; }
    const char* operator()(const SetExtensionPolicyCommand&) { return "SetExtensionPolicy"; }
    const char* operator()(const PinAttemptCommand&) { return "Authorize"; }
    const char* operator()(const ReserveCommand&) { return "Reserve"; }
    const char* operator()(const ExtendCommand&) { return "Extend"; }
    const char* operator()(const SettleCommand&) { return "Settle"; }
    const char* operator()(const ReleaseCommand&) { return "Release"; }
    const char* operator()(const SyncReservationsCommand&) { return "SyncReservations"; }
    const char* operator()(const ExpireCommand&) { return "Expire"; }
  };
  return std::visit(Visitor{}, body);
}

}  // namespace callbackledger
