#include "server/huge_pages.h"

#include "gtest/gtest.h"

namespace callbackledger {
namespace {

TEST(TunablesWithHugePagesTest, AddsTheTunableToWhatIsThere) {
  EXPECT_EQ(TunablesWithHugePages(nullptr), "glibc.malloc.hugetlb=1");
  EXPECT_EQ(TunablesWithHugePages(""), "glibc.malloc.hugetlb=1");
  EXPECT_EQ(TunablesWithHugePages("glibc.malloc.arena_max=2"),
            "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
}

// The operator's own setting wins, and a re-executed ledgerd (which has it) goes no
// further: it re-executes at most once.
TEST(TunablesWithHugePagesTest, KeepsAnyHugetlbSettingAlreadyThere) {
  EXPECT_EQ(TunablesWithHugePages("glibc.malloc.hugetlb=0"), std::nullopt);
  EXPECT_EQ(TunablesWithHugePages("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"), std::nullopt);
}

TEST(ProgramNameTest, IsTheLastPathComponent) {
  EXPECT_EQ(ProgramName("ledgerd"), "ledgerd");
  EXPECT_EQ(ProgramName("./build/server/ledgerd"), "ledgerd");
  EXPECT_EQ(ProgramName("/usr/local/bin/ledgerd"), "ledgerd");
  EXPECT_EQ(ProgramName(""), "");
  EXPECT_EQ(ProgramName(nullptr), "");
}

}  // namespace
}  // namespace callbackledger
