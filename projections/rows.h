// The projections as RocksDB rows: which column family, which key, which value. The
// committer writes the rows of each group's Delta in the group's WriteBatch; a rebuild
// writes the rows of a whole replayed State; verify compares the two.
#ifndef CALLBACKLEDGER_PROJECTIONS_ROWS_H_
#define CALLBACKLEDGER_PROJECTIONS_ROWS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/numeric/int128.h"
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
  kCallTotals,          // the settled calls' totals by hour (CallTotals), merged as they come
};
inline constexpr int kProjectionCfCount = 10;
const char* CfName(Cf cf);

inline constexpr std::string_view kMetaKey = "state";

class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual void Put(Cf cf, std::string_view key, std::string_view value) = 0;
  virtual void Delete(Cf cf, std::string_view key) = 0;
  // Adds `value` to the row (kCallTotals only: an EncodeCallTotals value, added to what the
  // row holds with MergeCallTotals; a row not there yet counts as zero).
  virtual void Merge(Cf cf, std::string_view key, std::string_view value) = 0;
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

// The totals of the settled calls of one extension that started in one hour: a row of
// "call_totals", whose key is the key prefix of those calls' rows in "calls"
// (CallKeyPrefixByExtension) followed by the hour's start (OrderedInt64, Unix
// microseconds). The committer adds each group's calls to their hours with a merge, so
// that it never reads a row; an extension's cost report adds up the hours inside its range
// instead of reading every call (only those of the hours at its two ends). A CallerID's
// report reads its calls: a CallerID makes few calls an hour, and hours of their own would
// cost a merge for nearly every call.
struct CallTotals {
  uint64_t calls = 0;
  uint64_t duration_seconds = 0;
  absl::int128 cost_micros = 0;
  absl::int128 uncollected_micros = 0;

  void Add(const CallAmounts& call);
  void Add(const CallTotals& other);
  bool operator==(const CallTotals& other) const;
};
inline constexpr int64_t kCallTotalsHourMicros = int64_t{3600} * 1000000;
// The start of the hour `micros` falls in (rounded down, also before 1970).
int64_t CallTotalsHour(int64_t micros);
std::string CallKeyPrefixByExtension(std::string_view extension);
std::string CallKeyPrefixByCallerId(uint64_t callerid_id);
// A call row's key is its prefix, its start and its sequence (8 bytes each): the prefix is
// all but the last 16 bytes.
inline constexpr size_t kCallKeySuffixBytes = 16;
std::string CallTotalsKey(std::string_view prefix, int64_t hour_micros);
// A row's value: 48 bytes, fixed (calls, duration, then the two sums as 128-bit numbers).
std::string EncodeCallTotals(const CallTotals& totals);
bool DecodeCallTotals(std::string_view value, CallTotals* totals);  // false: not 48 bytes
// What a row holding `existing` (nullopt: no row) holds after a merge of `operand`; false if
// either is not an EncodeCallTotals value.
bool MergeCallTotals(std::optional<std::string_view> existing, std::string_view operand,
                     std::string* merged);
// The same for the row `key` of a family held in memory (a verify's replay, tests).
bool MergeCallTotalsRow(std::map<std::string, std::string>* rows, std::string_view key,
                        std::string_view operand);

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
