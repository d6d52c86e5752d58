#include "ledger/money.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace callbackledger {
namespace {

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// At most this many bytes of the offending input are repeated in an error message.
constexpr size_t kMaxQuotedLength = 40;

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The input in double quotes for an error message: at most kMaxQuotedLength bytes of it,
// followed by "..." when cut, with quotes, backslashes, control characters and non-ASCII
// bytes escaped so that the message is safe to log.
std::string Quote(std::string_view text) {
  const bool cut = text.size() > kMaxQuotedLength;
  return absl::StrCat("\"", absl::CHexEscape(ToAbsl(text.substr(0, kMaxQuotedLength))), "\"",
                      cut ? "..." : "");
}

absl::Status Invalid(std::string_view field, std::string_view problem, std::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat(ToAbsl(field), ": ", ToAbsl(problem), " in ", Quote(text)));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Why `c` cannot appear in a money string at all.
std::string DescribeBadCharacter(char c) {
  if (IsSpace(c)) return "whitespace is not allowed";
  if (c == 'e' || c == 'E') return "exponent notation is not allowed";
  if (c == ',' || c == '_' || c == '\'') return "digit group separators are not allowed";
  return absl::StrCat("unexpected character '", absl::CHexEscape(std::string(1, c)), "'");
}

}  // namespace

absl::StatusOr<int64_t> ParseMoney(std::string_view field, std::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(field), ": is empty; expected a decimal amount such as \"10.50\""));
  }

  // Characters that are never allowed, reported with the most helpful explanation.
  for (char c : text) {
    if (!IsDigit(c) && c != '.' && c != '+' && c != '-') {
      return Invalid(field, DescribeBadCharacter(c), text);
    }
  }

  std::string_view rest = text;
  bool negative = false;
  if (rest.front() == '+' || rest.front() == '-') {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  if (rest.empty()) return Invalid(field, "a sign without digits", text);
  if (rest.find_first_of("+-") != std::string_view::npos) {
    return Invalid(field, "a sign is only allowed at the start", text);
  }

  const size_t dot = rest.find('.');
  std::string_view int_digits = rest.substr(0, dot);
  std::string_view frac_digits;
  if (dot != std::string_view::npos) {
    frac_digits = rest.substr(dot + 1);
    if (frac_digits.find('.') != std::string_view::npos) {
      return Invalid(field, "more than one '.'", text);
    }
    if (int_digits.empty()) return Invalid(field, "a digit is required before '.'", text);
    if (frac_digits.empty()) return Invalid(field, "a digit is required after '.'", text);
  }
  if (frac_digits.size() > static_cast<size_t>(kMaxMoneyDecimals)) {
    return Invalid(field, absl::StrCat("more than ", kMaxMoneyDecimals, " decimals"), text);
  }

  // Accumulate the micros as a non-positive number so that INT64_MIN, whose magnitude
  // has no positive int64, is reachable; leading zeros never overflow.
  int64_t acc = 0;
  bool overflow = false;
  auto push_digit = [&acc, &overflow](int d) {
    if (acc < (kInt64Min + d) / 10) {
      overflow = true;
    } else {
      acc = acc * 10 - d;
    }
  };
  for (char c : int_digits) push_digit(c - '0');
  for (char c : frac_digits) push_digit(c - '0');
  for (size_t i = frac_digits.size(); i < static_cast<size_t>(kMaxMoneyDecimals); ++i) {
    push_digit(0);
  }
  if (!overflow && !negative && acc == kInt64Min) overflow = true;
  if (overflow) {
    return Invalid(field,
                   absl::StrCat("value out of range (must be between ", FormatMoney(kInt64Min, 0),
                                " and ", FormatMoney(kInt64Max, 0), ")"),
                   text);
  }
  return negative ? acc : -acc;
}

std::string FormatMoney(int64_t micros, int decimals) {
  if (decimals < 0) decimals = 0;
  if (decimals > kMaxMoneyDecimals) decimals = kMaxMoneyDecimals;

  // The magnitude in unsigned arithmetic, which is exact for INT64_MIN too.
  const uint64_t magnitude =
      micros < 0 ? uint64_t{0} - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  const uint64_t units = magnitude / static_cast<uint64_t>(kMicrosPerUnit);
  uint64_t fraction = magnitude % static_cast<uint64_t>(kMicrosPerUnit);

  // The six decimals, most significant first, then trailing zeros beyond `decimals`
  // dropped; nothing non-zero is ever dropped, so there is no rounding.
  char frac[kMaxMoneyDecimals];
  for (int i = kMaxMoneyDecimals - 1; i >= 0; --i) {
    frac[i] = static_cast<char>('0' + fraction % 10);
    fraction /= 10;
  }
  int shown = kMaxMoneyDecimals;
  while (shown > decimals && frac[shown - 1] == '0') --shown;

  std::string out = micros < 0 ? "-" : "";
  absl::StrAppend(&out, units);
  if (shown > 0) {
    out.push_back('.');
    out.append(frac, static_cast<size_t>(shown));
  }
  return out;
}

std::string FormatMoneyTotal(absl::int128 micros, int decimals) {
  if (micros >= std::numeric_limits<int64_t>::min() &&
      micros <= std::numeric_limits<int64_t>::max()) {
    return FormatMoney(static_cast<int64_t>(micros), decimals);
  }
  // Beyond int64: the whole units' digits, then the fraction as FormatMoney shows it
  // ("0.50" without its "0").
  const absl::uint128 magnitude =
      micros < 0 ? absl::uint128(0) - absl::uint128(micros) : absl::uint128(micros);
  absl::uint128 units = magnitude / static_cast<uint64_t>(kMicrosPerUnit);
  const int64_t fraction =
      static_cast<int64_t>(absl::Uint128Low64(magnitude % static_cast<uint64_t>(kMicrosPerUnit)));
  char digits[40];  // 2^128 has 39 decimal digits
  size_t first = sizeof(digits);
  do {
    digits[--first] = static_cast<char>('0' + absl::Uint128Low64(units % 10));
    units /= 10;
  } while (units != 0);
  std::string out = micros < 0 ? "-" : "";
  out.append(digits + first, sizeof(digits) - first);
  out.append(FormatMoney(fraction, decimals).substr(1));
  return out;
}

std::optional<int64_t> CheckedAdd(int64_t a, int64_t b) {
  if (b > 0 && a > kInt64Max - b) return std::nullopt;
  if (b < 0 && a < kInt64Min - b) return std::nullopt;
  return a + b;
}

}  // namespace callbackledger
