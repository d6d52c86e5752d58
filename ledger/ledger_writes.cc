// The write side of Ledger: requests checked for form and turned into commands.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/ledger.h"
#include "ledger/money.h"
#include "ledger/validate.h"
#include "ledger/views.h"

namespace callbackledger {
namespace {

constexpr size_t kMaxRemoveBatch = 1000;

using Status = absl::Status;

absl::StatusOr<v1::CallerId::Status> CheckStatus(v1::CallerId::Status status, bool allow_unset) {
  if (status == v1::CallerId::ENABLED || status == v1::CallerId::DISABLED) return status;
  if (status == v1::CallerId::STATUS_UNSPECIFIED && allow_unset) return v1::CallerId::ENABLED;
  return absl::InvalidArgumentError(
      absl::StrCat("status: must be ENABLED or DISABLED, not ", static_cast<int>(status)));
}

Status CheckId(uint64_t id, uint64_t alias, uint64_t* out) {
  if (id != 0 && alias != 0 && id != alias) {
    return absl::InvalidArgumentError(
        absl::StrCat("callerid_id ", id, " and id ", alias, " name different CallerIDs"));
  }
  *out = id != 0 ? id : alias;
  if (*out == 0) return absl::InvalidArgumentError("callerid_id: required");
  return absl::OkStatus();
}

v1::PinCredential MakePin(const Secrets& secrets, const std::string& pin) {
  v1::PinCredential credential;
  std::string salt = Secrets::NewSalt();
  credential.set_hash(secrets.HashPin(salt, pin));
  credential.set_salt(std::move(salt));
  return credential;
}

template <typename Reply>
void Fail(const Done<Reply>& done, Status status) {
  done(std::move(status));
}

}  // namespace

void Ledger::AddCallerId(const v1::AddCallerIdRequest& request, const Origin& origin,
                         Done<v1::CallerId> done) {
  AddCallerIdCommand add;
  Status s = ValidateExtension(request.extension());
  if (s.ok()) s = ValidateCallbackNumber("callback_number", request.callback_number());
  if (s.ok() && !request.pin().empty()) s = ValidatePin(request.pin());
  if (s.ok()) s = ValidateText("order_no", request.order_no(), kMaxOrderNoLength);
  if (s.ok()) s = ValidateRequestId(request.request_id());
  if (s.ok() && request.unlimited() && !request.initial_credit().empty()) {
    s = absl::InvalidArgumentError("initial_credit: not allowed with unlimited credit");
  }
  if (s.ok() && !request.initial_credit().empty()) {
    absl::StatusOr<int64_t> credit = ParseMoney("initial_credit", request.initial_credit());
    if (!credit.ok()) {
      s = credit.status();
    } else if (*credit < 0) {
      s = absl::InvalidArgumentError(
          absl::StrCat("initial_credit: must not be negative, not ", request.initial_credit()));
    } else {
      add.initial_credit_micros = *credit;
    }
  }
  absl::StatusOr<v1::CallerId::Status> status = CheckStatus(request.status(), true);
  if (s.ok() && !status.ok()) s = status.status();
  if (!s.ok()) return Fail(done, s);

  add.extension = request.extension();
  add.callback_number = request.callback_number();
  if (!request.pin().empty()) add.pin = MakePin(secrets_, request.pin());
  add.unlimited = request.unlimited();
  add.order_no = request.order_no();
  add.status = *status;

  Command command;
  command.request_id = request.request_id();
  if (!command.request_id.empty()) {
    std::string canonical;
    for (const std::string& field :
         {add.extension, add.callback_number, request.pin(), std::string(add.unlimited ? "u" : "l"),
          std::to_string(add.initial_credit_micros), add.order_no,
          std::to_string(static_cast<int>(add.status))}) {
      AppendCanonical(&canonical, field);
    }
    command.fingerprint = secrets_.Fingerprint(canonical);
  }
  command.body = std::move(add);
  int decimals = options_.decimals;
  command.done = [done = std::move(done), decimals](CommandResult result) {
    if (!result.status.ok()) return done(result.status);
    done(AddedCallerIdView(result.event(), decimals));
  };
  Submit(std::move(command), origin);
}

void Ledger::UpdateCallerId(const v1::UpdateCallerIdRequest& request, const Origin& origin,
                            Done<v1::CallerId> done) {
  UpdateCallerIdCommand update;
  Status s = CheckId(request.callerid_id(), request.id(), &update.callerid_id);
  if (s.ok() && request.has_callback_number()) {
    s = ValidateCallbackNumber("callback_number", request.callback_number());
    update.callback_number = request.callback_number();
  }
  if (s.ok() && request.has_pin()) {
    if (request.pin().empty()) {
      update.remove_pin = true;
    } else {
      s = ValidatePin(request.pin());
      if (s.ok()) update.pin = MakePin(secrets_, request.pin());
    }
  }
  if (s.ok() && request.has_status()) {
    absl::StatusOr<v1::CallerId::Status> status = CheckStatus(request.status(), false);
    if (status.ok()) {
      update.status = *status;
    } else {
      s = status.status();
    }
  }
  if (s.ok() && request.has_order_no()) {
    s = ValidateText("order_no", request.order_no(), kMaxOrderNoLength);
    update.order_no = request.order_no();
  }
  update.reset_pin_lock = request.reset_pin_lock();
  if (s.ok() && !request.has_callback_number() && !request.has_pin() && !request.has_status() &&
      !request.has_order_no() && !request.reset_pin_lock()) {
    s = absl::InvalidArgumentError(
        "nothing to change: give callback_number, pin, status, order_no or reset_pin_lock");
  }
  if (!s.ok()) return Fail(done, s);

  uint64_t id = update.callerid_id;
  Command command;
  command.body = std::move(update);
  command.done = [this, id, done = std::move(done)](CommandResult result) {
    if (!result.status.ok()) return done(result.status);
    ReaderMutexLock lock(&state_mu_);
    const CallerIdState* callerid = state_.FindCallerId(id);
    if (callerid == nullptr) return done(absl::NotFoundError("the CallerID was removed"));
    done(CallerIdView(*callerid, options_.decimals));
  };
  Submit(std::move(command), origin);
}

void Ledger::RemoveCallerIds(const v1::RemoveCallerIdsRequest& request, const Origin& origin,
                             Done<v1::RemoveCallerIdsResponse> done) {
  RemoveCallerIdsCommand remove;
  for (const auto* list : {&request.callerid_ids(), &request.ids()}) {
    for (uint64_t id : *list) {
      if (id == 0) return Fail(done, absl::InvalidArgumentError("callerid_ids: 0 is not an id"));
      if (std::find(remove.callerid_ids.begin(), remove.callerid_ids.end(), id) ==
          remove.callerid_ids.end()) {
        // Refused as soon as one id too many is found: the search for repeats costs the ids
        // kept so far, so a request of a million ids costs no more than one of a thousand.
        if (remove.callerid_ids.size() == kMaxRemoveBatch) {
          return Fail(done, absl::InvalidArgumentError(absl::StrCat("callerid_ids: at most ",
                                                                    kMaxRemoveBatch, " at once")));
        }
        remove.callerid_ids.push_back(id);
      }
    }
  }
  if (remove.callerid_ids.empty()) {
    return Fail(done, absl::InvalidArgumentError("callerid_ids: give at least one id"));
  }
  Command command;
  command.body = std::move(remove);
  command.done = [done = std::move(done)](CommandResult result) {
    if (!result.status.ok()) return done(result.status);
    v1::RemoveCallerIdsResponse response;
    for (uint64_t id : result.event().caller_ids_removed().callerid_ids()) {
      response.add_removed_ids(id);
    }
    done(std::move(response));
  };
  Submit(std::move(command), origin);
}

void Ledger::SetExtensionPolicy(const v1::SetExtensionPolicyRequest& request, const Origin& origin,
                                Done<v1::ExtensionPolicy> done) {
  SetExtensionPolicyCommand policy;
  Status s = ValidateExtension(request.extension());
  if (s.ok() && !request.min_credit_to_call().empty()) {
    absl::StatusOr<int64_t> min = ParseMoney("min_credit_to_call", request.min_credit_to_call());
    if (!min.ok()) {
      s = min.status();
    } else if (*min < 0) {
      s = absl::InvalidArgumentError("min_credit_to_call: must not be negative");
    } else {
      policy.min_credit_to_call_micros = *min;
    }
  }
  if (!s.ok()) return Fail(done, s);
  policy.extension = request.extension();
  policy.max_active_callerids = request.max_active_callerids();
  Command command;
  command.body = std::move(policy);
  command.done = [this, extension = request.extension(),
                  done = std::move(done)](CommandResult result) {
    if (!result.status.ok()) return done(result.status);
    ReaderMutexLock lock(&state_mu_);
    const ExtensionState* found = state_.FindExtension(extension);
    done(ExtensionPolicyView(extension, found ? *found : ExtensionState{}, options_.decimals));
  };
  Submit(std::move(command), origin);
}

void Ledger::AddCredit(const v1::AddCreditRequest& request, const Origin& origin,
                       Done<v1::Recharge> done) {
  AddCreditCommand credit;
  Status s;
  if (request.callerid_id() == 0) {
    if (request.extension().empty() && request.callback_number().empty()) {
      s = absl::InvalidArgumentError(
          "callerid_id: required (or extension and callback_number together)");
    }
    if (s.ok()) s = ValidateExtension(request.extension());
    if (s.ok()) s = ValidateCallbackNumber("callback_number", request.callback_number());
  }
  if (s.ok() && request.amount().empty()) s = absl::InvalidArgumentError("amount: required");
  if (s.ok()) {
    absl::StatusOr<int64_t> amount = ParseMoney("amount", request.amount());
    if (!amount.ok()) {
      s = amount.status();
    } else if (*amount == 0) {
      s = absl::InvalidArgumentError("amount: must not be zero");
    } else {
      credit.amount_micros = *amount;
    }
  }
  if (s.ok()) s = ValidateText("order_no", request.order_no(), kMaxOrderNoLength);
  if (s.ok()) s = ValidateText("description", request.description(), kMaxDescriptionLength);
  if (s.ok()) s = ValidateRequestId(request.request_id());
  if (!s.ok()) return Fail(done, s);

  credit.callerid_id = request.callerid_id();
  credit.extension = request.extension();
  credit.callback_number = request.callback_number();
  credit.order_no = request.order_no();
  credit.description = request.description();
  Command command;
  command.request_id = request.request_id();
  if (!command.request_id.empty()) {
    std::string canonical;
    for (const std::string& field :
         {std::to_string(credit.callerid_id), credit.extension, credit.callback_number,
          std::to_string(credit.amount_micros), credit.order_no, credit.description}) {
      AppendCanonical(&canonical, field);
    }
    command.fingerprint = secrets_.Fingerprint(canonical);
  }
  command.body = std::move(credit);
  command.done = [this, done = std::move(done)](CommandResult result) {
    if (!result.status.ok()) return done(result.status);
    done(CreditAddedView(result.event(), options_.decimals));
  };
  Submit(std::move(command), origin);
}

}  // namespace callbackledger
