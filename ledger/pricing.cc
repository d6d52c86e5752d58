#include "ledger/pricing.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ledger/money.h"

namespace callbackledger {
namespace {

using int128 = __int128;

uint64_t Increment(const v1::RateMicros& rate) {
  return std::max<uint64_t>(1, rate.billing_increment_seconds());
}

uint64_t RoundUpToIncrement(const v1::RateMicros& rate, uint64_t seconds) {
  uint64_t increment = Increment(rate);
  return (seconds + increment - 1) / increment * increment;
}

// ceil(seconds * price_per_minute / 60), in micros.
int64_t PriceOfSeconds(const v1::RateMicros& rate, uint64_t seconds) {
  int128 numerator = static_cast<int128>(seconds) * rate.price_per_minute_micros();
  return static_cast<int64_t>((numerator + 59) / 60);
}

}  // namespace

bool HasRate(const v1::Rate& rate) {
  return !rate.connect_fee().empty() || !rate.price_per_minute().empty() ||
         rate.billing_increment_seconds() != 0 || rate.minimum_billed_seconds() != 0;
}

absl::StatusOr<v1::RateMicros> ParseRate(const v1::Rate& rate) {
  v1::RateMicros parsed;
  if (rate.price_per_minute().empty()) {
    return absl::InvalidArgumentError("rate.price_per_minute: required with a rate");
  }
  absl::StatusOr<int64_t> price = ParseMoney("rate.price_per_minute", rate.price_per_minute());
  if (!price.ok()) return price.status();
  int64_t fee = 0;
  if (!rate.connect_fee().empty()) {
    absl::StatusOr<int64_t> parsed_fee = ParseMoney("rate.connect_fee", rate.connect_fee());
    if (!parsed_fee.ok()) return parsed_fee.status();
    fee = *parsed_fee;
  }
  // Bounds that keep every price of a day-long call far inside int64.
  constexpr int64_t kMaxPricePerMinute = int64_t{1000000} * kMicrosPerUnit;
  if (*price < 0 || *price > kMaxPricePerMinute) {
    return absl::InvalidArgumentError(
        "rate.price_per_minute: must be between 0 and 1000000 per minute");
  }
  if (fee < 0 || fee > kMaxPricePerMinute) {
    return absl::InvalidArgumentError("rate.connect_fee: must be between 0 and 1000000");
  }
  if (rate.billing_increment_seconds() > 3600) {
    return absl::InvalidArgumentError("rate.billing_increment_seconds: at most 3600");
  }
  if (rate.minimum_billed_seconds() > 3600) {
    return absl::InvalidArgumentError("rate.minimum_billed_seconds: at most 3600");
  }
  parsed.set_connect_fee_micros(fee);
  parsed.set_price_per_minute_micros(*price);
  parsed.set_billing_increment_seconds(rate.billing_increment_seconds());
  parsed.set_minimum_billed_seconds(rate.minimum_billed_seconds());
  return parsed;
}

uint64_t BilledSeconds(const v1::RateMicros& rate, uint64_t duration_seconds) {
  if (duration_seconds == 0) return 0;
  uint64_t billed = std::max<uint64_t>(duration_seconds, rate.minimum_billed_seconds());
  return RoundUpToIncrement(rate, billed);
}

int64_t CallCostMicros(const v1::RateMicros& rate, uint64_t duration_seconds) {
  if (duration_seconds == 0) return 0;
  return rate.connect_fee_micros() + PriceOfSeconds(rate, BilledSeconds(rate, duration_seconds));
}

int64_t ExtraCostMicros(const v1::RateMicros& rate, uint64_t seconds) {
  return PriceOfSeconds(rate, RoundUpToIncrement(rate, seconds));
}

// The longest duration in whole increments within a day.
uint64_t Cap(const v1::RateMicros& rate) {
  return kMaxCallSeconds / Increment(rate) * Increment(rate);
}

uint64_t MaxCallSeconds(const v1::RateMicros& rate, int64_t available_micros) {
  if (available_micros < CallCostMicros(rate, 1)) return 0;
  if (rate.price_per_minute_micros() == 0) return Cap(rate);
  // The largest whole number of increments k with ceil(k*inc*price/60) <= available - fee.
  int128 budget = static_cast<int128>(available_micros - rate.connect_fee_micros()) * 60;
  int128 per_increment = static_cast<int128>(Increment(rate)) * rate.price_per_minute_micros();
  int128 seconds = budget / per_increment * Increment(rate);
  return static_cast<uint64_t>(std::min<int128>(seconds, Cap(rate)));
}

uint64_t MaxExtraSeconds(const v1::RateMicros& rate, int64_t available_micros) {
  if (available_micros <= 0) return 0;
  if (rate.price_per_minute_micros() == 0) return Cap(rate);
  int128 budget = static_cast<int128>(available_micros) * 60;
  int128 per_increment = static_cast<int128>(Increment(rate)) * rate.price_per_minute_micros();
  int128 seconds = budget / per_increment * Increment(rate);
  return static_cast<uint64_t>(std::min<int128>(seconds, Cap(rate)));
}

int64_t IncrementCostMicros(const v1::RateMicros& rate) {
  return std::max<int64_t>(1, PriceOfSeconds(rate, Increment(rate)));
}

}  // namespace callbackledger
