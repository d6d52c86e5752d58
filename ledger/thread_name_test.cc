#include "ledger/thread_name.h"

#include <pthread.h>

#include <thread>

#include "absl/synchronization/notification.h"
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

TEST(ThreadNameTest, AStartedThreadIsNamedBeforeItRuns) {
  // Held before its first step: the name is there all the same, as ledgerd's threads' names
  // are by the time it says it is serving, however late the new threads are scheduled.
  absl::Notification go;
  std::string seen_inside;
  std::thread worker = StartNamedThread("ledger-started", [&] {
    go.WaitForNotification();
    seen_inside = ThisThreadName();
  });
  char name[16] = {};
  ASSERT_EQ(pthread_getname_np(worker.native_handle(), name, sizeof(name)), 0);
  EXPECT_STREQ(name, "ledger-started");
  go.Notify();
  worker.join();
  EXPECT_EQ(seen_inside, "ledger-started");
}

}  // namespace
}  // namespace callbackledger
