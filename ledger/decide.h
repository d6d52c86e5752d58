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
#ifndef CALLBACKLEDGER_LEDGER_DECIDE_H_
#define CALLBACKLEDGER_LEDGER_DECIDE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "callbackledger/v1/events.pb.h"
#include "ledger/commands.h"
#include "projections/state.h"

namespace callbackledger {

struct LedgerRules {
  uint32_t license_max_active_callerids = 1000;
  int decimals = 2;  // for amounts quoted in messages
};

struct Decided {
  // The event's body, without sequence, time or actor (the committer sets those).
  v1::Event event;
  // Non-zero when the command repeats an earlier request: the event that answered it.
  uint64_t replay_sequence = 0;
};

absl::StatusOr<Decided> Decide(const View& view, const Command& command,
                                const LedgerRules& rules);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_DECIDE_H_
