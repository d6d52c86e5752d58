// Syntactic checks of outside input. Each returns OK or INVALID_ARGUMENT with a message
// that names the field and says what is wrong; none of them looks at ledger state.
#ifndef CALLBACKLEDGER_LEDGER_VALIDATE_H_
#define CALLBACKLEDGER_LEDGER_VALIDATE_H_

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"

namespace callbackledger {

inline constexpr size_t kMaxExtensionLength = 32;
inline constexpr size_t kMinCallbackDigits = 3;
inline constexpr size_t kMaxCallbackDigits = 20;
inline constexpr size_t kMinPinDigits = 4;
inline constexpr size_t kMaxPinDigits = 12;
inline constexpr size_t kMaxOrderNoLength = 64;
inline constexpr size_t kMaxDescriptionLength = 256;
inline constexpr size_t kMaxRequestIdLength = 128;

// An extension number such as "0003*005": 1-32 characters, each a digit, a letter,
// '*', '#', '-', '_' or '.'.
absl::Status ValidateExtension(std::string_view extension);

// An authorized number: an optional leading '+' and 3-20 digits, nothing else.
absl::Status ValidateCallbackNumber(std::string_view field, std::string_view number);

// A PIN: 4-12 digits. The message never repeats the PIN itself.
absl::Status ValidatePin(std::string_view pin);

// Free text such as an order number or a description: at most `max_length` bytes, valid
// UTF-8, no control characters (tab excluded). Empty is allowed.
absl::Status ValidateText(std::string_view field, std::string_view text, size_t max_length);

// An idempotency key: empty, or 1-128 bytes of printable ASCII (0x20-0x7E, space included).
absl::Status ValidateRequestId(std::string_view request_id);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_VALIDATE_H_
