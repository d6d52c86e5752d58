// What ledgerd itself saw during a benchmark phase, read from its Prometheus metrics
// (`ledgerd --metrics_listen`): how many synced groups the committer wrote, how many
// commands a group held, and how long a group's write and sync took. ledger-bench scrapes
// the metrics before and after its calls phase (`--server_metrics`) and reports the
// difference, so a run shows the sync cost next to the client's latencies; and before and
// after each phase, ledgerd's CPU time, so a run shows the server's CPU per RPC too.
//
// Only loopback addresses are fetched, over plain HTTP/1.0.
#ifndef CALLBACKLEDGER_CLIENTS_BENCH_SERVER_METRICS_H_
#define CALLBACKLEDGER_CLIENTS_BENCH_SERVER_METRICS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace callbackledger::bench {

// Cumulative counters of the committer, as the metrics text shows them at one moment.
struct CommitCounters {
  double groups = 0;         // ledger_commit_group_size_count
  double commands = 0;       // ledger_commit_group_size_sum
  double synced_groups = 0;  // ledger_sync_duration_seconds_count
  double sync_seconds = 0;   // ledger_sync_duration_seconds_sum
  // ledger_sync_duration_seconds_bucket: (upper bound in seconds, cumulative count), in
  // increasing order of the bound; the +Inf bucket is left out.
  std::vector<std::pair<double, double>> sync_buckets;
  // ledger_thread_cpu_seconds_total: over every thread, and the committer's
  // (thread="ledger-commit"); nullopt from a ledgerd that does not report it.
  std::optional<double> cpu_seconds;
  std::optional<double> commit_cpu_seconds;
  // ... and RocksDB's own threads' (named "rocksdb:..."): flushes and compactions.
  std::optional<double> rocksdb_cpu_seconds;
  // process_resident_memory_bytes; nullopt from a ledgerd that does not report it.
  std::optional<double> resident_bytes;
  // ledger_storage_memory_bytes over its kinds (memtables, table readers, block cache): the
  // part of the resident memory RocksDB holds and bounds; nullopt from a ledgerd that does
  // not report it.
  std::optional<double> rocksdb_memory_bytes;
};

// The committer's work between two scrapes.
struct CommitSummary {
  uint64_t groups = 0;         // groups the committer answered
  double mean_group_size = 0;  // commands per group
  uint64_t synced_groups = 0;  // groups that wrote (and synced) a batch
  double mean_sync_us = 0;     // mean write + sync of one group's batch
  // Upper bounds from the histogram's buckets: half (p50) and 99 % (p99) of the syncs took
  // at most this long; 0 when no group synced, -1 when beyond the last finite bucket.
  double p50_sync_us = 0;
  double p99_sync_us = 0;
};

// Parses the Prometheus text format for the committer's counters. INVALID_ARGUMENT naming
// the metric when one of them is missing or not a number.
absl::StatusOr<CommitCounters> ParseCommitCounters(const std::string& text);

// The work done between `before` and `after` (two scrapes of the same server).
CommitSummary Difference(const CommitCounters& before, const CommitCounters& after);

// GETs http://ADDRESS/metrics (ADDRESS is host:port on loopback) and parses it. Errors name
// the address and what failed (connect, HTTP status, parse).
absl::StatusOr<CommitCounters> ScrapeCommitCounters(const std::string& address);

}  // namespace callbackledger::bench

#endif  // CALLBACKLEDGER_CLIENTS_BENCH_SERVER_METRICS_H_
