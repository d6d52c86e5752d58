// Page tokens of the listings, the searches and the cost report. The input is split into a
// token and the values a token could stand for. Asserts: decoding any token either fails
// with INVALID_ARGUMENT naming page_token, or gives what a token made from the result
// decodes to as well (a listing position > 0; a search's position and count; a report key
// that starts with the report's prefix, for the report's range); decode(encode(x)) == x for
// every listing position, search position and count, and cost report key, range and totals.
// Search and report tokens are tagged with the ledger's key: one of the fuzzer's own here.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz/property.h"
#include "ledger/page_token.h"
#include "ledger/secrets.h"
#include "projections/rows.h"

namespace callbackledger {
namespace {

constexpr char kPageTokenError[] = "page_token: ";

const Secrets& FuzzSecrets() {
  static const Secrets* secrets = new Secrets(std::string(kSecretKeyBytes, 'f'));
  return *secrets;
}

template <typename T>
void CheckRejection(const absl::StatusOr<T>& result, const std::string& token) {
  PROPERTY(result.status().code() == absl::StatusCode::kInvalidArgument, token);
  PROPERTY(result.status().message().substr(0, sizeof(kPageTokenError) - 1) == kPageTokenError,
           token);
  PROPERTY(IsPrintableAscii(result.status().message()), token);
}

void CheckListing(const std::string& token, uint64_t position) {
  absl::StatusOr<uint64_t> read = ReadPageToken("callerids", token);
  if (!read.ok()) {
    CheckRejection(read, token);
  } else if (!token.empty()) {
    PROPERTY(*read > 0, token);
    PROPERTY(ReadPageToken("callerids", MakePageToken("callerids", *read)).value() == *read, token);
    PROPERTY(!ReadPageToken("recharges", token).ok(), token);
  }
  if (position == 0) return;
  const std::string made = MakePageToken("recharges", position);
  absl::StatusOr<uint64_t> back = ReadPageToken("recharges", made);
  PROPERTY(back.ok() && *back == position, made);
}

void CheckSearch(const std::string& token, const std::string& search, uint64_t position,
                 uint64_t total) {
  absl::StatusOr<std::optional<SearchPosition>> read =
      ReadSearchPageToken(search, token, FuzzSecrets());
  if (!read.ok()) {
    CheckRejection(read, token);
  } else if (read->has_value()) {
    const std::string again = MakeSearchPageToken(search, **read, FuzzSecrets());
    absl::StatusOr<std::optional<SearchPosition>> reread =
        ReadSearchPageToken(search, again, FuzzSecrets());
    PROPERTY(reread.ok() && reread->has_value() && (*reread)->position == (*read)->position &&
                 (*reread)->total == (*read)->total,
             token);
  }
  const std::string made = MakeSearchPageToken(search, {position, total}, FuzzSecrets());
  absl::StatusOr<std::optional<SearchPosition>> back =
      ReadSearchPageToken(search, made, FuzzSecrets());
  PROPERTY(
      back.ok() && back->has_value() && (*back)->position == position && (*back)->total == total,
      made);
  PROPERTY(!ReadSearchPageToken(search + "0", made, FuzzSecrets()).ok(), made);
}

void CheckReport(const std::string& token, const std::string& extension, int64_t started,
                 uint64_t sequence, uint64_t total) {
  const std::string key = CallKeyByExtension(extension, started, sequence);
  const std::string prefix = key.substr(0, 1 + extension.size() + 1);  // "e", extension, NUL
  const int64_t start = started / 2;
  const int64_t end = INT64_MAX;
  absl::StatusOr<std::optional<ReportPosition>> read =
      ReadReportPageToken(prefix, start, end, token, FuzzSecrets());
  if (!read.ok()) {
    CheckRejection(read, token);
  } else if (read->has_value()) {
    PROPERTY((*read)->last_key.substr(0, prefix.size()) == prefix, token);
    PROPERTY((*read)->start_micros == start && (*read)->end_micros == end, token);
  }
  ReportPosition position;
  position.last_key = key;
  position.start_micros = start;
  position.end_micros = end;
  position.total_calls = total;
  position.total_duration_seconds = sequence;
  position.total_cost_micros = absl::MakeInt128(started, total);
  position.total_uncollected_micros = -static_cast<absl::int128>(total);
  const std::string made = MakeReportPageToken(position, FuzzSecrets());
  absl::StatusOr<std::optional<ReportPosition>> back =
      ReadReportPageToken(prefix, start, end, made, FuzzSecrets());
  PROPERTY(back.ok() && back->has_value() && (*back)->last_key == key &&
               (*back)->total_calls == total && (*back)->total_duration_seconds == sequence &&
               (*back)->total_cost_micros == position.total_cost_micros &&
               (*back)->total_uncollected_micros == position.total_uncollected_micros,
           key);
}

}  // namespace
}  // namespace callbackledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const uint64_t position = input.ConsumeIntegral<uint64_t>();
  const int64_t started = input.ConsumeIntegral<int64_t>();
  const uint64_t sequence = input.ConsumeIntegral<uint64_t>();
  const uint64_t total = input.ConsumeIntegral<uint64_t>();
  // Row keys name an extension (1-32 bytes; the server validates it before it looks); a
  // search's terms are whatever the server made canonical.
  const std::string extension = input.ConsumeRandomLengthString(32);
  const std::string search = input.ConsumeRandomLengthString(64);
  const std::string token = input.ConsumeRemainingBytesAsString();
  callbackledger::CheckListing(token, position);
  callbackledger::CheckSearch(token, search, position, total);
  if (!extension.empty()) callbackledger::CheckReport(token, extension, started, sequence, total);
  return 0;
}
