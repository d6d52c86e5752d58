// Commands of the ledger: requests that were checked for form and normalized (money
// parsed into micros, PINs hashed), ready for the committer to decide against state.
// No command holds a PIN in clear.
#ifndef CALLBACKLEDGER_LEDGER_COMMANDS_H_
#define CALLBACKLEDGER_LEDGER_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "callbackledger/v1/common.pb.h"
#include "callbackledger/v1/events.pb.h"

namespace callbackledger {

struct AddCallerIdCommand {
  std::string extension;
  std::string callback_number;
  std::optional<v1::PinCredential> pin;
  bool unlimited = false;
  int64_t initial_credit_micros = 0;
  std::string order_no;
  v1::CallerId::Status status = v1::CallerId::ENABLED;
};

struct UpdateCallerIdCommand {
  uint64_t callerid_id = 0;
  std::optional<std::string> callback_number;
  std::optional<v1::PinCredential> pin;  // a new PIN
  bool remove_pin = false;
  std::optional<v1::CallerId::Status> status;
  std::optional<std::string> order_no;
  bool reset_pin_lock = false;
};

struct RemoveCallerIdsCommand {
  std::vector<uint64_t> callerid_ids;  // distinct
};

struct AddCreditCommand {
  uint64_t callerid_id = 0;  // 0: find by extension and number
  std::string extension;
  std::string callback_number;
  int64_t amount_micros = 0;
  std::string order_no;
  std::string description;
};

struct SetExtensionPolicyCommand {
  std::string extension;
  uint32_t max_active_callerids = 0;
  int64_t min_credit_to_call_micros = 0;
};

using CommandBody = std::variant<AddCallerIdCommand, UpdateCallerIdCommand,
                                 RemoveCallerIdsCommand, AddCreditCommand,
                                 SetExtensionPolicyCommand>;

// What the committer answers: the event that recorded the change (a retry of an
// idempotent request gets the first request's event), or why nothing was written.
struct CommandResult {
  absl::Status status;
  v1::Event event;
  bool replayed = false;
};

struct Command {
  CommandBody body;
  std::string actor;
  // Optional idempotency key and the keyed hash of the normalized request.
  std::string request_id;
  std::string fingerprint;
  // Called once, on the committer thread, after the command's group is durable (or
  // failed). Must not block.
  std::function<void(CommandResult)> done;
};

// The RPC name that scopes a command's request_id.
const char* CommandRpcName(const CommandBody& body);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_COMMANDS_H_
