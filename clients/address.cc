#include "clients/address.h"

#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace callbackledger {

bool IsLoopbackHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  const absl::string_view host = absl::string_view(address).substr(0, colon);
  const absl::string_view port = absl::string_view(address).substr(colon + 1);
  int port_number = 0;
  if (port.empty() || port.size() > 5 || !absl::c_all_of(port, absl::ascii_isdigit) ||
      !absl::SimpleAtoi(port, &port_number) || port_number < 0 || port_number > 65535) {
    return false;
  }
  if (host == "localhost" || host == "[::1]") return true;
  const std::vector<absl::string_view> numbers = absl::StrSplit(host, '.');
  if (numbers.size() != 4 || numbers[0] != "127") return false;
  for (absl::string_view number : numbers) {
    int value = 0;
    if (number.empty() || number.size() > 3 || !absl::c_all_of(number, absl::ascii_isdigit) ||
        !absl::SimpleAtoi(number, &value) || value > 255) {
      return false;
    }
  }
  return true;
}

bool IsLoopbackTarget(const std::string& target) {
  if (absl::StartsWith(target, "unix:") || absl::StartsWith(target, "unix-abstract:")) {
    return true;
  }
  absl::string_view rest = target;
  if (absl::ConsumePrefix(&rest, "ipv4:") || absl::ConsumePrefix(&rest, "ipv6:")) {
    // A list of addresses, every one of which must be on loopback.
    for (absl::string_view address : absl::StrSplit(rest, ',')) {
      if (!IsLoopbackHostPort(std::string(address))) return false;
    }
    return true;
  }
  if (!absl::ConsumePrefix(&rest, "dns:///")) absl::ConsumePrefix(&rest, "dns:");
  return IsLoopbackHostPort(std::string(rest));
}
}  // namespace callbackledger
