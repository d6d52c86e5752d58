// ledger-bench: an asynchronous gRPC load generator that plays PBX nodes against ledgerd,
// --nodes of them, each on a connection of its own with its own node_id (nodes.h), every
// answer taken by one thread polling a completion queue (completion_thread.h): the least
// client CPU per RPC on a machine it shares with the server. The phases are pbx_phases.h.
//
// Per simulated call: Authorize (with a rate) -> Reserve (rate + seconds, a unique
// reservation_id) -> sometimes Extend (with a request_id) -> Settle by duration, or Release
// when the call does not connect. Calls are spread over --callerids CallerIDs on
// --extensions Callback extensions, with at most --in_flight calls open at once, for at most
// --seconds and at most --calls calls. A preloading phase adds the CallerIDs (AddCallerId
// with a request_id, so a second run skips them) with ample credit.
//
// In the same run, against the same server, it then measures the floor: the same client
// calling grpc.health.v1.Health/Check at the same concurrency for the same duration, which
// costs the server no storage at all. It prints a table and, with --json, writes the same
// figures as JSON: RPCs/s, calls/s, p50/p99/p99.9 latency per RPC, and the ratio of the
// ledger's RPCs/s to the floor's.
//
// With --server_metrics (ledgerd's --metrics_listen address) it also reports what the
// server's committer did during the calls phase: groups, commands per group, and the time
// to write and sync a group (server_metrics.h). It reports its own CPU time per RPC in
// each phase, the client's share of the machine.
//
// Unless --no_audit, it checks the books after the calls: each CallerID's credit left fell
// by exactly what the Settles charged it (audit.h), else it exits 1.
//
// Loopback only: it refuses any server address that is not 127.x.x.x, localhost, [::1] or a
// unix socket.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "clients/address.h"
#include "clients/bench/audit.h"
#include "clients/bench/completion_thread.h"
#include "clients/bench/intervals.h"
#include "clients/bench/latency.h"
#include "clients/bench/nodes.h"
#include "clients/bench/pbx_phases.h"
#include "clients/bench/report.h"
#include "clients/bench/server_metrics.h"
#include "clients/channel_flags.h"

namespace callbackledger::bench {
namespace {

// User + system CPU time of this process so far, in seconds.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// ledger-bench's own flags (the channel's are AddChannelFlags').
void AddOptions(CLI::App* app_ptr, BenchOptions* o) {
  CLI::App& app = *app_ptr;
  app.add_option("--server", o->server, "ledgerd's address (loopback only)")->capture_default_str();
  app.add_option("--nodes", o->nodes,
                 "PBX nodes played, each on a connection of its own with its own node_id")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--callerids", o->callerids, "CallerIDs the calls are spread over")
      ->check(CLI::Range(1, 100000000))
      ->capture_default_str();
  app.add_option("--extensions", o->extensions, "Callback extensions the CallerIDs are on")
      ->check(CLI::Range(1, 999))
      ->capture_default_str();
  app.add_option("--in_flight", o->in_flight, "simulated calls open at once")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--calls", o->calls, "at most this many simulated calls")->capture_default_str();
  app.add_option("--seconds", o->seconds, "at most this long, for the calls and for the floor")
      ->check(CLI::Range(0.1, 14400.0))
      ->capture_default_str();
  app.add_option("--extend_ratio", o->extend_ratio, "share of connected calls that Extend")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--no_answer_ratio", o->no_answer_ratio, "share of calls that Release")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--unknown_ratio", o->unknown_ratio,
                 "share of calls from a caller number the ledger does not know: Authorize "
                 "denies them, and they go no further")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--started_over_days", o->started_over_days,
                 "each Settle says its call started at a random time in the last this many "
                 "days (0: it says none, and the ledger takes the Reserve's time), so that the "
                 "calls make a history for the cost report")
      ->check(CLI::Range(0.0, 3650.0))
      ->capture_default_str();
  app.add_flag("--preload,!--no_preload", o->preload,
               "add the CallerIDs first (existing ones are skipped)")
      ->capture_default_str();
  app.add_option("--preload_in_flight", o->preload_in_flight, "AddCallerId calls open at once")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--preload_seconds", o->preload_seconds, "at most this long for the preload")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  app.add_option("--initial_credit", o->initial_credit, "credit of each preloaded CallerID")
      ->capture_default_str();
  app.add_option("--rpc_timeout", o->rpc_timeout_seconds, "deadline of each RPC, seconds")
      ->check(CLI::Range(0.01, 600.0))
      ->capture_default_str();
  app.add_option("--max_errors", o->max_errors, "stop a phase after this many failed RPCs")
      ->capture_default_str();
  app.add_option("--json", o->json, "also write the results to this JSON file");
  app.add_option("--server_metrics", o->server_metrics,
                 "ledgerd's --metrics_listen address (loopback): also report the committer's "
                 "groups and sync times during the calls phase");
  app.add_option("--seed", o->seed, "random seed")->capture_default_str();
  app.add_option("--leave_open", o->leave_open,
                 "at the end, reserve this many calls and never settle them (at "
                 "--preload_in_flight at once)")
      ->capture_default_str();
  app.add_flag("--audit,!--no_audit", o->audit,
               "check after the calls that each CallerID's credit left fell by exactly what the "
               "Settles charged it (reads every CallerID before and after)")
      ->capture_default_str();
  app.add_option("--floor_seconds", o->floor_seconds,
                 "measure the floor for at most this long (0: as long as the calls phase took), "
                 "so that a long run need not be followed by as long a floor")
      ->check(CLI::Range(0.0, 14400.0))
      ->capture_default_str();
  app.add_option(
         "--interval_seconds", o->interval_seconds,
         "also report the calls phase cut into intervals this long (0: not cut; else at "
         "least 0.1): calls and RPCs a second, latency, and with --server_metrics the "
         "committer, ledgerd's CPU per RPC and its resident memory, interval by interval; and "
         "the machine's own speed at each interval's end (a fixed piece of work timed, "
         "about 4 ms of one CPU, with 64 MiB of table)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("--leave_open_ttl", o->leave_open_ttl_seconds,
                 "TTL of the reservations left open, seconds (the ledger allows a day at most)")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
}

int Main(int argc, char** argv) {
  // As in ledgerd: Debian's Abseil is built without NDEBUG, so gRPC's every absl::Mutex lock
  // would feed a lock-order graph, a few per cent of the client's CPU.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  BenchOptions o;
  CLI::App app{
      "ledger-bench: plays PBX nodes against ledgerd (Authorize, Reserve, Extend, Settle or "
      "Release) and measures the floor (Health/Check) at the same concurrency. Loopback only."};
  AddOptions(&app, &o);
  ChannelFlags channel_flags;
  AddChannelFlags(&app, &channel_flags);
  CLI11_PARSE(app, argc, argv);

  if (!IsLoopbackTarget(o.server)) {
    std::cerr << "ledger-bench: refusing " << o.server
              << ": only loopback servers (127.x.x.x, localhost, [::1], a unix socket) may be "
                 "benchmarked\n";
    return 2;
  }
  if (o.nodes > o.in_flight) {
    std::cerr << "ledger-bench: --nodes (" << o.nodes << ") is more than --in_flight ("
              << o.in_flight << "): some nodes would never send a call\n";
    return 2;
  }

  if (o.interval_seconds > 0 && o.interval_seconds < 0.1) {
    std::cerr << "ledger-bench: --interval_seconds (" << o.interval_seconds
              << ") must be 0 (no intervals) or at least 0.1\n";
    return 2;
  }
  if (!o.server_metrics.empty()) {
    // Checked before anything runs, so a wrong address does not cost a whole run.
    absl::StatusOr<CommitCounters> scraped = ScrapeCommitCounters(o.server_metrics);
    if (!scraped.ok()) {
      std::cerr << "ledger-bench: " << scraped.status().message() << "\n";
      return 2;
    }
  }
  absl::StatusOr<std::vector<Node>> connected =
      ConnectNodes(channel_flags, o.server, o.nodes, std::chrono::seconds(10));
  if (!connected.ok()) {
    std::cerr << "ledger-bench: " << connected.status().message() << "\n";
    return connected.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  const std::vector<Node> nodes = *std::move(connected);
  // Every RPC of every phase is answered on this one thread (completion_thread.h).
  CompletionThread completions;

  uint64_t preload_added = 0, preload_existing = 0;
  double preload_seconds = 0;
  if (o.preload) {
    PreloadPhase preload(o, nodes, &completions);
    preload_seconds = preload.Run();
    preload_added = preload.added();
    preload_existing = preload.existing();
    std::cerr << absl::StrFormat("preload: %d added, %d already there, %.1f s\n", preload_added,
                                 preload_existing, preload_seconds);
    if (preload_seconds < 0 || preload.errors() > 0 ||
        preload_added + preload_existing < static_cast<uint64_t>(o.callerids)) {
      std::cerr << "ledger-bench: the preload did not complete (" << preload.errors()
                << " errors; first: " << preload.first_error()
                << "); is ledgerd's --license_max_active_callerids at least --callerids?\n";
      return 1;
    }
  }

  // ledgerd's counters just before and after a phase (--server_metrics): what its committer
  // did, and its CPU.
  auto scrape = [&o]() -> std::optional<CommitCounters> {
    absl::StatusOr<CommitCounters> scraped = ScrapeCommitCounters(o.server_metrics);
    if (!scraped.ok()) {
      std::cerr << "ledger-bench: " << scraped.status().message() << "\n";
      return std::nullopt;
    }
    return *std::move(scraped);
  };
  // The books before the calls, for the audit after them (audit.h).
  auto read_credit = [&](const char* when) -> std::optional<CreditLeft> {
    const auto started = std::chrono::steady_clock::now();
    absl::StatusOr<CreditLeft> read =
        ReadCreditLeft(nodes[0].caller_ids.get(), o.callerids, o.extensions, o.rpc_timeout_seconds);
    if (!read.ok()) {
      std::cerr << "ledger-bench: cannot read the CallerIDs' credit for the audit: "
                << read.status().message() << " (--no_audit runs without it)\n";
      return std::nullopt;
    }
    std::cerr << absl::StrFormat(
        "audit: credit read %s the calls in %.1f s\n", when,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return *std::move(read);
  };
  std::optional<CreditLeft> credit_before;
  std::unique_ptr<Charges> charges;
  if (o.audit) {
    credit_before = read_credit("before");
    if (!credit_before) return 1;
    charges = std::make_unique<Charges>(o.callerids);
  }
  CallsPhase calls(o, nodes, &completions, charges.get());
  std::optional<CommitCounters> calls_before;
  if (!o.server_metrics.empty() && !(calls_before = scrape())) return 2;
  // --interval_seconds: the calls phase's RPCs and ended calls, ledgerd's counters,
  // and the machine's speed (host_probe.h) at every tick (intervals.h).
  std::optional<HostProbe> host_probe;
  if (o.interval_seconds > 0) host_probe.emplace();
  IntervalLog intervals(
      {&calls.authorize, &calls.reserve, &calls.extend, &calls.settle, &calls.release},
      [&calls] { return calls.counts.settled.load() + calls.counts.released.load(); },
      o.server_metrics.empty() ? std::function<std::optional<CommitCounters>()>() : scrape,
      host_probe ? std::function<HostSpeed()>([&host_probe] { return host_probe->Measure(); })
                 : std::function<HostSpeed()>());
  std::optional<IntervalTicker> ticker;
  if (o.interval_seconds > 0) {
    ticker.emplace(&intervals, std::chrono::duration<double>(o.interval_seconds));
  }
  const double calls_cpu_started = ProcessCpuSeconds();
  const double calls_seconds = calls.Run();
  const double calls_cpu = ProcessCpuSeconds() - calls_cpu_started;
  if (ticker) ticker->Stop();
  if (calls_seconds <= 0) return 1;
  std::optional<CommitSummary> commit;
  std::optional<CommitCounters> calls_after;
  if (!o.server_metrics.empty()) {
    if (!(calls_after = scrape())) return 1;
    commit = Difference(*calls_before, *calls_after);
  }
  std::optional<AuditResult> audit;
  std::string audit_skipped = "--no_audit";
  if (o.audit && calls.counts.failed > 0) {
    audit_skipped = absl::StrCat(calls.counts.failed.load(),
                                 " calls had a failed RPC, whose outcome is unknown");
  } else if (o.audit) {
    std::optional<CreditLeft> after = read_credit("after");
    if (!after) return 1;
    audit = Audit(*credit_before, *after, *charges, o.extensions);
  }
  // As long as the calls phase, unless --floor_seconds says less.
  const double floor_bound =
      o.floor_seconds > 0 ? std::min(o.floor_seconds, calls_seconds) : calls_seconds;
  FloorPhase floor(o, floor_bound, nodes, &completions);
  std::optional<CommitCounters> floor_before, floor_after;
  if (!o.server_metrics.empty() && !(floor_before = scrape())) return 1;
  const double floor_cpu_started = ProcessCpuSeconds();
  const double floor_seconds = floor.Run();
  const double floor_cpu = ProcessCpuSeconds() - floor_cpu_started;
  if (floor_seconds <= 0) return 1;
  if (!o.server_metrics.empty() && !(floor_after = scrape())) return 1;
  // ledgerd's CPU in each phase, when it reports it (an older one does not).
  std::optional<RunReport::ServerCpu> server_cpu;
  if (calls_after && calls_after->cpu_seconds && floor_after && floor_after->cpu_seconds) {
    server_cpu = RunReport::ServerCpu{
        *calls_after->cpu_seconds - calls_before->cpu_seconds.value_or(0),
        calls_after->commit_cpu_seconds.value_or(0) - calls_before->commit_cpu_seconds.value_or(0),
        *floor_after->cpu_seconds - floor_before->cpu_seconds.value_or(0)};
  }
  uint64_t left_open = 0;
  double left_open_seconds = 0;
  if (o.leave_open > 0) {
    LeaveOpenPhase leave(o, calls.run_id(), nodes, &completions);
    left_open_seconds = leave.Run();
    left_open = leave.opened();
    std::cerr << absl::StrFormat("left open: %d reservations, %.1f s\n", left_open,
                                 left_open_seconds);
    if (left_open_seconds < 0 || left_open < o.leave_open) {
      std::cerr << "ledger-bench: could not leave " << o.leave_open
                << " reservations open; first error: " << leave.first_error() << "\n";
      return 1;
    }
  }

  RunReport report;
  report.server = o.server;
  report.nodes = o.nodes;
  report.callerids = o.callerids;
  report.extensions = o.extensions;
  report.in_flight = o.in_flight;
  report.seed = o.seed;
  report.extend_ratio = o.extend_ratio;
  report.no_answer_ratio = o.no_answer_ratio;
  report.unknown_ratio = o.unknown_ratio;
  report.started_over_days = o.started_over_days;
  report.preload_enabled = o.preload;
  report.preload_added = preload_added;
  report.preload_existing = preload_existing;
  report.preload_seconds = preload_seconds;
  report.left_open = left_open;
  report.left_open_seconds = left_open_seconds;
  report.calls_seconds = calls_seconds;
  report.settled = calls.counts.settled;
  report.released = calls.counts.released;
  report.denied = calls.counts.denied;
  report.unknown = calls.counts.unknown;
  report.no_credit = calls.counts.no_credit;
  report.failed = calls.counts.failed;
  for (const LatencyRecorder* r :
       {&calls.authorize, &calls.reserve, &calls.extend, &calls.settle, &calls.release}) {
    report.rpcs.emplace_back(r->name(), r->Summarize());
  }
  report.calls_cpu_seconds = calls_cpu;
  report.floor_seconds = floor_seconds;
  report.floor = floor.check.Summarize();
  report.floor_cpu_seconds = floor_cpu;
  report.commit = commit;
  report.server_cpu = server_cpu;
  report.interval_seconds = o.interval_seconds;
  report.intervals = intervals.intervals();
  report.audit = audit;
  report.audit_skipped = audit_skipped;

  std::fputs(FormatTable(report).c_str(), stdout);
  if (!o.json.empty()) {
    std::ofstream out(o.json);
    out << FormatJson(report);
    if (!out) {
      std::cerr << "ledger-bench: cannot write " << o.json << "\n";
      return 1;
    }
  }

  if (audit && !audit->ok()) {
    std::cerr << "ledger-bench: the audit failed: " << audit->mismatches
              << " CallerIDs do not add up; first: " << audit->first_mismatch << "\n";
    return 1;
  }
  if (report.RpcErrors() > 0 || report.floor.errors > 0) {
    std::cerr << "ledger-bench: " << report.RpcErrors() + report.floor.errors
              << " RPCs failed; first: " << calls.first_error() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace callbackledger::bench

int main(int argc, char** argv) { return callbackledger::bench::Main(argc, argv); }
