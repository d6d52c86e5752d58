#include "clients/bench/intervals.h"

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace callbackledger::bench {
namespace {

using Clock = IntervalLog::Clock;
using std::chrono::milliseconds;

// ledgerd's counters as a scrape would read them.
CommitCounters Counters(double groups, double commands, double cpu_seconds, double resident) {
  CommitCounters counters;
  counters.groups = groups;
  counters.commands = commands;
  counters.synced_groups = groups;
  counters.sync_seconds = groups * 0.0002;
  counters.cpu_seconds = cpu_seconds;
  counters.commit_cpu_seconds = cpu_seconds / 2;  // half of it the committer's
  counters.rocksdb_cpu_seconds = cpu_seconds / 4;
  counters.resident_bytes = resident;
  counters.rocksdb_memory_bytes = resident / 3;
  return counters;
}

// Each interval holds exactly the RPCs answered in it, of every kind, and the calls ended in
// it; the server's figures are those between its two scrapes.
TEST(IntervalLogTest, EachIntervalHoldsWhatHappenedInIt) {
  LatencyRecorder reserve("Reserve"), settle("Settle");
  uint64_t calls = 0;
  std::vector<CommitCounters> scrapes = {Counters(0, 0, 1.0, 100e6), Counters(10, 40, 1.004, 120e6),
                                         Counters(30, 100, 1.010, 150e6)};
  size_t scraped = 0;
  IntervalLog log(
      {&reserve, &settle}, [&] { return calls; },
      [&]() -> std::optional<CommitCounters> { return scrapes.at(scraped++); });
  const Clock::time_point t0 = Clock::now();
  log.Begin(t0);

  for (uint32_t us : {100, 200, 300}) reserve.Record(us, true);
  settle.Record(400, true);
  settle.Record(0, false);
  calls = 2;
  log.Tick(t0 + milliseconds(1000));

  for (int i = 0; i < 6; ++i) settle.Record(1000 + i, true);
  calls = 5;
  log.Tick(t0 + milliseconds(2500));

  const std::vector<IntervalReport> intervals = log.intervals();
  ASSERT_EQ(intervals.size(), 2u);
  const IntervalReport& first = intervals[0];
  EXPECT_DOUBLE_EQ(first.start_seconds, 0);
  EXPECT_DOUBLE_EQ(first.seconds, 1.0);
  EXPECT_EQ(first.calls, 2u);
  EXPECT_DOUBLE_EQ(first.CallsPerSecond(), 2.0);
  EXPECT_EQ(first.rpcs.count, 4u);
  EXPECT_EQ(first.rpcs.errors, 1u);
  EXPECT_EQ(first.rpcs.p50_us, 200u);
  EXPECT_EQ(first.rpcs.max_us, 400u);
  ASSERT_TRUE(first.commit.has_value());
  EXPECT_EQ(first.commit->groups, 10u);
  EXPECT_DOUBLE_EQ(first.commit->mean_group_size, 4.0);
  ASSERT_TRUE(first.server_cpu_us_per_rpc.has_value());
  EXPECT_NEAR(*first.server_cpu_us_per_rpc, 1000.0, 1e-6);  // 4 ms over 4 RPCs
  EXPECT_NEAR(first.server_commit_cpu_us_per_rpc.value_or(0), 500.0, 1e-6);
  EXPECT_NEAR(first.server_rocksdb_cpu_us_per_rpc.value_or(0), 250.0, 1e-6);
  EXPECT_EQ(first.server_resident_bytes, 120e6);
  EXPECT_EQ(first.server_rocksdb_memory_bytes, 40e6);

  const IntervalReport& second = intervals[1];
  EXPECT_DOUBLE_EQ(second.start_seconds, 1.0);
  EXPECT_DOUBLE_EQ(second.seconds, 1.5);
  EXPECT_EQ(second.calls, 3u);
  EXPECT_EQ(second.rpcs.count, 6u);
  EXPECT_EQ(second.rpcs.errors, 0u);
  EXPECT_EQ(second.rpcs.p50_us, 1002u);
  EXPECT_DOUBLE_EQ(second.RpcsPerSecond(), 4.0);
  ASSERT_TRUE(second.commit.has_value());
  EXPECT_EQ(second.commit->groups, 20u);
  EXPECT_DOUBLE_EQ(second.commit->mean_group_size, 3.0);
  EXPECT_NEAR(second.server_cpu_us_per_rpc.value_or(0), 1000.0, 1e-6);  // 6 ms over 6 RPCs
  EXPECT_EQ(second.server_resident_bytes, 150e6);
  EXPECT_EQ(second.server_rocksdb_memory_bytes, 50e6);
}

// Without --server_metrics, or when a scrape fails, an interval has no server figures; a
// ledgerd that reports no CPU or memory leaves those out alone.
TEST(IntervalLogTest, ServerFiguresOnlyFromTwoGoodScrapes) {
  LatencyRecorder settle("Settle");
  IntervalLog without(
      {&settle}, [] { return uint64_t{0}; }, nullptr);
  const Clock::time_point t0 = Clock::now();
  without.Begin(t0);
  settle.Record(10, true);
  without.Tick(t0 + milliseconds(100));
  ASSERT_EQ(without.intervals().size(), 1u);
  EXPECT_FALSE(without.intervals()[0].commit.has_value());
  EXPECT_FALSE(without.intervals()[0].server_resident_bytes.has_value());

  std::vector<std::optional<CommitCounters>> scrapes = {CommitCounters{}, std::nullopt,
                                                        CommitCounters{}};
  size_t scraped = 0;
  IntervalLog failing(
      {&settle}, [] { return uint64_t{0}; }, [&] { return scrapes.at(scraped++); });
  failing.Begin(t0);
  failing.Tick(t0 + milliseconds(100));
  failing.Tick(t0 + milliseconds(200));
  ASSERT_EQ(failing.intervals().size(), 2u);
  EXPECT_FALSE(failing.intervals()[0].commit.has_value());
  EXPECT_FALSE(failing.intervals()[1].commit.has_value());  // the scrape before failed

  scrapes = {CommitCounters{}, CommitCounters{}};
  scraped = 0;
  failing.Begin(t0);
  settle.Record(10, true);
  failing.Tick(t0 + milliseconds(100));
  ASSERT_EQ(failing.intervals().size(), 1u);  // Begin starts over
  EXPECT_TRUE(failing.intervals()[0].commit.has_value());
  EXPECT_FALSE(failing.intervals()[0].server_cpu_us_per_rpc.has_value());
  EXPECT_FALSE(failing.intervals()[0].server_commit_cpu_us_per_rpc.has_value());
  EXPECT_FALSE(failing.intervals()[0].server_rocksdb_cpu_us_per_rpc.has_value());
  EXPECT_FALSE(failing.intervals()[0].server_resident_bytes.has_value());
}

// With a probe, each interval carries the machine's speed measured at its end; without one,
// none.
TEST(IntervalLogTest, EachIntervalHasTheHostSpeedAtItsEnd) {
  LatencyRecorder settle("Settle");
  double probed = 0;
  IntervalLog log(
      {&settle}, [] { return uint64_t{0}; }, nullptr,
      [&] {
        probed += 1;
        return HostSpeed{100 * probed, 80 + probed};
      });
  const Clock::time_point t0 = Clock::now();
  log.Begin(t0);  // probe 1
  settle.Record(10, true);
  log.Tick(t0 + milliseconds(100));  // probe 2
  log.Tick(t0 + milliseconds(200));  // probe 3
  const std::vector<IntervalReport> intervals = log.intervals();
  ASSERT_EQ(intervals.size(), 2u);
  ASSERT_TRUE(intervals[0].host.has_value());
  EXPECT_DOUBLE_EQ(intervals[0].host->compute_ns_per_kib, 200);
  EXPECT_DOUBLE_EQ(intervals[0].host->memory_ns_per_load, 82);
  ASSERT_TRUE(intervals[1].host.has_value());
  EXPECT_DOUBLE_EQ(intervals[1].host->compute_ns_per_kib, 300);

  IntervalLog without(
      {&settle}, [] { return uint64_t{0}; }, nullptr);
  without.Begin(t0);
  without.Tick(t0 + milliseconds(100));
  ASSERT_EQ(without.intervals().size(), 1u);
  EXPECT_FALSE(without.intervals()[0].host.has_value());
}

// A phase that ends on the beat does not add an empty interval of no length.
TEST(IntervalLogTest, AnEmptyLastTickOnTheBeatIsNotKept) {
  LatencyRecorder settle("Settle");
  IntervalLog log(
      {&settle}, [] { return uint64_t{0}; }, nullptr);
  const Clock::time_point t0 = Clock::now();
  log.Begin(t0);
  log.Tick(t0 + milliseconds(1000));  // an interval in which nothing was answered is kept
  log.Tick(t0 + milliseconds(1000));
  ASSERT_EQ(log.intervals().size(), 1u);
  EXPECT_EQ(log.intervals()[0].rpcs.count, 0u);
}

// The ticker cuts a running phase into intervals that together hold every RPC answered.
TEST(IntervalTickerTest, IntervalsTogetherHoldEveryRpc) {
  LatencyRecorder settle("Settle");
  std::atomic<uint64_t> calls{0};
  IntervalLog log(
      {&settle}, [&] { return calls.load(); }, nullptr);
  uint64_t recorded = 0;
  {
    IntervalTicker ticker(&log, milliseconds(20));
    const Clock::time_point end = Clock::now() + milliseconds(150);
    while (Clock::now() < end && recorded < 1000000) {
      settle.Record(recorded % 500, true);
      ++recorded;
      ++calls;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    ticker.Stop();
  }
  const std::vector<IntervalReport> intervals = log.intervals();
  ASSERT_GE(intervals.size(), 2u);
  uint64_t rpcs = 0, ended = 0;
  double seconds = 0;
  for (const IntervalReport& interval : intervals) {
    EXPECT_NEAR(interval.start_seconds, seconds, 1e-9);
    rpcs += interval.rpcs.count;
    ended += interval.calls;
    seconds += interval.seconds;
  }
  EXPECT_EQ(rpcs, recorded);
  EXPECT_EQ(ended, recorded);
}

}  // namespace
}  // namespace callbackledger::bench
