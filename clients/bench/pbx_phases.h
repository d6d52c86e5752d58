// The phases of a ledger-bench run (phase.h), each on the run's PBX nodes (nodes.h), slot
// `s` on node `s % nodes`, every answer taken by one CompletionThread:
//
//   PreloadPhase    AddCallerId for every CallerID, with ample credit (a request_id each, so
//                   a second run skips those already there);
//   CallsPhase      the simulated calls: Authorize -> Reserve -> sometimes Extend -> Settle,
//                   or Release when the call does not connect;
//   FloorPhase      grpc.health.v1.Health/Check at the same concurrency: the floor;
//   LeaveOpenPhase  reservations opened and never ended, for a later start-up to load.
#ifndef CALLBACKLEDGER_CLIENTS_BENCH_PBX_PHASES_H_
#define CALLBACKLEDGER_CLIENTS_BENCH_PBX_PHASES_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "callbackledger/v1/calls.pb.h"
#include "clients/bench/completion_thread.h"
#include "clients/bench/latency.h"
#include "clients/bench/nodes.h"
#include "clients/bench/phase.h"

namespace callbackledger::bench {

class Charges;  // audit.h

// What a run does; ledger-bench's flags of the same names.
struct BenchOptions {
  std::string server = "127.0.0.1:50051";
  int nodes = 1;
  int callerids = 1000;
  int extensions = 10;
  int in_flight = 16;
  uint64_t calls = 1000000;
  double seconds = 10;
  double extend_ratio = 0.3;
  double no_answer_ratio = 0.1;
  double unknown_ratio = 0;  // share of calls from numbers the ledger does not know
  // Each Settle says its call started at a random time in the last this many days (0: it
  // says none, and the ledger takes the Reserve's time): a history for the cost report.
  double started_over_days = 0;
  bool preload = true;
  int preload_in_flight = 64;
  double preload_seconds = 600;
  std::string initial_credit = "100000";
  double rpc_timeout_seconds = 10;
  uint64_t max_errors = 100;
  std::string json;
  std::string server_metrics;
  uint64_t seed = 1;
  uint64_t leave_open = 0;
  uint32_t leave_open_ttl_seconds = 86400;  // the most the ledger allows
  bool audit = true;
  // The floor's bound, seconds (0: as long as the calls phase took).
  double floor_seconds = 0;
  // Cut the calls phase into intervals this long (0: not cut), reported one by one.
  double interval_seconds = 0;
};

// The Callback extension and the callback number of CallerID `index`.
std::string ExtensionOf(int index);
std::string NumberOf(int index);
// A caller number no ledger-bench run ever adds: the caller of an unknown call.
std::string UnknownNumberOf(int index);

// Adds the CallerIDs, with ample credit; those already there are skipped.
class PreloadPhase : public Phase {
 public:
  PreloadPhase(const BenchOptions& options, const std::vector<Node>& nodes,
               CompletionThread* completions);

  uint64_t added() const { return added_.load(); }
  uint64_t existing() const { return existing_.load(); }

 protected:
  void Start(int slot, uint64_t index) override;

 private:
  const BenchOptions& options_;
  const std::vector<Node>& nodes_;
  CompletionThread* const completions_;
  const int64_t started_epoch_;
  std::atomic<uint64_t> added_{0};
  std::atomic<uint64_t> existing_{0};
};

struct CallCounts {
  std::atomic<uint64_t> settled{0};
  std::atomic<uint64_t> released{0};
  std::atomic<uint64_t> denied{0};     // Authorize did not allow the call
  std::atomic<uint64_t> unknown{0};    // calls from a number not on the ledger (--unknown_ratio)
  std::atomic<uint64_t> no_credit{0};  // Reserve granted nothing
  std::atomic<uint64_t> failed{0};     // an RPC failed
};

// The PBX side of simulated calls.
class CallsPhase : public Phase {
 public:
  // `charges` (may be null) is given the cost of every Settle answer, for the audit.
  CallsPhase(const BenchOptions& options, const std::vector<Node>& nodes,
             CompletionThread* completions, Charges* charges = nullptr);

  LatencyRecorder authorize{"Authorize"};
  LatencyRecorder reserve{"Reserve"};
  LatencyRecorder extend{"Extend"};
  LatencyRecorder settle{"Settle"};
  LatencyRecorder release{"Release"};
  CallCounts counts;

  // Part of every reservation_id of the run, so that runs never reuse one.
  const std::string& run_id() const { return run_id_; }

 protected:
  void Start(int slot, uint64_t index) override;

 private:
  struct SimCall;

  // Records one RPC's latency; on failure ends the call and returns false.
  bool Check(SimCall* call, LatencyRecorder& recorder, const grpc::Status& status);
  void Finish(SimCall* call, bool error);
  void Authorize(SimCall* call);
  void Reserve(SimCall* call);
  void Extend(SimCall* call);
  void Settle(SimCall* call);
  void Release(SimCall* call);

  const BenchOptions& options_;
  const std::vector<Node>& nodes_;
  CompletionThread* const completions_;
  Charges* const charges_;
  const std::string run_id_;
  // One generator per slot: a slot runs one call at a time, so no locking is needed.
  std::vector<std::mt19937_64> rngs_;
  v1::Rate rate_;
};

// Leaves reservations open at the end of a run: one Reserve each, spread over the
// CallerIDs, with a long TTL, never settled or released, so a later start-up of the server
// has them to load.
class LeaveOpenPhase : public Phase {
 public:
  LeaveOpenPhase(const BenchOptions& options, const std::string& run_id,
                 const std::vector<Node>& nodes, CompletionThread* completions);

  uint64_t opened() const { return opened_.load(); }

 protected:
  void Start(int slot, uint64_t index) override;

 private:
  const BenchOptions& options_;
  const std::string run_id_;
  const std::vector<Node>& nodes_;
  CompletionThread* const completions_;
  std::atomic<uint64_t> opened_{0};
};

// The floor: Health/Check, which touches no storage, at the same concurrency.
class FloorPhase : public Phase {
 public:
  FloorPhase(const BenchOptions& options, double seconds, const std::vector<Node>& nodes,
             CompletionThread* completions);

  LatencyRecorder check{"Health/Check"};

 protected:
  void Start(int slot, uint64_t index) override;

 private:
  const BenchOptions& options_;
  const std::vector<Node>& nodes_;
  CompletionThread* const completions_;
};

}  // namespace callbackledger::bench

#endif  // CALLBACKLEDGER_CLIENTS_BENCH_PBX_PHASES_H_
