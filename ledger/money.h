// Exact money. All money in the ledger is a signed 64-bit count of millionths of the
// currency unit ("micros"); there is no floating point anywhere. In the API money is a
// decimal string: "10.50", "-10", "0.0125".
#ifndef CALLBACKLEDGER_LEDGER_MONEY_H_
#define CALLBACKLEDGER_LEDGER_MONEY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"

namespace callbackledger {

inline constexpr int64_t kMicrosPerUnit = 1000000;
inline constexpr int kMaxMoneyDecimals = 6;

// Parses a decimal money string: an optional sign ('+' or '-'), one or more digits, and
// optionally '.' followed by 1-6 digits. No exponent, no spaces, no thousands separators.
// Returns INVALID_ARGUMENT, with a message that starts with `field` and says what is
// wrong, for anything else or for a value that does not fit in int64 micros.
absl::StatusOr<int64_t> ParseMoney(std::string_view field, std::string_view text);

// Formats micros with at least `decimals` decimals (0-6), and more where the value needs
// them, never rounding: FormatMoney(10500000, 2) == "10.50",
// FormatMoney(12500, 2) == "0.0125", FormatMoney(-10000000, 0) == "-10".
std::string FormatMoney(int64_t micros, int decimals);
// The same for a sum of amounts, which may lie beyond int64 micros (a report's totals).
std::string FormatMoneyTotal(absl::int128 micros, int decimals);

// a + b, or nullopt when it overflows int64.
std::optional<int64_t> CheckedAdd(int64_t a, int64_t b);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_MONEY_H_
