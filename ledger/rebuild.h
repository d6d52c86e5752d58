// Rebuilding the projections from the event log (ledgerd --rebuild_projections, or at
// start-up when the stored projections stop short of the log).
//
// The old rows are cleared first: every projection column family is dropped and created
// again, the meta family first (Store::ClearProjections). The log is read and parsed one
// chunk ahead on a thread of its own (Store::ScanEvents), and replayed straight into the
// State (View::Direct). Rows that are written as they come (recharges, calls, idempotency
// keys, the number index) go out after each chunk of events; the rest of the State's rows
// (CallerIDs, extensions, reservations) at the end. They go to the memtables without the
// write-ahead log, in runs of a few megabytes that a thread of their own sorts by key and
// writes, and reach the disk in one flush of the projection column families; only then is
// the meta row written, synced. The meta row is what says the projections are whole: the clear
// drops it first, so a crash at any point before the end leaves projections without one (their
// last_sequence reads 0), and the next start-up rebuilds them again.
#ifndef CALLBACKLEDGER_LEDGER_REBUILD_H_
#define CALLBACKLEDGER_LEDGER_REBUILD_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "ledger/store.h"
#include "projections/state.h"

namespace callbackledger {

// Rewrites every projection row from a replay of the log into an empty `state`, which then
// holds the result. `progress` (may be null) is told the sequence the replay reached every
// few thousand events.
absl::Status RebuildProjections(Store* store, State* state,
                                const std::function<void(uint64_t sequence)>& progress = nullptr);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_REBUILD_H_
