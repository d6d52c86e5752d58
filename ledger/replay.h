// Replays the event log through the projector: the one way projections are rebuilt and
// verified, so a replay always agrees with what the committer wrote.
#ifndef CALLBACKLEDGER_LEDGER_REPLAY_H_
#define CALLBACKLEDGER_LEDGER_REPLAY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ledger/store.h"
#include "projections/state.h"

namespace callbackledger {

// Applies every event of the log, in order, to `state` (which must be empty), through a
// direct View. Its appended rows (with its changes to idempotency keys and the number
// index) go to `sink` after each chunk of events; the rest of the State's rows are for the
// caller to emit at the end (EmitReplayedState). `progress` (may be null) is told the
// sequence reached every so often.
absl::Status ReplayLog(Store* store, State* state, RowSink* sink,
                       const std::function<void(uint64_t sequence)>& progress);

// Sizes `state`'s CallerID table and number index once for about as many CallerIDs as are
// stored (RocksDB's estimate, at most `most`), so that filling it does not rehash them as
// they grow.
void ReserveForStoredRows(Store* store, State* state, size_t most = SIZE_MAX);

// Loads the projections from their stored rows. An expired or orphaned reservation found
// among the open ones (where format 2 kept them) moves to closed_reservations, in one
// synced write, and is not loaded.
absl::Status LoadProjections(Store* store, State* state);

// Writes the call_totals rows of every extension's calls in the calls family (what a
// directory of format 2 or 3, which had no such family, needs once). Each row is the whole
// of its hour: a fill cut short and done again writes the same rows. One synced write every
// few thousand rows.
absl::Status FillCallTotals(Store* store);

struct VerifyReport {
  uint64_t events = 0;
  uint64_t rows_checked = 0;
  uint64_t differences = 0;
  std::vector<std::string> samples;  // the first differences, described
};

// Replays the log and compares every stored projection row with the replay's. `progress`
// (may be null) is told the sequence the replay reached every few thousand events.
absl::StatusOr<VerifyReport> VerifyProjections(
    Store* store, size_t max_samples = 20,
    const std::function<void(uint64_t sequence)>& progress = nullptr);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_REPLAY_H_
