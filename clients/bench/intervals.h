// The calls phase cut into intervals (ledger-bench --interval_seconds): for each, the calls
// that ended in it, the ledger RPCs answered in it and their latency, and, with
// --server_metrics, what ledgerd's committer did, its CPU per RPC and its resident memory at
// the interval's end. A long run shows whether throughput, latency or memory drift as the
// log grows and RocksDB flushes and compacts, which a run's totals hide.
//
// An IntervalLog is told when the phase starts (Begin) and when each interval ends (Tick,
// from a ticker thread, and once more when the phase is over); it keeps marks of the latency
// recorders (latency.h), so an interval's latencies are exactly those of the RPCs answered
// in it.
#ifndef CALLBACKLEDGER_CLIENTS_BENCH_INTERVALS_H_
#define CALLBACKLEDGER_CLIENTS_BENCH_INTERVALS_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "clients/bench/host_probe.h"
#include "clients/bench/latency.h"
#include "clients/bench/server_metrics.h"

namespace callbackledger::bench {

struct IntervalReport {
  double start_seconds = 0;  // from the start of the phase
  double seconds = 0;        // its length (the last one ends with the phase, so may be shorter)
  uint64_t calls = 0;        // calls that ended in it (settled or released)
  LatencySummary rpcs;       // every ledger RPC answered in it, all kinds together
  // With --server_metrics: the committer's work in it, ledgerd's CPU per ledger RPC
  // answered in it, and its resident memory at the interval's end (when ledgerd reports
  // them).
  std::optional<CommitSummary> commit;
  std::optional<double> server_cpu_us_per_rpc;
  // Of which the committer's thread, and RocksDB's flushes and compactions.
  std::optional<double> server_commit_cpu_us_per_rpc;
  std::optional<double> server_rocksdb_cpu_us_per_rpc;
  std::optional<double> server_resident_bytes;
  // Of which what RocksDB holds (memtables, table readers, block cache), at the same moment.
  std::optional<double> server_rocksdb_memory_bytes;
  // The machine's speed at the interval's end (host_probe.h), when probed.
  std::optional<HostSpeed> host;

  double CallsPerSecond() const;
  double RpcsPerSecond() const;
};

class IntervalLog {
 public:
  using Clock = std::chrono::steady_clock;

  // `recorders`: the ledger RPCs' (they must outlive the log); `calls_ended`: how many calls
  // have ended so far; `scrape` (may be empty): ledgerd's counters now, nullopt when they
  // cannot be read (the interval then has none); `probe` (may be empty): the machine's speed
  // now.
  IntervalLog(std::vector<const LatencyRecorder*> recorders, std::function<uint64_t()> calls_ended,
              std::function<std::optional<CommitCounters>()> scrape,
              std::function<HostSpeed()> probe = {});

  // The phase starts at `now`.
  void Begin(Clock::time_point now);
  // An interval ends at `now` (after Begin, not before the previous Tick). One shorter than a
  // millisecond in which no RPC was answered is not kept.
  void Tick(Clock::time_point now);

  std::vector<IntervalReport> intervals() const;

 private:
  struct Marks {
    Clock::time_point at;
    std::vector<LatencyRecorder::Mark> latency;
    uint64_t calls = 0;
    std::optional<CommitCounters> server;
    std::optional<HostSpeed> host;
  };
  Marks Take(Clock::time_point now) const;

  const std::vector<const LatencyRecorder*> recorders_;
  const std::function<uint64_t()> calls_ended_;
  const std::function<std::optional<CommitCounters>()> scrape_;
  const std::function<HostSpeed()> probe_;
  mutable std::mutex mu_;
  Clock::time_point start_;
  std::optional<Marks> last_;
  std::vector<IntervalReport> intervals_;
};

// Calls log->Tick every `period` on a thread of its own, from construction until Stop();
// Stop (or the destructor) ends the last interval there and then.
class IntervalTicker {
 public:
  IntervalTicker(IntervalLog* log, std::chrono::duration<double> period);
  ~IntervalTicker();
  IntervalTicker(const IntervalTicker&) = delete;
  IntervalTicker& operator=(const IntervalTicker&) = delete;

  void Stop();

 private:
  IntervalLog* const log_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace callbackledger::bench

#endif  // CALLBACKLEDGER_CLIENTS_BENCH_INTERVALS_H_
