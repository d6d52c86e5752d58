// Tests of call pricing (ledger/pricing.h): billed seconds, call and extra costs in exact
// micros rounded up, the longest call a credit pays for, and the checks on an API rate.
#include "ledger/pricing.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/common.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/testing/messages.h"

namespace callbackledger {
namespace {

using testing::MakeRate;

using ::testing::StartsWith;

v1::RateMicros Rate(int64_t fee_micros, int64_t price_per_minute_micros, uint32_t increment,
                    uint32_t minimum) {
  v1::RateMicros rate;
  rate.set_connect_fee_micros(fee_micros);
  rate.set_price_per_minute_micros(price_per_minute_micros);
  rate.set_billing_increment_seconds(increment);
  rate.set_minimum_billed_seconds(minimum);
  return rate;
}

void ExpectInvalid(const v1::Rate& rate, const std::string& field) {
  absl::StatusOr<v1::RateMicros> parsed = ParseRate(rate);
  ASSERT_FALSE(parsed.ok()) << rate.ShortDebugString();
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << parsed.status();
  EXPECT_THAT(std::string(parsed.status().message()), StartsWith(field)) << parsed.status();
}

uint64_t IncrementOf(const v1::RateMicros& rate) {
  return rate.billing_increment_seconds() == 0 ? 1 : rate.billing_increment_seconds();
}

// ceil(a / b) for non-negative a and positive b, with 128-bit intermediates.
int64_t CeilDiv(__int128 a, __int128 b) { return static_cast<int64_t>((a + b - 1) / b); }

// ---------------------------------------------------------------------------------------
// BilledSeconds

TEST(BilledSecondsTest, ZeroSecondsBillNothing) {
  EXPECT_EQ(BilledSeconds(Rate(0, 1000000, 60, 60), 0), 0u);
  EXPECT_EQ(BilledSeconds(Rate(100000, 1000000, 1, 0), 0), 0u);
}

TEST(BilledSecondsTest, IncrementZeroMeansOneSecond) {
  v1::RateMicros rate = Rate(0, 600000, 0, 0);
  EXPECT_EQ(BilledSeconds(rate, 1), 1u);
  EXPECT_EQ(BilledSeconds(rate, 59), 59u);
  EXPECT_EQ(BilledSeconds(rate, 86400), 86400u);
}

TEST(BilledSecondsTest, MinimumIsBilledForShortCalls) {
  v1::RateMicros rate = Rate(0, 600000, 1, 60);
  EXPECT_EQ(BilledSeconds(rate, 1), 60u);
  EXPECT_EQ(BilledSeconds(rate, 59), 60u);
  EXPECT_EQ(BilledSeconds(rate, 60), 60u);
  EXPECT_EQ(BilledSeconds(rate, 61), 61u);
}

TEST(BilledSecondsTest, IncrementsRoundUp) {
  v1::RateMicros rate = Rate(0, 600000, 30, 0);
  EXPECT_EQ(BilledSeconds(rate, 1), 30u);
  EXPECT_EQ(BilledSeconds(rate, 30), 30u);
  EXPECT_EQ(BilledSeconds(rate, 31), 60u);
  EXPECT_EQ(BilledSeconds(rate, 89), 90u);
  EXPECT_EQ(BilledSeconds(rate, 90), 90u);
}

TEST(BilledSecondsTest, MinimumThenRoundedUpToWholeIncrements) {
  // 60/6: the first minute in full, then by 6 seconds.
  v1::RateMicros sixty_six = Rate(0, 600000, 6, 60);
  EXPECT_EQ(BilledSeconds(sixty_six, 5), 60u);
  EXPECT_EQ(BilledSeconds(sixty_six, 61), 66u);
  EXPECT_EQ(BilledSeconds(sixty_six, 66), 66u);
  EXPECT_EQ(BilledSeconds(sixty_six, 67), 72u);
  // A minimum that is not a whole number of increments is rounded up too.
  v1::RateMicros odd = Rate(0, 600000, 30, 45);
  EXPECT_EQ(BilledSeconds(odd, 10), 60u);
  EXPECT_EQ(BilledSeconds(odd, 61), 90u);
}

// ---------------------------------------------------------------------------------------
// CallCostMicros

TEST(CallCostTest, ZeroSecondsCostNothingNotEvenTheConnectFee) {
  EXPECT_EQ(CallCostMicros(Rate(500000, 1200000, 60, 60), 0), 0);
}

TEST(CallCostTest, ConnectFeeIsChargedOnce) {
  v1::RateMicros rate = Rate(100000, 1200000, 1, 0);  // 0.10 + 1.20/min
  EXPECT_EQ(CallCostMicros(rate, 1), 100000 + 20000);
  EXPECT_EQ(CallCostMicros(rate, 30), 100000 + 600000);
  EXPECT_EQ(CallCostMicros(rate, 60), 100000 + 1200000);
  EXPECT_EQ(CallCostMicros(rate, 3600), 100000 + 72000000);
}

TEST(CallCostTest, PerMinutePriceWithIncrementsAndMinimum) {
  v1::RateMicros rate = Rate(0, 1200000, 60, 0);  // 1.20/min, by the minute
  EXPECT_EQ(CallCostMicros(rate, 1), 1200000);
  EXPECT_EQ(CallCostMicros(rate, 60), 1200000);
  EXPECT_EQ(CallCostMicros(rate, 61), 2400000);
  v1::RateMicros with_minimum = Rate(50000, 600000, 1, 30);  // 0.05 + 0.60/min, 30 s minimum
  EXPECT_EQ(CallCostMicros(with_minimum, 1), 50000 + 300000);
  EXPECT_EQ(CallCostMicros(with_minimum, 31), 50000 + 310000);
}

TEST(CallCostTest, FractionsOfAMicroRoundUp) {
  v1::RateMicros rate = Rate(0, 12500, 1, 0);  // 0.0125 a minute
  EXPECT_EQ(CallCostMicros(rate, 1), 209);     // 208.33...
  EXPECT_EQ(CallCostMicros(rate, 6), 1250);    // exact
  EXPECT_EQ(CallCostMicros(rate, 7), 1459);    // 1458.33...
  EXPECT_EQ(CallCostMicros(rate, 60), 12500);
  EXPECT_EQ(CallCostMicros(rate, 61), 12709);  // 12708.33...
  EXPECT_EQ(CallCostMicros(rate, 86400), 18000000);
  // One micro a minute still costs a micro for a second.
  EXPECT_EQ(CallCostMicros(Rate(0, 1, 1, 0), 1), 1);
  EXPECT_EQ(CallCostMicros(Rate(0, 1, 1, 0), 61), 2);
}

TEST(CallCostTest, ZeroPriceChargesOnlyTheFee) {
  v1::RateMicros rate = Rate(250000, 0, 60, 60);
  EXPECT_EQ(CallCostMicros(rate, 1), 250000);
  EXPECT_EQ(CallCostMicros(rate, 86400), 250000);
}

TEST(CallCostTest, LargestRateAndLongestCallFitInInt64) {
  const int64_t max_price = int64_t{1000000} * 1000000;  // 1000000 a minute
  v1::RateMicros rate = Rate(max_price, max_price, 1, 0);
  EXPECT_EQ(CallCostMicros(rate, kMaxCallSeconds), max_price + max_price * 1440);
}

TEST(CallCostTest, MatchesTheDefinitionForManyRates) {
  std::mt19937_64 random(20240607);
  for (int trial = 0; trial < 2000; ++trial) {
    v1::RateMicros rate =
        Rate(static_cast<int64_t>(random() % 2000000), static_cast<int64_t>(random() % 5000000),
             static_cast<uint32_t>(random() % 121), static_cast<uint32_t>(random() % 301));
    uint64_t seconds = random() % (kMaxCallSeconds + 1);
    uint64_t inc = IncrementOf(rate);
    uint64_t billed =
        seconds == 0
            ? 0
            : (std::max<uint64_t>(seconds, rate.minimum_billed_seconds()) + inc - 1) / inc * inc;
    int64_t expected =
        seconds == 0
            ? 0
            : rate.connect_fee_micros() +
                  CeilDiv(static_cast<__int128>(billed) * rate.price_per_minute_micros(), 60);
    ASSERT_EQ(BilledSeconds(rate, seconds), billed) << rate.ShortDebugString() << " " << seconds;
    ASSERT_EQ(CallCostMicros(rate, seconds), expected) << rate.ShortDebugString() << " " << seconds;
  }
}

// ---------------------------------------------------------------------------------------
// ExtraCostMicros and IncrementCostMicros

TEST(ExtraCostTest, NoFeeNoMinimumRoundedUpToIncrements) {
  v1::RateMicros rate = Rate(500000, 1200000, 60, 120);
  EXPECT_EQ(ExtraCostMicros(rate, 0), 0);
  EXPECT_EQ(ExtraCostMicros(rate, 1), 1200000);
  EXPECT_EQ(ExtraCostMicros(rate, 60), 1200000);
  EXPECT_EQ(ExtraCostMicros(rate, 61), 2400000);
  v1::RateMicros by_second = Rate(500000, 600000, 1, 60);
  EXPECT_EQ(ExtraCostMicros(by_second, 10), 100000);  // not the 60 s minimum
}

TEST(ExtraCostTest, FractionsOfAMicroRoundUp) {
  v1::RateMicros rate = Rate(0, 12500, 1, 0);
  EXPECT_EQ(ExtraCostMicros(rate, 1), 209);
  EXPECT_EQ(ExtraCostMicros(rate, 61), 12709);
  v1::RateMicros by_seven = Rate(0, 12500, 7, 0);
  EXPECT_EQ(ExtraCostMicros(by_seven, 1), 1459);
}

TEST(IncrementCostTest, OneIncrementRoundedUpAndAtLeastOneMicro) {
  EXPECT_EQ(IncrementCostMicros(Rate(0, 12500, 1, 0)), 209);
  EXPECT_EQ(IncrementCostMicros(Rate(0, 12500, 0, 0)), 209);  // increment 0 means 1
  EXPECT_EQ(IncrementCostMicros(Rate(0, 12500, 60, 0)), 12500);
  EXPECT_EQ(IncrementCostMicros(Rate(900000, 1200000, 30, 60)), 600000);  // no fee, no minimum
  EXPECT_EQ(IncrementCostMicros(Rate(0, 0, 60, 0)), 1);
  EXPECT_EQ(IncrementCostMicros(Rate(0, 1, 1, 0)), 1);
}

// ---------------------------------------------------------------------------------------
// MaxCallSeconds

TEST(MaxCallSecondsTest, WholeIncrementsThatTheCreditPaysFor) {
  v1::RateMicros rate = Rate(100000, 1200000, 60, 0);  // 0.10 + 1.20 a minute, by the minute
  EXPECT_EQ(MaxCallSeconds(rate, 1300000), 60u);
  EXPECT_EQ(MaxCallSeconds(rate, 2499999), 60u);
  EXPECT_EQ(MaxCallSeconds(rate, 2500000), 120u);
  EXPECT_EQ(MaxCallSeconds(rate, 10000000), 480u);  // 9.90 / 1.20 = 8.25 minutes
  v1::RateMicros by_second = Rate(0, 1200000, 1, 0);
  EXPECT_EQ(MaxCallSeconds(by_second, 10000000), 500u);
  EXPECT_EQ(MaxCallSeconds(by_second, 10019999), 500u);
  EXPECT_EQ(MaxCallSeconds(by_second, 10020000), 501u);
}

TEST(MaxCallSecondsTest, ZeroWhenTheFirstIncrementIsUnaffordable) {
  v1::RateMicros rate = Rate(100000, 1200000, 60, 0);
  EXPECT_EQ(MaxCallSeconds(rate, 1299999), 0u);
  EXPECT_EQ(MaxCallSeconds(rate, 100000), 0u);  // the fee alone
  EXPECT_EQ(MaxCallSeconds(rate, 0), 0u);
  EXPECT_EQ(MaxCallSeconds(rate, -5000000), 0u);
  // The minimum makes the first increment dearer.
  v1::RateMicros with_minimum = Rate(0, 600000, 1, 60);
  EXPECT_EQ(MaxCallSeconds(with_minimum, 599999), 0u);
  EXPECT_EQ(MaxCallSeconds(with_minimum, 600000), 60u);
  EXPECT_EQ(MaxCallSeconds(with_minimum, 610000), 61u);
}

TEST(MaxCallSecondsTest, FractionalPrices) {
  v1::RateMicros rate = Rate(0, 12500, 1, 0);  // 0.0125 a minute
  EXPECT_EQ(MaxCallSeconds(rate, 208), 0u);
  EXPECT_EQ(MaxCallSeconds(rate, 209), 1u);
  EXPECT_EQ(MaxCallSeconds(rate, 12500), 60u);
  EXPECT_EQ(MaxCallSeconds(rate, 12708), 60u);
  EXPECT_EQ(MaxCallSeconds(rate, 12709), 61u);
}

TEST(MaxCallSecondsTest, CappedAtOneDay) {
  v1::RateMicros rate = Rate(0, 1, 1, 0);  // a micro a minute
  EXPECT_EQ(MaxCallSeconds(rate, 1000000000000), kMaxCallSeconds);
  EXPECT_EQ(MaxCallSeconds(Rate(0, 1200000, 60, 0), INT64_MAX), kMaxCallSeconds);
}

TEST(MaxCallSecondsTest, ZeroPrice) {
  v1::RateMicros free_calls = Rate(0, 0, 60, 0);
  EXPECT_EQ(MaxCallSeconds(free_calls, 0), kMaxCallSeconds);
  EXPECT_EQ(MaxCallSeconds(free_calls, 1), kMaxCallSeconds);
  v1::RateMicros fee_only = Rate(250000, 0, 60, 0);
  EXPECT_EQ(MaxCallSeconds(fee_only, 249999), 0u);
  EXPECT_EQ(MaxCallSeconds(fee_only, 250000), kMaxCallSeconds);
}

// The cap is whole increments too: with increments that do not divide a day, the longest
// call is the last whole increment within the day (a call of 86400 s would be billed
// 86401 s at 7-second increments).
TEST(MaxCallSecondsTest, CapIsAWholeNumberOfIncrements) {
  EXPECT_EQ(MaxCallSeconds(Rate(0, 0, 7, 0), 1000000), 86394u);
  EXPECT_EQ(MaxCallSeconds(Rate(0, 1, 7, 0), 1000000000000), 86394u);
  EXPECT_EQ(MaxCallSeconds(Rate(0, 1, 3600, 0), 1000000000000), 86400u);
}

TEST(MaxCallSecondsTest, TheLongestCallIsAffordableAndOneMoreIncrementIsNot) {
  v1::RateMicros rate = Rate(35000, 770000, 6, 30);
  for (int64_t available = 0; available < 3000000; available += 997) {
    uint64_t seconds = MaxCallSeconds(rate, available);
    if (seconds == 0) {
      EXPECT_GT(CallCostMicros(rate, 1), available);
      continue;
    }
    EXPECT_EQ(seconds % 6, 0u) << available;
    EXPECT_GE(seconds, 30u) << available;
    EXPECT_LE(CallCostMicros(rate, seconds), available) << available;
    EXPECT_GT(CallCostMicros(rate, seconds + 6), available) << available;
  }
}

struct RandomRate {
  v1::RateMicros rate;
  int64_t available;
};

// Rates of every shape: increments that do and do not divide a day, minimums, fees, prices
// from nothing to a lot, fractional ones; credits from negative to more than a day costs.
RandomRate MakeRandomRate(std::mt19937_64& random) {
  static const uint32_t kIncrements[] = {0, 1, 1, 6, 7, 10, 13, 30, 60, 60, 90, 3600};
  static const uint32_t kMinimums[] = {0, 0, 0, 1, 30, 45, 60, 61, 120, 3600};
  static const int64_t kPrices[] = {0, 1, 7, 12500, 125000, 600000, 1200000, 999999, 35000000};
  RandomRate r;
  r.rate.set_billing_increment_seconds(kIncrements[random() % std::size(kIncrements)]);
  r.rate.set_minimum_billed_seconds(kMinimums[random() % std::size(kMinimums)]);
  int64_t price = kPrices[random() % std::size(kPrices)];
  if (random() % 2 == 0) price = static_cast<int64_t>(random() % 3000000);
  r.rate.set_price_per_minute_micros(price);
  r.rate.set_connect_fee_micros(random() % 3 == 0 ? 0 : static_cast<int64_t>(random() % 500000));
  switch (random() % 4) {
    case 0:
      r.available = static_cast<int64_t>(random() % 2000000) - 100000;
      break;
    case 1:
      r.available = static_cast<int64_t>(random() % 50000000);
      break;
    case 2:  // near the cost of a whole number of increments
      r.available = CallCostMicros(r.rate, (random() % 200 + 1) * IncrementOf(r.rate) % 86400 + 1) +
                    static_cast<int64_t>(random() % 3) - 1;
      break;
    default:
      r.available = static_cast<int64_t>(random() % 4000000000000);
      break;
  }
  return r;
}

// The brute-force answer: the largest d, a multiple of the increment and at most a day,
// with CallCostMicros(rate, d) <= available (0 when only d = 0 is).
uint64_t BruteForceMaxCallSeconds(const v1::RateMicros& rate, int64_t available) {
  uint64_t inc = IncrementOf(rate);
  uint64_t best = 0;
  for (uint64_t d = inc; d <= kMaxCallSeconds; d += inc) {
    if (CallCostMicros(rate, d) > available) break;  // the cost never falls as d grows
    best = d;
  }
  return best;
}

uint64_t BruteForceMaxExtraSeconds(const v1::RateMicros& rate, int64_t available) {
  uint64_t inc = IncrementOf(rate);
  uint64_t best = 0;
  for (uint64_t d = inc; d <= kMaxCallSeconds; d += inc) {
    if (ExtraCostMicros(rate, d) > available) break;
    best = d;
  }
  return best;
}

TEST(MaxCallSecondsTest, AgreesWithBruteForce) {
  std::mt19937_64 random(86400);
  int mismatches = 0;
  std::vector<std::string> samples;
  for (int trial = 0; trial < 1500; ++trial) {
    RandomRate r = MakeRandomRate(random);
    uint64_t expected = BruteForceMaxCallSeconds(r.rate, r.available);
    uint64_t actual = MaxCallSeconds(r.rate, r.available);
    if (actual != expected) {
      ++mismatches;
      if (samples.size() < 5) {
        samples.push_back(absl::StrCat("rate {", r.rate.ShortDebugString(), "} available ",
                                       r.available, ": expected ", expected, ", got ", actual));
      }
    }
    if (expected > 0) {
      EXPECT_GE(expected, r.rate.minimum_billed_seconds());  // the minimum is respected
    }
  }
  EXPECT_EQ(mismatches, 0);
  for (const std::string& sample : samples) ADD_FAILURE() << sample;
}

// The brute force restricted to increments that divide a day, where the cap is a whole
// number of increments whatever the reading of "at most a day".
TEST(MaxCallSecondsTest, AgreesWithBruteForceWhenTheIncrementDividesADay) {
  std::mt19937_64 random(1440);
  int checked = 0;
  for (int trial = 0; trial < 3000 && checked < 1000; ++trial) {
    RandomRate r = MakeRandomRate(random);
    if (kMaxCallSeconds % IncrementOf(r.rate) != 0) continue;
    ++checked;
    ASSERT_EQ(MaxCallSeconds(r.rate, r.available), BruteForceMaxCallSeconds(r.rate, r.available))
        << r.rate.ShortDebugString() << " available " << r.available;
  }
  EXPECT_EQ(checked, 1000);
}

// ---------------------------------------------------------------------------------------
// MaxExtraSeconds

TEST(MaxExtraSecondsTest, WholeIncrementsWithoutFeeOrMinimum) {
  v1::RateMicros rate = Rate(500000, 1200000, 60, 120);
  EXPECT_EQ(MaxExtraSeconds(rate, 1199999), 0u);
  EXPECT_EQ(MaxExtraSeconds(rate, 1200000), 60u);
  EXPECT_EQ(MaxExtraSeconds(rate, 3000000), 120u);
  v1::RateMicros fractional = Rate(0, 12500, 1, 0);
  EXPECT_EQ(MaxExtraSeconds(fractional, 208), 0u);
  EXPECT_EQ(MaxExtraSeconds(fractional, 209), 1u);
  EXPECT_EQ(MaxExtraSeconds(fractional, 12709), 61u);
}

TEST(MaxExtraSecondsTest, NothingAvailableAddsNothing) {
  v1::RateMicros rate = Rate(0, 1200000, 1, 0);
  EXPECT_EQ(MaxExtraSeconds(rate, 0), 0u);
  EXPECT_EQ(MaxExtraSeconds(rate, -1000000), 0u);
}

TEST(MaxExtraSecondsTest, ZeroPriceAndCap) {
  EXPECT_EQ(MaxExtraSeconds(Rate(0, 0, 60, 0), 1), kMaxCallSeconds);
  EXPECT_EQ(MaxExtraSeconds(Rate(0, 1, 1, 0), INT64_MAX), kMaxCallSeconds);
}

TEST(MaxExtraSecondsTest, AgreesWithBruteForce) {
  std::mt19937_64 random(3600);
  int mismatches = 0;
  std::vector<std::string> samples;
  for (int trial = 0; trial < 1500; ++trial) {
    RandomRate r = MakeRandomRate(random);
    if (r.available <= 0) continue;
    uint64_t expected = BruteForceMaxExtraSeconds(r.rate, r.available);
    uint64_t actual = MaxExtraSeconds(r.rate, r.available);
    if (actual != expected) {
      ++mismatches;
      if (samples.size() < 5) {
        samples.push_back(absl::StrCat("rate {", r.rate.ShortDebugString(), "} available ",
                                       r.available, ": expected ", expected, ", got ", actual));
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  for (const std::string& sample : samples) ADD_FAILURE() << sample;
}

TEST(MaxExtraSecondsTest, AgreesWithBruteForceWhenTheIncrementDividesADay) {
  std::mt19937_64 random(60);
  int checked = 0;
  for (int trial = 0; trial < 3000 && checked < 1000; ++trial) {
    RandomRate r = MakeRandomRate(random);
    if (r.available <= 0 || kMaxCallSeconds % IncrementOf(r.rate) != 0) continue;
    ++checked;
    ASSERT_EQ(MaxExtraSeconds(r.rate, r.available), BruteForceMaxExtraSeconds(r.rate, r.available))
        << r.rate.ShortDebugString() << " available " << r.available;
  }
  EXPECT_EQ(checked, 1000);
}

TEST(MaxExtraSecondsTest, CapIsAWholeNumberOfIncrements) {
  EXPECT_EQ(MaxExtraSeconds(Rate(0, 0, 7, 0), 1), 86394u);
  EXPECT_EQ(MaxExtraSeconds(Rate(0, 1, 13, 0), 1000000000000), 86398u);
}

// ---------------------------------------------------------------------------------------
// ParseRate and HasRate

TEST(ParseRateTest, ParsesExactMicros) {
  absl::StatusOr<v1::RateMicros> rate = ParseRate(MakeRate("0.10", "0.0125", 6, 60));
  ASSERT_TRUE(rate.ok()) << rate.status();
  EXPECT_EQ(rate->connect_fee_micros(), 100000);
  EXPECT_EQ(rate->price_per_minute_micros(), 12500);
  EXPECT_EQ(rate->billing_increment_seconds(), 6u);
  EXPECT_EQ(rate->minimum_billed_seconds(), 60u);
}

TEST(ParseRateTest, FeeIsOptionalAndLimitsAreInclusive) {
  absl::StatusOr<v1::RateMicros> rate = ParseRate(MakeRate("", "1.2", 3600, 3600));
  ASSERT_TRUE(rate.ok()) << rate.status();
  EXPECT_EQ(rate->connect_fee_micros(), 0);
  EXPECT_EQ(rate->price_per_minute_micros(), 1200000);
  EXPECT_TRUE(ParseRate(MakeRate("0", "0")).ok());
  EXPECT_TRUE(ParseRate(MakeRate("1000000", "1000000")).ok());
  EXPECT_TRUE(ParseRate(MakeRate("0.000001", "0.000001")).ok());
}

TEST(ParseRateTest, RejectsAMissingPrice) {
  ExpectInvalid(MakeRate("0.10", ""), "rate.price_per_minute");
  ExpectInvalid(MakeRate("", "", 60, 60), "rate.price_per_minute");
}

TEST(ParseRateTest, RejectsNegativeMoney) {
  ExpectInvalid(MakeRate("", "-0.01"), "rate.price_per_minute");
  ExpectInvalid(MakeRate("-0.10", "1.20"), "rate.connect_fee");
}

TEST(ParseRateTest, RejectsMalformedMoney) {
  ExpectInvalid(MakeRate("", "0.0000001"), "rate.price_per_minute");  // 7 decimals
  ExpectInvalid(MakeRate("0.1234567", "1"), "rate.connect_fee");
  ExpectInvalid(MakeRate("", "1e2"), "rate.price_per_minute");
  ExpectInvalid(MakeRate("", "abc"), "rate.price_per_minute");
  ExpectInvalid(MakeRate("", "1.20 "), "rate.price_per_minute");
  ExpectInvalid(MakeRate("1,5", "1"), "rate.connect_fee");
}

TEST(ParseRateTest, RejectsPricesBeyondTheBounds) {
  ExpectInvalid(MakeRate("", "1000000.000001"), "rate.price_per_minute");
  ExpectInvalid(MakeRate("1000000.000001", "1"), "rate.connect_fee");
  ExpectInvalid(MakeRate("", "99999999999999999999"), "rate.price_per_minute");
}

TEST(ParseRateTest, RejectsIncrementsAndMinimumsOverAnHour) {
  ExpectInvalid(MakeRate("", "1", 3601, 0), "rate.billing_increment_seconds");
  ExpectInvalid(MakeRate("", "1", 60, 3601), "rate.minimum_billed_seconds");
  ExpectInvalid(MakeRate("", "1", 4000000000u, 0), "rate.billing_increment_seconds");
}

TEST(HasRateTest, AnyFieldMakesARate) {
  EXPECT_FALSE(HasRate(v1::Rate()));
  EXPECT_TRUE(HasRate(MakeRate("0.10", "")));
  EXPECT_TRUE(HasRate(MakeRate("", "1")));
  EXPECT_TRUE(HasRate(MakeRate("", "", 60, 0)));
  EXPECT_TRUE(HasRate(MakeRate("", "", 0, 60)));
}

}  // namespace
}  // namespace callbackledger
