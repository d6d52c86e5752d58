#include "clients/bench/server_metrics.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace callbackledger::bench {
namespace {

using ::testing::HasSubstr;

// What ledgerd's exposer answers, cut to the committer's metrics plus a neighbour.
std::string Metrics(double groups, double commands, double synced, double sync_seconds,
                    double le_100us, double le_250us, double le_1ms, double le_inf) {
  return "# HELP ledger_commit_group_size Commands per committer group\n"
         "# TYPE ledger_commit_group_size histogram\n"
         "ledger_commit_group_size_count " +
         std::to_string(groups) + "\nledger_commit_group_size_sum " + std::to_string(commands) +
         "\nledger_commit_group_size_bucket{le=\"1\"} 3\n"
         "ledger_sync_duration_seconds_count " +
         std::to_string(synced) + "\nledger_sync_duration_seconds_sum " +
         std::to_string(sync_seconds) + "\nledger_sync_duration_seconds_bucket{le=\"0.0001\"} " +
         std::to_string(le_100us) + "\nledger_sync_duration_seconds_bucket{le=\"0.00025\"} " +
         std::to_string(le_250us) + "\nledger_sync_duration_seconds_bucket{le=\"0.001\"} " +
         std::to_string(le_1ms) + "\nledger_sync_duration_seconds_bucket{le=\"+Inf\"} " +
         std::to_string(le_inf) + "\nledger_ready 1\n";
}

TEST(ServerMetricsTest, ParsesTheCommitterCountersAndBuckets) {
  absl::StatusOr<CommitCounters> counters =
      ParseCommitCounters(Metrics(10, 40, 9, 0.0018, 1, 8, 9, 9));
  ASSERT_TRUE(counters.ok()) << counters.status();
  EXPECT_EQ(counters->groups, 10);
  EXPECT_EQ(counters->commands, 40);
  EXPECT_EQ(counters->synced_groups, 9);
  EXPECT_DOUBLE_EQ(counters->sync_seconds, 0.0018);
  ASSERT_EQ(counters->sync_buckets.size(), 3u);  // +Inf is left out
  EXPECT_DOUBLE_EQ(counters->sync_buckets[0].first, 0.0001);
  EXPECT_EQ(counters->sync_buckets[2].second, 9);
}

// ledgerd's CPU by thread: summed over the threads, and the committer's apart; a ledgerd
// that does not report it leaves both unknown, and a malformed value is named.
TEST(ServerMetricsTest, ParsesTheThreadsCpu) {
  const std::string base = Metrics(10, 40, 9, 0.0018, 1, 8, 9, 9);
  absl::StatusOr<CommitCounters> counters = ParseCommitCounters(base);
  ASSERT_TRUE(counters.ok()) << counters.status();
  EXPECT_FALSE(counters->cpu_seconds.has_value());
  EXPECT_FALSE(counters->commit_cpu_seconds.has_value());
  EXPECT_FALSE(counters->rocksdb_cpu_seconds.has_value());

  counters = ParseCommitCounters(base +
                                 "# TYPE ledger_thread_cpu_seconds_total counter\n"
                                 "ledger_thread_cpu_seconds_total{thread=\"ledger-commit\"} 1.5\n"
                                 "ledger_thread_cpu_seconds_total{thread=\"nexting_thread\"} 2.25\n"
                                 "ledger_thread_cpu_seconds_total{thread=\"ledgerd\"} 0.25\n"
                                 "ledger_thread_cpu_seconds_total{thread=\"rocksdb:high\"} 0.5\n"
                                 "ledger_thread_cpu_seconds_total{thread=\"rocksdb:low\"} 1.5\n");
  ASSERT_TRUE(counters.ok()) << counters.status();
  EXPECT_EQ(counters->cpu_seconds, 6.0);
  EXPECT_EQ(counters->commit_cpu_seconds, 1.5);
  EXPECT_EQ(counters->rocksdb_cpu_seconds, 2.0);

  counters =
      ParseCommitCounters(base + "ledger_thread_cpu_seconds_total{thread=\"ledger-commit\"} x\n");
  ASSERT_FALSE(counters.ok());
  EXPECT_THAT(counters.status().message(), HasSubstr("ledger_thread_cpu_seconds_total"));
}

// ledgerd's resident memory, when it reports it (an older one does not).
TEST(ServerMetricsTest, ParsesTheResidentMemory) {
  const std::string base = Metrics(10, 40, 9, 0.0018, 1, 8, 9, 9);
  absl::StatusOr<CommitCounters> counters = ParseCommitCounters(base);
  ASSERT_TRUE(counters.ok()) << counters.status();
  EXPECT_FALSE(counters->resident_bytes.has_value());

  counters = ParseCommitCounters(base +
                                 "# TYPE process_resident_memory_bytes gauge\n"
                                 "process_resident_memory_bytes 3.7748736e+08\n");
  ASSERT_TRUE(counters.ok()) << counters.status();
  EXPECT_EQ(counters->resident_bytes, 377487360.0);

  counters = ParseCommitCounters(base + "process_resident_memory_bytes lots\n");
  ASSERT_FALSE(counters.ok());
  EXPECT_THAT(counters.status().message(), HasSubstr("process_resident_memory_bytes"));
}

// What RocksDB holds, summed over the kinds ledgerd reports; unknown from a ledgerd that does
// not report it, and a malformed value is named.
TEST(ServerMetricsTest, SumsRocksDbsMemoryOverItsKinds) {
  const std::string base = Metrics(10, 40, 9, 0.0018, 1, 8, 9, 9);
  absl::StatusOr<CommitCounters> counters = ParseCommitCounters(base);
  ASSERT_TRUE(counters.ok()) << counters.status();
  EXPECT_FALSE(counters->rocksdb_memory_bytes.has_value());

  counters =
      ParseCommitCounters(base +
                          "# TYPE ledger_storage_memory_bytes gauge\n"
                          "ledger_storage_memory_bytes{kind=\"memtables\"} 1048576\n"
                          "ledger_storage_memory_bytes{kind=\"table_readers\"} 4096\n"
                          "ledger_storage_memory_bytes{kind=\"block_cache\"} 1.34217728e+08\n"
                          "ledger_storage_table_file_bytes{family=\"events\"} 99999999\n");
  ASSERT_TRUE(counters.ok()) << counters.status();
  EXPECT_EQ(counters->rocksdb_memory_bytes, 1048576.0 + 4096 + 134217728);

  counters = ParseCommitCounters(base + "ledger_storage_memory_bytes{kind=\"memtables\"} -\n");
  ASSERT_FALSE(counters.ok());
  EXPECT_THAT(counters.status().message(), HasSubstr("ledger_storage_memory_bytes"));
}

TEST(ServerMetricsTest, DifferenceIsTheWorkBetweenTwoScrapes) {
  // Before: 10 groups (40 commands), 9 synced in 1.8 ms. After: 110 groups (440 commands),
  // 109 synced in 21.8 ms: 100 more groups of 4 commands, 100 syncs of 200 us each, 60 of
  // them at most 250 us, all at most 1 ms.
  CommitCounters before = *ParseCommitCounters(Metrics(10, 40, 9, 0.0018, 1, 8, 9, 9));
  CommitCounters after = *ParseCommitCounters(Metrics(110, 440, 109, 0.0218, 1, 68, 109, 109));
  CommitSummary summary = Difference(before, after);
  EXPECT_EQ(summary.groups, 100u);
  EXPECT_DOUBLE_EQ(summary.mean_group_size, 4);
  EXPECT_EQ(summary.synced_groups, 100u);
  EXPECT_NEAR(summary.mean_sync_us, 200, 1e-6);
  EXPECT_DOUBLE_EQ(summary.p50_sync_us, 250);
  EXPECT_DOUBLE_EQ(summary.p99_sync_us, 1000);
}

TEST(ServerMetricsTest, NoGroupsMeansZeroesAndBeyondTheLastBucketIsMinusOne) {
  CommitCounters same = *ParseCommitCounters(Metrics(5, 5, 5, 0.001, 0, 0, 5, 5));
  CommitSummary idle = Difference(same, same);
  EXPECT_EQ(idle.groups, 0u);
  EXPECT_EQ(idle.mean_group_size, 0);
  EXPECT_EQ(idle.mean_sync_us, 0);
  EXPECT_EQ(idle.p99_sync_us, 0);

  // Two syncs, both slower than the last finite bucket (1 ms).
  CommitCounters slow = *ParseCommitCounters(Metrics(7, 7, 7, 0.021, 0, 0, 5, 7));
  CommitSummary summary = Difference(same, slow);
  EXPECT_EQ(summary.synced_groups, 2u);
  EXPECT_EQ(summary.p50_sync_us, -1);
}

TEST(ServerMetricsTest, AMissingOrMalformedCounterIsNamed) {
  absl::StatusOr<CommitCounters> missing = ParseCommitCounters("ledger_ready 1\n");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("ledger_commit_group_size_count"));

  std::string text = Metrics(1, 1, 1, 0.001, 1, 1, 1, 1);
  text.replace(text.find("ledger_commit_group_size_sum 1"), 30, "ledger_commit_group_size_sum x");
  absl::StatusOr<CommitCounters> malformed = ParseCommitCounters(text);
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(malformed.status().message(), HasSubstr("ledger_commit_group_size_sum"));
}

TEST(ServerMetricsTest, OnlyLoopbackAddressesAreScraped) {
  for (const char* address : {"192.0.2.1:9090", "example.com:80", "unix:/tmp/x", "127.0.0.1"}) {
    absl::StatusOr<CommitCounters> scraped = ScrapeCommitCounters(address);
    EXPECT_EQ(scraped.status().code(), absl::StatusCode::kInvalidArgument) << address;
    EXPECT_THAT(scraped.status().message(), HasSubstr("loopback")) << address;
  }
}

}  // namespace
}  // namespace callbackledger::bench
