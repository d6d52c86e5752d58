// Page tokens of the listings and the cost report. They are opaque to clients (web-safe
// base64); a token that is not one this server made gets INVALID_ARGUMENT naming page_token.
#ifndef CALLBACKLEDGER_LEDGER_PAGE_TOKEN_H_
#define CALLBACKLEDGER_LEDGER_PAGE_TOKEN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace callbackledger {

// A listing's token: "<kind>:<position>" (position > 0), e.g. kind "callerids" and the last
// CallerID id of the page.
std::string MakePageToken(std::string_view kind, uint64_t position);

// The position of a listing token of `kind`; 0 for an empty token (the first page).
absl::StatusOr<uint64_t> ReadPageToken(std::string_view kind, std::string_view token);

// The cost report's token: "calls:" and the last row key of the page.
std::string MakeReportPageToken(std::string_view last_key);

// The last row key of a cost report token whose key starts with `prefix` (the extension's
// or CallerID's rows); "" for an empty token.
absl::StatusOr<std::string> ReadReportPageToken(std::string_view prefix, std::string_view token);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_PAGE_TOKEN_H_
