#include "ledger/page_token.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace callbackledger {
namespace {

constexpr size_t kMaxListingTokenLength = 64;
constexpr size_t kMaxReportTokenLength = 512;
constexpr std::string_view kReportPrefix = "calls:";

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

std::string MakePageToken(std::string_view kind, uint64_t position) {
  return absl::WebSafeBase64Escape(absl::StrCat(ToAbsl(kind), ":", position));
}

absl::StatusOr<uint64_t> ReadPageToken(std::string_view kind, std::string_view token) {
  if (token.empty()) return 0;
  std::string raw;
  uint64_t position = 0;
  const std::string prefix = absl::StrCat(ToAbsl(kind), ":");
  if (token.size() > kMaxListingTokenLength || !absl::WebSafeBase64Unescape(ToAbsl(token), &raw) ||
      raw.compare(0, prefix.size(), prefix) != 0 ||
      !absl::SimpleAtoi(absl::string_view(raw).substr(prefix.size()), &position) || position == 0 ||
      MakePageToken(kind, position) != token) {  // only the token a listing made: no "+7" or " 7"
    return absl::InvalidArgumentError(
        "page_token: not a next_page_token of this listing; start again without one");
  }
  return position;
}

std::string MakeReportPageToken(std::string_view last_key) {
  return absl::WebSafeBase64Escape(absl::StrCat(ToAbsl(kReportPrefix), ToAbsl(last_key)));
}

absl::StatusOr<std::string> ReadReportPageToken(std::string_view prefix, std::string_view token) {
  if (token.empty()) return std::string();
  std::string raw;
  if (token.size() > kMaxReportTokenLength || !absl::WebSafeBase64Unescape(ToAbsl(token), &raw) ||
      raw.compare(0, kReportPrefix.size(), kReportPrefix) != 0 ||
      raw.compare(kReportPrefix.size(), prefix.size(), prefix) != 0) {
    return absl::InvalidArgumentError(
        "page_token: not a next_page_token of this report; start again without one");
  }
  return raw.substr(kReportPrefix.size());
}

}  // namespace callbackledger
