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
#include "absl/time/time.h"
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

// Authorize with a PIN: records a wrong PIN (locking after the configured count) or a
// right one after wrong ones. The PIN was checked against `pin_hash_seen`.
struct PinAttemptCommand {
  uint64_t callerid_id = 0;
  std::string pin_hash_seen;
  bool correct = false;
};

struct ReserveCommand {
  std::string reservation_id;
  std::string extension;
  std::string callback_number;
  int64_t amount_micros = 0;  // 0: priced from rate and seconds
  std::optional<v1::RateMicros> rate;
  uint64_t seconds = 0;
  uint32_t ttl_seconds = 0;
  std::string call_id;
  std::string node_id;
  std::string destination;
  std::string fingerprint;  // of every argument above
};

struct ExtendCommand {
  std::string reservation_id;
  int64_t amount_micros = 0;
  uint64_t seconds = 0;
  uint32_t ttl_seconds = 0;  // 0: the reservation's own
  std::string node_id;
  std::string fingerprint;
};

struct SettleCommand {
  std::string reservation_id;
  std::optional<int64_t> cost_micros;  // else priced from duration at the reservation's rate
  uint64_t duration_seconds = 0;
  std::string node_id;
  std::string destination;
  int64_t started_at_micros = 0;  // 0: when the reservation opened
  std::string fingerprint;
};

struct ReleaseCommand {
  std::string reservation_id;
  std::string node_id;
  std::string fingerprint;
};

struct SyncReservationsCommand {
  std::string node_id;
  std::vector<std::string> keep;  // sorted
};

// Releases the open reservations past their expiry.
struct ExpireCommand {};

using CommandBody = std::variant<AddCallerIdCommand, UpdateCallerIdCommand, RemoveCallerIdsCommand,
                                 AddCreditCommand, SetExtensionPolicyCommand, PinAttemptCommand,
                                 ReserveCommand, ExtendCommand, SettleCommand, ReleaseCommand,
                                 SyncReservationsCommand, ExpireCommand>;

// What the committer answers: the events that recorded the change (a retry of an
// idempotent request gets the first request's event), a decision that wrote nothing
// (a denial is a normal answer), or why nothing was written.
struct CommandResult {
  absl::Status status;
  std::vector<v1::Event> events;
  bool replayed = false;
  v1::Decision denial = v1::DECISION_UNSPECIFIED;

  // The first event; an empty one when nothing was written.
  const v1::Event& event() const {
    static const v1::Event* const kEmpty = new v1::Event();
    return events.empty() ? *kEmpty : events.front();
  }
};

struct Command {
  CommandBody body;
  std::string actor;
  // Optional idempotency key and the keyed hash of the normalized request.
  std::string request_id;
  std::string fingerprint;
  // When the caller stops waiting for the answer. A command still queued then is answered
  // DEADLINE_EXCEEDED without being decided: a write nobody waits for is never applied.
  absl::Time deadline = absl::InfiniteFuture();
  // Called once, on one of the committer's threads, after the command's group is durable (or
  // failed). Must not block.
  std::function<void(CommandResult)> done;
};

// The RPC name that scopes a command's request_id.
const char* CommandRpcName(const CommandBody& body);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_COMMANDS_H_
