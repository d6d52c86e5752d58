// One row of a bulk import: the server's rules applied before anything is sent, every
// problem named, and a request_id that follows the normalized row.
#include "clients/ledgerctl/import.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace callbackledger {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ImportRowTest, AppliesTheServerRulesAndNamesEveryProblem) {
  ctl::ImportHeader header;
  ASSERT_EQ(ctl::ParseImportHeader(
                {"extension", "callback_number", "pin", "initial_credit", "order_no", "status"}, "",
                &header),
            "");
  v1::AddCallerIdRequest request;
  EXPECT_EQ(
      ctl::ParseImportRow(
          header, {"0003*005", " +40721000111 ", "1234", "10.5", "A, B", "disabled"}, "", &request),
      "");
  EXPECT_EQ(request.callback_number(), "+40721000111");
  EXPECT_EQ(request.status(), v1::CallerId::DISABLED);
  EXPECT_EQ(request.initial_credit(), "10.5");
  EXPECT_THAT(request.request_id(), ::testing::StartsWith("import-"));

  EXPECT_EQ(
      ctl::ParseImportRow(header, {"0003*005", "5551234", "", "unlimited", "", ""}, "", &request),
      "");
  EXPECT_TRUE(request.unlimited());
  EXPECT_EQ(request.status(), v1::CallerId::ENABLED);

  const std::string problems = ctl::ParseImportRow(
      header, {"0003*005", "12", "12a", "1.1234567", "ok", "MAYBE"}, "", &request);
  EXPECT_THAT(problems, HasSubstr("callback_number"));
  EXPECT_THAT(problems, HasSubstr("pin"));
  EXPECT_THAT(problems, Not(HasSubstr("12a")));  // a PIN is never repeated
  EXPECT_THAT(problems, HasSubstr("initial_credit"));
  EXPECT_THAT(problems, HasSubstr("status"));
  EXPECT_THAT(ctl::ParseImportRow(header, {"0003*005", "5551234", "", "-1", "", ""}, "", &request),
              HasSubstr("negative"));
  EXPECT_THAT(ctl::ParseImportRow(header, {"0003*005", "5551234"}, "", &request),
              HasSubstr("has 2 fields; the header has 6"));
  EXPECT_THAT(ctl::ParseImportRow(header, {"bad ext", "5551234", "", "", "", ""}, "", &request),
              HasSubstr("extension"));

  // Unknown or missing columns.
  EXPECT_THAT(ctl::ParseImportHeader({"callback_number", "colour"}, "x", &header),
              HasSubstr("unknown column \"colour\""));
  EXPECT_THAT(ctl::ParseImportHeader({"callback_number"}, "", &header),
              HasSubstr("no extension column"));
  EXPECT_EQ(ctl::ParseImportHeader({"callback_number"}, "0003*005", &header), "");
}

TEST(ImportRowTest, RequestIdFollowsTheNormalizedRowButNotThePin) {
  ctl::ImportHeader header;
  ASSERT_EQ(ctl::ParseImportHeader(
                {"extension", "callback_number", "pin", "initial_credit", "order_no", "status"}, "",
                &header),
            "");
  auto id = [&](std::vector<std::string> fields) {
    v1::AddCallerIdRequest request;
    EXPECT_EQ(ctl::ParseImportRow(header, fields, "", &request), "");
    return request.request_id();
  };
  const std::string base = id({"0003*005", "5551234", "1234", "10.50", "O-1", "ENABLED"});
  EXPECT_EQ(base, id({"0003*005", " 5551234", "1234", "10.5", "O-1", "enabled"}));
  EXPECT_EQ(base, id({"0003*005", "5551234", "9999", "10.500000", "O-1", "ENABLED"}));
  EXPECT_NE(base, id({"0003*005", "5551234", "1234", "10.51", "O-1", "ENABLED"}));
  EXPECT_NE(base, id({"0003*005", "5551234", "1234", "10.50", "O-2", "ENABLED"}));
  EXPECT_NE(base, id({"0003*005", "5551234", "1234", "10.50", "O-1", "DISABLED"}));
  EXPECT_NE(base, id({"0003*006", "5551234", "1234", "10.50", "O-1", "ENABLED"}));
  EXPECT_NE(base, id({"0003*005", "5551234", "1234", "unlimited", "O-1", "ENABLED"}));
  EXPECT_LE(base.size(), 128u);
}

}  // namespace
}  // namespace callbackledger
