// Page tokens of the listings and the cost report. They are opaque to clients (web-safe
// base64); a token that is not one this server made gets INVALID_ARGUMENT naming page_token.
#ifndef CALLBACKLEDGER_LEDGER_PAGE_TOKEN_H_
#define CALLBACKLEDGER_LEDGER_PAGE_TOKEN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "ledger/secrets.h"

namespace callbackledger {

// A listing's token: "<kind>:<position>" (position > 0), e.g. kind "callerids" and the last
// CallerID id of the page.
std::string MakePageToken(std::string_view kind, uint64_t position);

// The position of a listing token of `kind`; 0 for an empty token (the first page).
absl::StatusOr<uint64_t> ReadPageToken(std::string_view kind, std::string_view token);

// Where a search's page ended (the last id), and how many matches the search has, as its
// first page counted them: a search by number counts over every CallerID, which no later
// page does again.
struct SearchPosition {
  uint64_t position = 0;
  uint64_t total = 0;
};

// A search's token, tagged with the ledger's key over `search` (the search's own terms,
// canonical) as well: valid for that search only, its count cannot be altered.
std::string MakeSearchPageToken(std::string_view search, const SearchPosition& position,
                                const Secrets& secrets);

// The position of a token MakeSearchPageToken made for `search`; nullopt for an empty
// token (the first page).
absl::StatusOr<std::optional<SearchPosition>> ReadSearchPageToken(std::string_view search,
                                                                  std::string_view token,
                                                                  const Secrets& secrets);

// Where a cost report's page ended, which range it is of, and the range's totals, counted
// when its first page was read: no later page counts them again (a range of a million
// calls took seconds a page).
struct ReportPosition {
  std::string last_key;  // the last row key of the page
  int64_t start_micros = 0;
  int64_t end_micros = 0;
  uint64_t total_calls = 0;
  uint64_t total_duration_seconds = 0;
  absl::int128 total_cost_micros = 0;
  absl::int128 total_uncollected_micros = 0;
};

// The cost report's token: the position, tagged with the ledger's key (`secrets`), so that
// a client can neither alter the totals nor give the token for another range.
std::string MakeReportPageToken(const ReportPosition& position, const Secrets& secrets);

// The position of a cost report token made for the range [start_micros, end_micros) whose
// key starts with `prefix` (the extension's or CallerID's rows); nullopt for an empty token
// (the first page).
absl::StatusOr<std::optional<ReportPosition>> ReadReportPageToken(std::string_view prefix,
                                                                  int64_t start_micros,
                                                                  int64_t end_micros,
                                                                  std::string_view token,
                                                                  const Secrets& secrets);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_PAGE_TOKEN_H_
