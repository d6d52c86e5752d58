// The progress line ledgerctl draws on a terminal: share, counts, rate and time left.
#include "clients/ledgerctl/progress.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace callbackledger {
namespace {

using ::testing::HasSubstr;

TEST(ProgressTest, RendersRateAndEta) {
  const std::string line =
      ctl::Progress::Render("export", "rows", false, 500000, 1000000, 10.0, 120);
  EXPECT_THAT(line, HasSubstr(" 50%"));
  EXPECT_THAT(line, HasSubstr("500,000/1,000,000 rows"));
  EXPECT_THAT(line, HasSubstr("50,000 rows/s"));
  EXPECT_THAT(line, HasSubstr("ETA 0:10"));
  EXPECT_LT(line.size(), 120u);
  const std::string done = ctl::Progress::Render("import", "bytes", true, 2048, 2048, 2.0, 100);
  EXPECT_THAT(done, HasSubstr("100%"));
  EXPECT_THAT(done, HasSubstr("2.0 KiB/2.0 KiB"));
  EXPECT_THAT(done, HasSubstr("in 0:02"));
  EXPECT_THAT(ctl::Progress::Render("recharges", "rows", false, 10, 0, 1.0, 100),
              HasSubstr("10 rows"));
}

}  // namespace
}  // namespace callbackledger
