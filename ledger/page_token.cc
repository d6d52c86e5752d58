#include "ledger/page_token.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "projections/rows.h"

namespace callbackledger {
namespace {

constexpr size_t kTagBytes = 32;  // Secrets::Tag
constexpr size_t kMaxListingTokenLength = 64;
constexpr size_t kMaxSearchTokenLength = 96;
// A search's token: "search:", the position and the count in big-endian fields, the tag.
constexpr std::string_view kSearchPrefix = "search:";
constexpr std::string_view kSearchTagPurpose = "search-page-token";
constexpr size_t kMaxReportTokenLength = 512;
// "calls2:" (the first tokens, "calls:", held only the key), the range and the totals in
// big-endian fields, the last key, then the tag.
constexpr std::string_view kReportPrefix = "calls2:";
constexpr size_t kReportFixedBytes = 8 * 8;
constexpr std::string_view kReportTagPurpose = "cost-report-page-token";

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Appends `value` as 8 big-endian bytes (the rows' own encoding, projections/rows.h).
void AppendBigEndian(std::string* out, uint64_t value) { out->append(BigEndian64(value)); }

// The 8 big-endian bytes at *p, which it moves past.
uint64_t ReadBigEndian(const char** p) {
  const uint64_t value = ReadBigEndian64(std::string_view(*p, 8));
  *p += 8;
  return value;
}

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

std::string MakeSearchPageToken(std::string_view search, const SearchPosition& position,
                                const Secrets& secrets) {
  std::string raw(kSearchPrefix);
  AppendBigEndian(&raw, position.position);
  AppendBigEndian(&raw, position.total);
  raw.append(secrets.Tag(kSearchTagPurpose, absl::StrCat(ToAbsl(raw), ToAbsl(search))));
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::optional<SearchPosition>> ReadSearchPageToken(std::string_view search,
                                                                  std::string_view token,
                                                                  const Secrets& secrets) {
  if (token.empty()) return std::nullopt;
  std::string raw;
  constexpr size_t kFields = 2 * 8;
  if (token.size() > kMaxSearchTokenLength || !absl::WebSafeBase64Unescape(ToAbsl(token), &raw) ||
      raw.size() != kSearchPrefix.size() + kFields + kTagBytes ||
      raw.compare(0, kSearchPrefix.size(), kSearchPrefix) != 0) {
    return absl::InvalidArgumentError(
        "page_token: not a next_page_token of this search; start again without one");
  }
  const std::string body = raw.substr(0, kSearchPrefix.size() + kFields);
  if (!secrets.TagMatches(kSearchTagPurpose, absl::StrCat(body, ToAbsl(search)),
                          std::string_view(raw).substr(body.size()))) {
    return absl::InvalidArgumentError(
        "page_token: not a next_page_token of this search; start again without one");
  }
  const char* p = body.data() + kSearchPrefix.size();
  SearchPosition position;
  position.position = ReadBigEndian(&p);
  position.total = ReadBigEndian(&p);
  return position;
}

std::string MakeReportPageToken(const ReportPosition& position, const Secrets& secrets) {
  std::string raw(kReportPrefix);
  AppendBigEndian(&raw, static_cast<uint64_t>(position.start_micros));
  AppendBigEndian(&raw, static_cast<uint64_t>(position.end_micros));
  AppendBigEndian(&raw, position.total_calls);
  AppendBigEndian(&raw, position.total_duration_seconds);
  for (absl::int128 total : {position.total_cost_micros, position.total_uncollected_micros}) {
    AppendBigEndian(&raw, static_cast<uint64_t>(absl::Int128High64(total)));
    AppendBigEndian(&raw, absl::Int128Low64(total));
  }
  raw.append(position.last_key);
  raw.append(secrets.Tag(kReportTagPurpose, raw));
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::optional<ReportPosition>> ReadReportPageToken(std::string_view prefix,
                                                                  int64_t start_micros,
                                                                  int64_t end_micros,
                                                                  std::string_view token,
                                                                  const Secrets& secrets) {
  if (token.empty()) return std::nullopt;
  const absl::Status invalid = absl::InvalidArgumentError(
      "page_token: not a next_page_token of this report; start again without one");
  std::string raw;
  if (token.size() > kMaxReportTokenLength || !absl::WebSafeBase64Unescape(ToAbsl(token), &raw) ||
      raw.size() < kReportPrefix.size() + kReportFixedBytes + kTagBytes ||
      raw.compare(0, kReportPrefix.size(), kReportPrefix) != 0) {
    return invalid;
  }
  const std::string_view body(raw.data(), raw.size() - kTagBytes);
  if (!secrets.TagMatches(kReportTagPurpose, body, std::string_view(raw).substr(body.size()))) {
    return invalid;
  }
  const char* p = body.data() + kReportPrefix.size();
  ReportPosition position;
  position.start_micros = static_cast<int64_t>(ReadBigEndian(&p));
  position.end_micros = static_cast<int64_t>(ReadBigEndian(&p));
  position.total_calls = ReadBigEndian(&p);
  position.total_duration_seconds = ReadBigEndian(&p);
  for (absl::int128* total : {&position.total_cost_micros, &position.total_uncollected_micros}) {
    const uint64_t high = ReadBigEndian(&p);
    const uint64_t low = ReadBigEndian(&p);
    *total = absl::MakeInt128(static_cast<int64_t>(high), low);
  }
  position.last_key.assign(p, body.data() + body.size());
  if (position.start_micros != start_micros || position.end_micros != end_micros ||
      position.last_key.compare(0, prefix.size(), prefix) != 0) {
    return invalid;
  }
  return position;
}

}  // namespace callbackledger
