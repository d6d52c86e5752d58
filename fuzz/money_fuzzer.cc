// ParseMoney on any bytes. Asserts: an accepted amount formats back, with any number of
// decimals, to text that shows at least those decimals and parses to the same micros (so
// formatting never rounds); a rejected one gets INVALID_ARGUMENT with a printable message
// that names the field.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/property.h"
#include "ledger/money.h"

namespace callbackledger {
namespace {

void CheckRoundTrip(int64_t micros, const std::string& input) {
  for (int decimals = 0; decimals <= kMaxMoneyDecimals; ++decimals) {
    const std::string text = FormatMoney(micros, decimals);
    absl::StatusOr<int64_t> again = ParseMoney("amount", text);
    PROPERTY(again.ok(), input + " formatted as " + text);
    PROPERTY(*again == micros, input + " formatted as " + text);
    const size_t dot = text.find('.');
    const size_t shown = dot == std::string::npos ? 0 : text.size() - dot - 1;
    PROPERTY(shown >= static_cast<size_t>(decimals), input + " formatted as " + text);
  }
}

}  // namespace
}  // namespace callbackledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using callbackledger::ParseMoney;
  const std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<int64_t> micros = ParseMoney("amount", input);
  if (!micros.ok()) {
    PROPERTY(micros.status().code() == absl::StatusCode::kInvalidArgument, input);
    PROPERTY(micros.status().message().substr(0, 7) == "amount:", input);
    PROPERTY(callbackledger::IsPrintableAscii(micros.status().message()), input);
    return 0;
  }
  callbackledger::CheckRoundTrip(*micros, input);
  return 0;
}
