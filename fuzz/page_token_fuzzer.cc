// Page tokens of the listings and the cost report. The input is split into a token and the
// values a token could stand for. Asserts: decoding any token either fails with
// INVALID_ARGUMENT naming page_token, or gives what a token made from the result decodes
// to as well (a listing position > 0; a report key that starts with the report's prefix);
// decode(encode(x)) == x for every listing position and every cost report row key.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/property.h"
#include "ledger/page_token.h"
#include "projections/rows.h"

namespace callbackledger {
namespace {

constexpr char kPageTokenError[] = "page_token: ";

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

void CheckReport(const std::string& token, const std::string& extension, int64_t started,
                 uint64_t sequence) {
  const std::string key = CallKeyByExtension(extension, started, sequence);
  const std::string prefix = key.substr(0, 1 + extension.size() + 1);  // "e", extension, NUL
  absl::StatusOr<std::string> read = ReadReportPageToken(prefix, token);
  if (!read.ok()) {
    CheckRejection(read, token);
  } else if (!token.empty()) {
    PROPERTY(read->substr(0, prefix.size()) == prefix, token);
    PROPERTY(ReadReportPageToken(prefix, MakeReportPageToken(*read)).value() == *read, token);
  }
  absl::StatusOr<std::string> back = ReadReportPageToken(prefix, MakeReportPageToken(key));
  PROPERTY(back.ok() && *back == key, key);
}

}  // namespace
}  // namespace callbackledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const uint64_t position = input.ConsumeIntegral<uint64_t>();
  const int64_t started = input.ConsumeIntegral<int64_t>();
  const uint64_t sequence = input.ConsumeIntegral<uint64_t>();
  // Row keys name an extension (1-32 bytes; the server validates it before it looks).
  const std::string extension = input.ConsumeRandomLengthString(32);
  const std::string token = input.ConsumeRemainingBytesAsString();
  callbackledger::CheckListing(token, position);
  if (!extension.empty()) callbackledger::CheckReport(token, extension, started, sequence);
  return 0;
}
