// Call pricing with a rate sent by the PBX node: a connect fee, a price per minute,
// billing in increments of seconds, and a minimum billed duration. Exact integer micros;
// a fraction of a micro is always rounded up, so the ledger never undercharges.
#ifndef CALLBACKLEDGER_LEDGER_PRICING_H_
#define CALLBACKLEDGER_LEDGER_PRICING_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "callbackledger/v1/common.pb.h"
#include "callbackledger/v1/events.pb.h"

namespace callbackledger {

// The longest call the ledger prices or grants: one day.
inline constexpr uint64_t kMaxCallSeconds = 86400;

// Checks and converts an API rate. INVALID_ARGUMENT names the bad field.
absl::StatusOr<v1::RateMicros> ParseRate(const v1::Rate& rate);

bool HasRate(const v1::Rate& rate);

// The seconds billed for a call of `duration_seconds`: 0 for 0, else at least the
// minimum, rounded up to whole increments.
uint64_t BilledSeconds(const v1::RateMicros& rate, uint64_t duration_seconds);

// The cost of a call of `duration_seconds` (connect fee included; 0 for 0 seconds).
// `duration_seconds` must be at most kMaxCallSeconds.
int64_t CallCostMicros(const v1::RateMicros& rate, uint64_t duration_seconds);

// The price of `seconds` more of a call already connected (no fee, no minimum), rounded
// up to whole increments.
int64_t ExtraCostMicros(const v1::RateMicros& rate, uint64_t seconds);

// The longest call `available_micros` pays for, in whole increments (0 when not even the
// first increment is paid for), at most kMaxCallSeconds.
uint64_t MaxCallSeconds(const v1::RateMicros& rate, int64_t available_micros);

// The most seconds `available_micros` adds to a connected call, in whole increments.
uint64_t MaxExtraSeconds(const v1::RateMicros& rate, int64_t available_micros);

// What one more increment of a connected call costs (at least 1 micro).
int64_t IncrementCostMicros(const v1::RateMicros& rate);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_PRICING_H_
