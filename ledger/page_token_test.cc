#include "ledger/page_token.h"

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "ledger/secrets.h"

namespace callbackledger {
namespace {

void ExpectRejected(const absl::Status& status) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message().substr(0, 12), "page_token: ");
}

TEST(PageTokenTest, ListingTokensReadBackTheirPosition) {
  for (uint64_t position : {uint64_t{1}, uint64_t{42}, UINT64_MAX}) {
    absl::StatusOr<uint64_t> read =
        ReadPageToken("callerids", MakePageToken("callerids", position));
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, position);
  }
  EXPECT_EQ(ReadPageToken("callerids", "").value(), 0u);
}

TEST(PageTokenTest, ListingRejectsOtherListingsAndGarbage) {
  ExpectRejected(ReadPageToken("recharges", MakePageToken("callerids", 7)).status());
  ExpectRejected(ReadPageToken("callerids", "not base64!").status());
  ExpectRejected(ReadPageToken("callerids", absl::WebSafeBase64Escape("callerids:0")).status());
  ExpectRejected(ReadPageToken("callerids", absl::WebSafeBase64Escape("callerids:x")).status());
  ExpectRejected(ReadPageToken("callerids", std::string(65, 'A')).status());
  // Only the very token a listing made: another spelling of its position is not one.
  for (const char* raw : {"callerids:+7", "callerids: 7", "callerids:7 ", "callerids:07"}) {
    ExpectRejected(ReadPageToken("callerids", absl::WebSafeBase64Escape(raw)).status());
  }
  EXPECT_EQ(ReadPageToken("callerids", absl::WebSafeBase64Escape("callerids:7")).value(), 7u);
}

const Secrets& TestSecrets() {
  static const Secrets* secrets = new Secrets(std::string(kSecretKeyBytes, 'k'));
  return *secrets;
}

TEST(PageTokenTest, SearchTokensReadBackTheirPositionAndCountForTheirSearchOnly) {
  const std::string token = MakeSearchPageToken("0791", {42, 1000000}, TestSecrets());
  absl::StatusOr<std::optional<SearchPosition>> read =
      ReadSearchPageToken("0791", token, TestSecrets());
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->position, 42u);
  EXPECT_EQ((*read)->total, 1000000u);
  EXPECT_EQ(ReadSearchPageToken("0791", "", TestSecrets()).value(), std::nullopt);

  ExpectRejected(ReadSearchPageToken("0792", token, TestSecrets()).status());
  ExpectRejected(
      ReadSearchPageToken("0791", token, Secrets(std::string(kSecretKeyBytes, 'o'))).status());
  ExpectRejected(
      ReadSearchPageToken("0791", MakePageToken("callerids", 42), TestSecrets()).status());
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string altered = raw;
    altered[i] = static_cast<char>(altered[i] ^ 0x10);
    ExpectRejected(
        ReadSearchPageToken("0791", absl::WebSafeBase64Escape(altered), TestSecrets()).status());
  }
  ExpectRejected(ReadSearchPageToken("0791", std::string(97, 'A'), TestSecrets()).status());
}

ReportPosition Position() {
  ReportPosition position;
  position.last_key = std::string("e100\0", 5) + "\x80\x01";
  position.start_micros = 1000;
  position.end_micros = INT64_MAX;
  position.total_calls = 7;
  position.total_duration_seconds = 210;
  position.total_cost_micros = absl::MakeInt128(1, 5);  // beyond int64
  position.total_uncollected_micros = -3;
  return position;
}

TEST(PageTokenTest, ReportTokensReadBackTheirPositionAndTotals) {
  const std::string prefix("e100\0", 5);
  absl::StatusOr<std::optional<ReportPosition>> read = ReadReportPageToken(
      prefix, 1000, INT64_MAX, MakeReportPageToken(Position(), TestSecrets()), TestSecrets());
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  const ReportPosition& position = **read;
  EXPECT_EQ(position.last_key, Position().last_key);
  EXPECT_EQ(position.total_calls, 7u);
  EXPECT_EQ(position.total_duration_seconds, 210u);
  EXPECT_EQ(position.total_cost_micros, absl::MakeInt128(1, 5));
  EXPECT_EQ(position.total_uncollected_micros, -3);
  EXPECT_EQ(ReadReportPageToken(prefix, 0, 1, "", TestSecrets()).value(), std::nullopt);
}

TEST(PageTokenTest, ReportTokensAreRefusedForAnotherReportOrAltered) {
  const std::string prefix("e100\0", 5);
  const std::string token = MakeReportPageToken(Position(), TestSecrets());
  // Another extension, another range.
  ExpectRejected(
      ReadReportPageToken(std::string("e200\0", 5), 1000, INT64_MAX, token, TestSecrets())
          .status());
  ExpectRejected(ReadReportPageToken(prefix, 999, INT64_MAX, token, TestSecrets()).status());
  ExpectRejected(ReadReportPageToken(prefix, 1000, 5000, token, TestSecrets()).status());
  // Made with another ledger's key.
  const Secrets other(std::string(kSecretKeyBytes, 'o'));
  ExpectRejected(ReadReportPageToken(prefix, 1000, INT64_MAX, token, other).status());
  // Any byte changed: the totals, the key or the tag.
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  for (size_t i = 0; i < raw.size(); i += 7) {
    std::string altered = raw;
    altered[i] = static_cast<char>(altered[i] ^ 1);
    ExpectRejected(ReadReportPageToken(prefix, 1000, INT64_MAX, absl::WebSafeBase64Escape(altered),
                                       TestSecrets())
                       .status());
  }
  // The first tokens, with the key only; a listing's token; garbage.
  ExpectRejected(ReadReportPageToken(prefix, 1000, INT64_MAX,
                                     absl::WebSafeBase64Escape("calls:" + Position().last_key),
                                     TestSecrets())
                     .status());
  ExpectRejected(
      ReadReportPageToken(prefix, 1000, INT64_MAX, MakePageToken("callerids", 1), TestSecrets())
          .status());
  ExpectRejected(
      ReadReportPageToken(prefix, 1000, INT64_MAX, std::string(513, 'A'), TestSecrets()).status());
}

}  // namespace
}  // namespace callbackledger
