#include "server/thread_cpu.h"

#include <time.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ledger/thread_name.h"

namespace callbackledger {
namespace {

// A stat line's name may hold spaces and parentheses; utime and stime are fields 14 and 15.
TEST(ParseTaskStatTest, ReadsTheNameAndTheUserPlusSystemTicks) {
  std::optional<TaskCpu> task = ParseTaskStat(
      "4242 (ledger-commit) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1 2 3", 100);
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->name, "ledger-commit");
  EXPECT_DOUBLE_EQ(task->seconds, 3.0);

  task = ParseTaskStat("7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 2 3", 10);
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->name, "a (b) c");
  EXPECT_DOUBLE_EQ(task->seconds, 1.0);
}

TEST(ParseTaskStatTest, RefusesMalformedLines) {
  EXPECT_FALSE(ParseTaskStat("", 100).has_value());
  EXPECT_FALSE(ParseTaskStat("1 ledger S 1 2 3", 100).has_value());
  EXPECT_FALSE(ParseTaskStat("1 (x) S 1 2 3", 100).has_value());
  EXPECT_FALSE(ParseTaskStat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 3 0", 100).has_value());
  EXPECT_FALSE(ParseTaskStat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 7 3 0", 0).has_value());
}

// /proc/self/statm: size, resident, shared, ... in pages.
TEST(ParseStatmResidentBytesTest, ReadsTheSecondFieldInPages) {
  EXPECT_EQ(ParseStatmResidentBytes("291045 92615 5431 3014 0 150433 0\n", 4096),
            uint64_t{92615} * 4096);
  EXPECT_FALSE(ParseStatmResidentBytes("", 4096).has_value());
  EXPECT_FALSE(ParseStatmResidentBytes("291045", 4096).has_value());
  EXPECT_FALSE(ParseStatmResidentBytes("291045 x 5431", 4096).has_value());
  EXPECT_FALSE(ParseStatmResidentBytes("1 2 3", 0).has_value());
  EXPECT_FALSE(ParseStatmResidentBytes("1 18446744073709551615 3", 4096).has_value());
}

// This process's resident memory: more than the 64 MiB it touches here, less than the machine.
TEST(ResidentBytesTest, GrowsWithMemoryTouched) {
  std::vector<char> touched(64u << 20, 1);
  std::optional<uint64_t> resident = ResidentBytes();
  ASSERT_TRUE(resident.has_value());
  EXPECT_GE(*resident, touched.size());
  EXPECT_LT(*resident, uint64_t{1} << 40);
}

// A named thread's CPU shows under its name, and stays counted after the thread ends.
TEST(ThreadCpuTest, ANamedThreadCountsUnderItsNameAfterItEnds) {
  ThreadCpu cpu;
  std::atomic<bool> read{false};
  std::thread busy([&] {
    NameThisThread("cpu-test-busy");
    // Busy until it has used 50 ms of CPU (5 clock ticks), however loaded the machine.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    timespec used{};
    while (std::chrono::steady_clock::now() < until &&
           clock_gettime(CLOCK_THREAD_CPUTIME_ID, &used) == 0 &&
           used.tv_sec * 1000 + used.tv_nsec / 1000000 < 50) {
    }
    while (!read.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  double while_running = 0;
  for (int i = 0; i < 2000 && while_running == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    while_running = cpu.Totals()["cpu-test-busy"];
  }
  read.store(true);
  busy.join();
  EXPECT_GT(while_running, 0);
  const std::map<std::string, double> after = cpu.Totals();
  ASSERT_EQ(after.count("cpu-test-busy"), 1u);
  EXPECT_GE(after.at("cpu-test-busy"), while_running);
  EXPECT_GE(cpu.Totals().at("cpu-test-busy"), after.at("cpu-test-busy"));
}

}  // namespace
}  // namespace callbackledger
