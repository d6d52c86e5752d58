#include "ledger/money.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace callbackledger {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

std::string Message(const absl::Status& status) { return std::string(status.message()); }

struct ParseCase {
  std::string_view text;
  int64_t micros;
};

TEST(ParseMoneyTest, AcceptsValidAmounts) {
  const std::vector<ParseCase> cases = {
      {"0", 0},
      {"-0", 0},
      {"+0", 0},
      {"0.0", 0},
      {"-0.000000", 0},
      {"1", 1000000},
      {"+1", 1000000},
      {"-1", -1000000},
      {"10", 10000000},
      {"-10", -10000000},
      {"10.5", 10500000},
      {"10.50", 10500000},
      {"-10.50", -10500000},
      {"0.0125", 12500},
      {"0.000001", 1},
      {"-0.000001", -1},
      {"0.1", 100000},
      {"0.123456", 123456},
      {"123.456789", 123456789},
      {"007", 7000000},
      {"007.500000", 7500000},
      {"00000000000000000000000000000001", 1000000},
      {"00000000000000000000000000000000.000001", 1},
      {"9223372036854", 9223372036854000000},
      {"9223372036854.775807", kMax},
      {"+9223372036854.775807", kMax},
      {"9223372036854.7758", 9223372036854775800},
      {"-9223372036854.775807", -kMax},
      {"-9223372036854.775808", kMin},
      {"-09223372036854.775808", kMin},
  };
  for (const ParseCase& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<int64_t> parsed = ParseMoney("amount", c.text);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, c.micros);
  }
}

struct RejectCase {
  std::string_view text;
  // A part of the message that says what is wrong.
  std::string_view problem;
};

TEST(ParseMoneyTest, RejectsMalformedAmounts) {
  const std::vector<RejectCase> cases = {
      // Empty and bare signs.
      {"", "empty"},
      {"+", "sign without digits"},
      {"-", "sign without digits"},
      // Misplaced or repeated signs.
      {"--1", "sign is only allowed at the start"},
      {"+-1", "sign is only allowed at the start"},
      {"1-", "sign is only allowed at the start"},
      {"1.5-", "sign is only allowed at the start"},
      {"1+2", "sign is only allowed at the start"},
      // Dots.
      {".5", "digit is required before '.'"},
      {"-.5", "digit is required before '.'"},
      {"+.5", "digit is required before '.'"},
      {".", "digit is required before '.'"},
      {"5.", "digit is required after '.'"},
      {"-5.", "digit is required after '.'"},
      {"1.2.3", "more than one '.'"},
      {"1..2", "more than one '.'"},
      // Too many decimals, even when they are zeros.
      {"1.0000001", "more than 6 decimals"},
      {"1.0000000", "more than 6 decimals"},
      {"-0.1234567", "more than 6 decimals"},
      // Exponents.
      {"1e5", "exponent"},
      {"1E5", "exponent"},
      {"1.5e-3", "exponent"},
      {"e", "exponent"},
      // Whitespace anywhere.
      {" 1", "whitespace"},
      {"1 ", "whitespace"},
      {"1 000", "whitespace"},
      {"- 1", "whitespace"},
      {"1\t", "whitespace"},
      {"\n1", "whitespace"},
      // Group separators.
      {"1,000", "separators"},
      {"1_000", "separators"},
      {"1'000", "separators"},
      // Anything else.
      {"abc", "unexpected character 'a'"},
      {"1.5x", "unexpected character 'x'"},
      {"$10", "unexpected character '$'"},
      {"0x10", "unexpected character 'x'"},
      {"inf", "unexpected character 'i'"},
      {"NaN", "unexpected character 'N'"},
      {"\xEF\xBC\x91", "unexpected character '\\xef'"},  // Fullwidth digit one.
      {std::string_view("1\0", 2), "unexpected character '\\x00'"},
      // Out of range.
      {"9223372036854.775808", "out of range"},
      {"-9223372036854.775809", "out of range"},
      {"9223372036855", "out of range"},
      {"-9223372036855", "out of range"},
      {"99999999999999999999", "out of range"},
      {"100000000000000000000000000000000000000", "out of range"},
  };
  for (const RejectCase& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<int64_t> parsed = ParseMoney("amount", c.text);
    ASSERT_FALSE(parsed.ok()) << *parsed;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(parsed.status()), StartsWith("amount: "));
    EXPECT_THAT(Message(parsed.status()), HasSubstr(std::string(c.problem)));
  }
}

TEST(ParseMoneyTest, MessageNamesTheGivenField) {
  absl::StatusOr<int64_t> parsed = ParseMoney("rate.price", "1.0000001");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(Message(parsed.status()), "rate.price: more than 6 decimals in \"1.0000001\"");

  parsed = ParseMoney("initial_credit", "");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(Message(parsed.status()), StartsWith("initial_credit: "));
}

TEST(ParseMoneyTest, OutOfRangeMessageGivesTheLimits) {
  absl::StatusOr<int64_t> parsed = ParseMoney("amount", "9223372036854.775808");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(Message(parsed.status()),
            "amount: value out of range (must be between -9223372036854.775808 and "
            "9223372036854.775807) in \"9223372036854.775808\"");
}

TEST(ParseMoneyTest, QuotesAtMost40CharactersOfTheInput) {
  const std::string long_input = std::string(45, '1') + ".5x";
  absl::StatusOr<int64_t> parsed = ParseMoney("amount", long_input);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(Message(parsed.status()),
            "amount: unexpected character 'x' in \"" + std::string(40, '1') + "\"...");

  // Exactly 40 characters are quoted whole.
  const std::string forty = std::string(39, '1') + "x";
  parsed = ParseMoney("amount", forty);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(Message(parsed.status()), "amount: unexpected character 'x' in \"" + forty + "\"");
}

TEST(ParseMoneyTest, EscapesUnprintableInputInTheMessage) {
  absl::StatusOr<int64_t> parsed = ParseMoney("amount", "1\n\"2");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(Message(parsed.status()), Not(HasSubstr("\n")));
  EXPECT_THAT(Message(parsed.status()), HasSubstr(R"("1\n\"2")"));
}

struct FormatCase {
  int64_t micros;
  int decimals;
  std::string_view text;
};

TEST(FormatMoneyTest, FormatsWithoutRounding) {
  const std::vector<FormatCase> cases = {
      // The examples of the header.
      {10500000, 2, "10.50"},
      {12500, 2, "0.0125"},
      {-10000000, 0, "-10"},
      // Zero never has a sign.
      {0, 0, "0"},
      {0, 2, "0.00"},
      {0, 6, "0.000000"},
      // Minimum decimals, more where needed, trailing zeros beyond the minimum stripped.
      {1000000, 0, "1"},
      {1000000, 1, "1.0"},
      {1000000, 6, "1.000000"},
      {1500000, 0, "1.5"},
      {1500000, 3, "1.500"},
      {1, 0, "0.000001"},
      {1, 6, "0.000001"},
      {-1, 0, "-0.000001"},
      {-1, 2, "-0.000001"},
      {999999, 0, "0.999999"},
      {1999999, 2, "1.999999"},
      {123456789, 2, "123.456789"},
      {123450000, 2, "123.45"},
      {123400000, 2, "123.40"},
      {-123400000, 4, "-123.4000"},
      {100000, 0, "0.1"},
      {10, 0, "0.00001"},
      // Decimals outside 0-6 are clamped.
      {1500000, -1, "1.5"},
      {1000000, -100, "1"},
      {1000000, 7, "1.000000"},
      {1, 100, "0.000001"},
      // The int64 limits.
      {kMax, 0, "9223372036854.775807"},
      {kMax, 6, "9223372036854.775807"},
      {kMin, 0, "-9223372036854.775808"},
      {kMin, 2, "-9223372036854.775808"},
      {kMin + 1, 0, "-9223372036854.775807"},
      {9223372036854000000, 0, "9223372036854"},
      {-9223372036854000000, 2, "-9223372036854.00"},
  };
  for (const FormatCase& c : cases) {
    SCOPED_TRACE(testing::Message() << c.micros << " with " << c.decimals << " decimals");
    EXPECT_EQ(FormatMoney(c.micros, c.decimals), c.text);
  }
}

// Totals of many amounts lie beyond int64 micros and are shown exactly, as amounts are.
TEST(FormatMoneyTest, TotalsBeyondInt64AreExact) {
  const absl::int128 max = kMax;
  EXPECT_EQ(FormatMoneyTotal(max + max, 2), "18446744073709.551614");
  EXPECT_EQ(FormatMoneyTotal(absl::int128(10000000000000) * 1000000 + 500000, 2),
            "10000000000000.50");
  EXPECT_EQ(FormatMoneyTotal(absl::int128(kMin) * 3, 0), "-27670116110564.327424");
  EXPECT_EQ(FormatMoneyTotal(std::numeric_limits<absl::int128>::max(), 0),
            "170141183460469231731687303715884.105727");
  EXPECT_EQ(FormatMoneyTotal(std::numeric_limits<absl::int128>::min(), 0),
            "-170141183460469231731687303715884.105728");
  for (int64_t micros : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{10500000}, kMax, kMin}) {
    for (int decimals = 0; decimals <= kMaxMoneyDecimals; ++decimals) {
      EXPECT_EQ(FormatMoneyTotal(micros, decimals), FormatMoney(micros, decimals));
    }
  }
}

TEST(MoneyRoundTripTest, ParseOfFormatIsIdentity) {
  const std::vector<int64_t> values = {
      0,        1,        -1,       9,        10,        999999,        1000000,
      -1000000, 1000001,  10500000, 12500,    123456789, -123456789,    kMax,
      kMin,     kMax - 1, kMin + 1, kMax / 7, kMin / 3,  1000000000000, -999999999999999,
  };
  for (int64_t micros : values) {
    for (int decimals = 0; decimals <= kMaxMoneyDecimals; ++decimals) {
      const std::string text = FormatMoney(micros, decimals);
      SCOPED_TRACE(text);
      absl::StatusOr<int64_t> parsed = ParseMoney("amount", text);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      EXPECT_EQ(*parsed, micros);
    }
  }
}

TEST(MoneyRoundTripTest, FormatOfParseIsCanonical) {
  const std::vector<std::pair<std::string_view, std::string_view>> cases = {
      {"10.5", "10.50"},          {"+10.50", "10.50"},  {"-0", "0.00"},
      {"-0.000", "0.00"},         {"007.1", "7.10"},    {"0.0125", "0.0125"},
      {"-0.000001", "-0.000001"}, {"5.000000", "5.00"},
  };
  for (const auto& [input, canonical] : cases) {
    SCOPED_TRACE(input);
    absl::StatusOr<int64_t> parsed = ParseMoney("amount", input);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(FormatMoney(*parsed, 2), canonical);
  }
}

struct AddCase {
  int64_t a;
  int64_t b;
  std::optional<int64_t> sum;
};

TEST(CheckedAddTest, AddsOrReportsOverflow) {
  const std::vector<AddCase> cases = {
      {0, 0, 0},
      {1, 2, 3},
      {-1, -2, -3},
      {5, -7, -2},
      {kMax, 0, kMax},
      {kMin, 0, kMin},
      {kMax, -1, kMax - 1},
      {kMin, 1, kMin + 1},
      {kMax, kMin, -1},
      {kMin, kMax, -1},
      {kMax - 1, 1, kMax},
      {kMin + 1, -1, kMin},
      {kMax, 1, std::nullopt},
      {1, kMax, std::nullopt},
      {kMax, kMax, std::nullopt},
      {kMin, -1, std::nullopt},
      {-1, kMin, std::nullopt},
      {kMin, kMin, std::nullopt},
      {kMax / 2 + 1, kMax / 2 + 1, std::nullopt},
  };
  for (const AddCase& c : cases) {
    SCOPED_TRACE(testing::Message() << c.a << " + " << c.b);
    EXPECT_EQ(CheckedAdd(c.a, c.b), c.sum);
  }
}

}  // namespace
}  // namespace callbackledger
