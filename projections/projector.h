// Applies events of the log to the in-memory projections. The same code runs when the
// committer writes an event, when ledgerd rebuilds projections and when ledgerctl
// verifies them, so a replay always yields what the live server holds.
//
// Every event is checked against the state it applies to (the sequence follows the last
// one, the CallerID exists, balances add up); a failed check aborts the process.
#ifndef CALLBACKLEDGER_PROJECTIONS_PROJECTOR_H_
#define CALLBACKLEDGER_PROJECTIONS_PROJECTOR_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "callbackledger/v1/events.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "projections/state.h"

namespace callbackledger {

void ApplyEvent(const v1::Event& event, View* view);

// The key of an idempotency row: the RPC's name, '/', the client's request_id.
std::string IdempotencyKey(std::string_view rpc, std::string_view request_id);
// The key under which an event that carries a request_id is remembered.
std::string IdempotencyKeyFor(const v1::Event& event);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_PROJECTIONS_PROJECTOR_H_
