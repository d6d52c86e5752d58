#include "ledger/thread_name.h"

#include <thread>

#include "gtest/gtest.h"

namespace callbackledger {
namespace {

// The name a new thread reads back after naming itself `name`.
std::string NameSeenByAThreadNamed(const std::string& name) {
  std::string seen;
  std::thread worker([&] {
    NameThisThread(name);
    seen = ThisThreadName();
  });
  worker.join();
  return seen;
}

TEST(ThreadNameTest, NamesTheCallingThreadOnly) {
  const std::string before = ThisThreadName();
  EXPECT_EQ(NameSeenByAThreadNamed("ledger-test"), "ledger-test");
  EXPECT_EQ(ThisThreadName(), before);
}

TEST(ThreadNameTest, KeepsTheFirstFifteenBytesOfALongName) {
  EXPECT_EQ(NameSeenByAThreadNamed("a-name-longer-than-the-kernel-keeps"), "a-name-longer-t");
}

}  // namespace
}  // namespace callbackledger
