// ValidatePin on any bytes. Asserts: it accepts exactly 4-12 ASCII digits; a rejection is
// INVALID_ARGUMENT and its message is one of a fixed few that depend only on what kind of
// problem the PIN has (empty, a non-digit, too short, too long), so no message can give
// away anything of the PIN itself.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/property.h"
#include "ledger/validate.h"

namespace callbackledger {
namespace {

// The message the rules give for `pin`, or "" when it is a valid PIN.
std::string ExpectedMessage(const std::string& pin) {
  const std::string expected = "must be 4-12 digits";
  if (pin.empty()) return "pin: is empty; " + expected;
  for (char c : pin) {
    if (c < '0' || c > '9') return "pin: contains a non-digit; " + expected;
  }
  if (pin.size() < kMinPinDigits) return "pin: is too short; " + expected;
  if (pin.size() > kMaxPinDigits) return "pin: is too long; " + expected;
  return "";
}

}  // namespace
}  // namespace callbackledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string pin(reinterpret_cast<const char*>(data), size);
  const absl::Status status = callbackledger::ValidatePin(pin);
  const std::string expected = callbackledger::ExpectedMessage(pin);
  PROPERTY(status.ok() == expected.empty(), pin);
  if (status.ok()) return 0;
  PROPERTY(status.code() == absl::StatusCode::kInvalidArgument, pin);
  PROPERTY(status.message() == expected, pin);
  return 0;
}
