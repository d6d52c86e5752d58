// The state machine: decides a command against the current state, purely. The result is
// the one event that records the change, a pointer to an earlier event when the command
// is a retry of an idempotent request, or a rejection that writes nothing:
//   INVALID_ARGUMENT     the command contradicts itself
//   NOT_FOUND            unknown CallerID
//   ALREADY_EXISTS       the number is taken in the extension, or the request_id was used
//                        with other arguments
//   RESOURCE_EXHAUSTED   the license's or the extension's limit of enabled CallerIDs
//   FAILED_PRECONDITION  a rule of the ledger forbids it (credit below zero, a CallerID
//                        with an open reservation removed)
//   PERMISSION_DENIED    a PBX node touched a reservation another node opened
#ifndef CALLBACKLEDGER_LEDGER_DECIDE_H_
#define CALLBACKLEDGER_LEDGER_DECIDE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "callbackledger/v1/events.pb.h"
#include "ledger/commands.h"
#include "projections/state.h"

namespace callbackledger {

struct LedgerRules {
  uint32_t license_max_active_callerids = 1000;
  int decimals = 2;  // for amounts quoted in messages
  uint32_t pin_max_attempts = 5;
  uint32_t default_ttl_seconds = 300;
  size_t max_events_per_command = 1000;
};

struct Decided {
  // The events' bodies, without sequence, time or actor (the committer sets those).
  std::vector<v1::Event> events;
  // Non-zero when the command repeats an earlier request: the event that answered it.
  uint64_t replay_sequence = 0;
  // A decision that writes nothing (NOT_AUTHORIZED, NO_CREDIT, ...).
  v1::Decision denial = v1::DECISION_UNSPECIFIED;

  v1::Event* add_event() { return &events.emplace_back(); }
};

absl::StatusOr<Decided> Decide(const View& view, const Command& command, const LedgerRules& rules,
                               int64_t now_micros);

// The call-credit commands (decide_calls.cc).

// PERMISSION_DENIED when an Extend, Settle or Release names a node other than the one that
// opened the reservation. An empty node_id (an administrator acting) and a reservation
// opened without one pass. Checked before anything else, idempotent replay included.
absl::Status CheckNodeBinding(const View& view, const CommandBody& body);
absl::StatusOr<Decided> DecidePinAttempt(const View& view, const PinAttemptCommand& command,
                                         const LedgerRules& rules);
absl::StatusOr<Decided> DecideReserve(const View& view, const ReserveCommand& command,
                                      const LedgerRules& rules, int64_t now_micros);
absl::StatusOr<Decided> DecideExtend(const View& view, const ExtendCommand& command,
                                     const Command& envelope, int64_t now_micros);
absl::StatusOr<Decided> DecideSettle(const View& view, const SettleCommand& command,
                                     int64_t now_micros);
absl::StatusOr<Decided> DecideRelease(const View& view, const ReleaseCommand& command);
absl::StatusOr<Decided> DecideSync(const View& view, const SyncReservationsCommand& command,
                                   const LedgerRules& rules);
absl::StatusOr<Decided> DecideExpire(const View& view, const LedgerRules& rules,
                                     int64_t now_micros);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_DECIDE_H_
