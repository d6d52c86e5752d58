// What one run of ledger-bench measured, and the two ways it is shown: the table on stdout
// and the JSON of --json (docs/benchmarks.md, "Output", names every field).
#ifndef CALLBACKLEDGER_CLIENTS_BENCH_REPORT_H_
#define CALLBACKLEDGER_CLIENTS_BENCH_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "clients/bench/audit.h"
#include "clients/bench/intervals.h"
#include "clients/bench/latency.h"
#include "clients/bench/server_metrics.h"

namespace callbackledger::bench {

struct RunReport {
  // What was asked.
  std::string server;
  int nodes = 1;  // PBX nodes, each on a connection of its own
  int callerids = 0;
  int extensions = 0;
  int in_flight = 0;
  uint64_t seed = 0;
  double extend_ratio = 0;
  double no_answer_ratio = 0;
  double unknown_ratio = 0;
  double started_over_days = 0;

  // The preload (when enabled) and the reservations left open at the end (--leave_open).
  bool preload_enabled = false;
  uint64_t preload_added = 0;
  uint64_t preload_existing = 0;
  double preload_seconds = 0;
  uint64_t left_open = 0;
  double left_open_seconds = 0;

  // The calls phase: how the simulated calls ended, and each ledger RPC's latency, in the
  // order shown (Authorize, Reserve, Extend, Settle, Release).
  double calls_seconds = 0;
  uint64_t settled = 0;
  uint64_t released = 0;
  uint64_t denied = 0;     // Authorize did not allow the call
  uint64_t unknown = 0;    // calls from a number not on the ledger (--unknown_ratio)
  uint64_t no_credit = 0;  // Reserve granted nothing
  uint64_t failed = 0;     // an RPC failed
  std::vector<std::pair<std::string, LatencySummary>> rpcs;
  double calls_cpu_seconds = 0;  // this process's CPU time during the calls phase

  // The floor: Health/Check at the same concurrency.
  double floor_seconds = 0;
  LatencySummary floor;
  double floor_cpu_seconds = 0;

  // What ledgerd's committer did during the calls phase (--server_metrics).
  std::optional<CommitSummary> commit;
  // ledgerd's CPU time during each phase (--server_metrics, from a ledgerd that reports its
  // threads' CPU): all its threads in the calls phase, its committer's in the calls phase,
  // all its threads in the floor phase.
  struct ServerCpu {
    double calls_seconds = 0;
    double commit_seconds = 0;
    double floor_seconds = 0;
  };
  std::optional<ServerCpu> server_cpu;

  // The calls phase cut into intervals of `interval_seconds` (--interval_seconds; none
  // when 0).
  double interval_seconds = 0;
  std::vector<IntervalReport> intervals;

  // The books after the calls (audit.h); when there is none, `audit_skipped` says why.
  std::optional<AuditResult> audit;
  std::string audit_skipped;

  // Derived figures; each is 0 when what it divides by is 0.
  uint64_t RpcCount() const;
  uint64_t RpcErrors() const;
  double RpcsPerSecond() const;
  double CallsPerSecond() const;  // calls ended (settled or released) per second
  double FloorRpcsPerSecond() const;
  double Ratio() const;  // RpcsPerSecond() / FloorRpcsPerSecond()
  double ClientCpuMicrosPerLedgerRpc() const;
  double ClientCpuMicrosPerFloorRpc() const;
  // From server_cpu (0 without it).
  double ServerCpuMicrosPerLedgerRpc() const;
  double CommitterCpuMicrosPerLedgerRpc() const;
  double ServerCpuMicrosPerFloorRpc() const;
};

// The table ledger-bench prints: one row per RPC and the floor's, then the totals.
std::string FormatTable(const RunReport& report);

// The JSON of --json.
std::string FormatJson(const RunReport& report);

}  // namespace callbackledger::bench

#endif  // CALLBACKLEDGER_CLIENTS_BENCH_REPORT_H_
