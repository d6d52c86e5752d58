// The CallerID's identifying fields on any bytes: ValidateCallbackNumber and
// ValidateExtension. Asserts: each accepts exactly what a direct reading of its rule
// accepts (numbers: optional '+' and 3-20 digits; extensions: 1-32 of digits, letters and
// "*#-_."); an accepted value is accepted again unchanged (validation never depends on
// anything but the text); a rejection is INVALID_ARGUMENT with a printable message that
// starts with the field's name.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fuzz/property.h"
#include "ledger/validate.h"

namespace callbackledger {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool NumberRule(std::string_view number) {
  if (!number.empty() && number.front() == '+') number.remove_prefix(1);
  if (number.size() < kMinCallbackDigits || number.size() > kMaxCallbackDigits) return false;
  for (char c : number) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

bool ExtensionRule(std::string_view extension) {
  if (extension.empty() || extension.size() > kMaxExtensionLength) return false;
  for (char c : extension) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!IsDigit(c) && !letter && std::string_view("*#-_.").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

void CheckVerdict(const absl::Status& status, bool rule, std::string_view field,
                  const std::string& input) {
  PROPERTY(status.ok() == rule, input);
  if (status.ok()) return;
  PROPERTY(status.code() == absl::StatusCode::kInvalidArgument, input);
  PROPERTY(absl::StartsWith(status.message(), absl::StrCat(std::string(field), ": ")), input);
  PROPERTY(IsPrintableAscii(status.message()), input);
}

}  // namespace
}  // namespace callbackledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace callbackledger;  // NOLINT(build/namespaces): a fuzz target's entry point
  const std::string input(reinterpret_cast<const char*>(data), size);
  CheckVerdict(ValidateCallbackNumber("callback_number", input), NumberRule(input),
               "callback_number", input);
  CheckVerdict(ValidateExtension(input), ExtensionRule(input), "extension", input);
  return 0;
}
