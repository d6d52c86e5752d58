// The projections as RocksDB rows: which column family, which key, which value. The
// committer writes the rows of each group's Delta in the group's WriteBatch; a rebuild
// writes the rows of a whole replayed State; verify compares the two.
#ifndef CALLBACKLEDGER_PROJECTIONS_ROWS_H_
#define CALLBACKLEDGER_PROJECTIONS_ROWS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "callbackledger/store/v1/store.pb.h"
#include "projections/state.h"

namespace callbackledger {

// The projection column families, in the order the store opens them.
enum class Cf {
  kCallerIds,
  kNumbers,
  kExtensions,
  kRecharges,
  kIdempotency,
  kMeta,
  kReservations,  // those not closed for good: open, expired, orphaned
  kCalls,
  kClosedReservations,  // settled and released: only ever read one by one
};
inline constexpr int kProjectionCfCount = 9;
const char* CfName(Cf cf);

inline constexpr std::string_view kMetaKey = "state";

class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual void Put(Cf cf, std::string_view key, std::string_view value) = 0;
  virtual void Delete(Cf cf, std::string_view key) = 0;
};

std::string BigEndian64(uint64_t value);
uint64_t ReadBigEndian64(std::string_view bytes);  // bytes.size() >= 8
std::string RechargeKey(uint64_t callerid_id, uint64_t sequence);
// The two keys of a settled call in "calls" (see store.proto).
std::string CallKeyByExtension(std::string_view extension, int64_t started_micros,
                               uint64_t sequence);
std::string CallKeyByCallerId(uint64_t callerid_id, int64_t started_micros, uint64_t sequence);
// Big-endian with the sign bit flipped, so that keys sort like the numbers.
std::string OrderedInt64(int64_t value);
int64_t ReadOrderedInt64(std::string_view bytes);  // bytes.size() >= 8

// The amounts of a stored call row (a CallRow's value), read without parsing its strings
// or its timestamp: what a cost report's totals need of every call in its range. False if
// the value is not a well-formed message.
struct CallAmounts {
  uint64_t duration_seconds = 0;
  int64_t cost_micros = 0;
  int64_t uncollected_micros = 0;
};
bool ReadCallAmounts(std::string_view value, CallAmounts* amounts);

store::v1::CallerIdRow ToRow(const CallerIdState& callerid);
// The same into `row`, whose fields it all replaces (the row may be reused).
void ToRow(const CallerIdState& callerid, store::v1::CallerIdRow* row);
CallerIdState FromRow(const store::v1::CallerIdRow& row);
store::v1::ExtensionRow ToRow(std::string_view extension, const ExtensionState& state);
ExtensionState FromRow(const store::v1::ExtensionRow& row);
store::v1::MetaRow ToRow(const MetaState& meta);
MetaState FromRow(const store::v1::MetaRow& row);

// The rows a group changed, to write beside its events. Reads the Delta only.
void EmitDelta(const Delta& delta, RowSink* sink);
// The appended rows, in order; those of a direct View include its changes to idempotency
// keys and to the number index (an erased number index entry is deleted).
void EmitAppended(const AppendedRows& appended, RowSink* sink);
// What a replay writes at its end: the rows of a replayed State that its direct View did
// not hand out as appended rows (CallerIDs, extensions, reservations, meta).
void EmitReplayedState(const State& state, RowSink* sink);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_PROJECTIONS_ROWS_H_
