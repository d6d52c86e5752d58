#include "ledger/page_token.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

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

TEST(PageTokenTest, ReportTokensReadBackTheirKeyOnlyForTheirPrefix) {
  const std::string key = std::string("e100\0", 5) + "\x80\x01";
  absl::StatusOr<std::string> read =
      ReadReportPageToken(std::string("e100\0", 5), MakeReportPageToken(key));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, key);
  EXPECT_EQ(ReadReportPageToken("e100", "").value(), "");
  ExpectRejected(ReadReportPageToken(std::string("e200\0", 5), MakeReportPageToken(key)).status());
  ExpectRejected(ReadReportPageToken("e100", MakePageToken("callerids", 1)).status());
  ExpectRejected(ReadReportPageToken("e100", std::string(513, 'A')).status());
}

}  // namespace
}  // namespace callbackledger
