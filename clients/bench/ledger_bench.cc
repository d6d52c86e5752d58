// ledger-bench: an asynchronous gRPC load generator that plays PBX nodes against ledgerd, on
// one channel, every answer taken by one thread polling a completion queue
// (completion_thread.h): the least client CPU per RPC on a machine it shares with the server.
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
// Loopback only: it refuses any server address that is not 127.x.x.x, localhost or [::1].
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "callbackledger/v1/caller_ids.grpc.pb.h"
#include "callbackledger/v1/calls.grpc.pb.h"
#include "clients/bench/completion_thread.h"
#include "clients/bench/latency.h"
#include "clients/bench/phase.h"
#include "clients/bench/report.h"
#include "clients/bench/server_metrics.h"
#include "clients/channel_flags.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace callbackledger::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string server = "127.0.0.1:50051";
  int callerids = 1000;
  int extensions = 10;
  int in_flight = 16;
  uint64_t calls = 1000000;
  double seconds = 10;
  double extend_ratio = 0.3;
  double no_answer_ratio = 0.1;
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
};

// User + system CPU time of this process so far, in seconds.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// True for 127.x.x.x:port, localhost:port and [::1]:port.
bool IsLoopback(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return false;
  const std::string port = address.substr(colon + 1);
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const std::string host = address.substr(0, colon);
  if (host == "localhost" || host == "[::1]") return true;
  if (host.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

std::string ExtensionOf(int index) { return absl::StrFormat("0003*%03d", index); }
std::string NumberOf(int index) { return absl::StrFormat("+4070%08d", index); }

uint64_t Micros(Clock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

void SetDeadline(grpc::ClientContext* ctx, double seconds) {
  // gRPC takes deadlines on the system clock only.
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::duration_cast<std::chrono::system_clock::duration>(
                        std::chrono::duration<double>(seconds)));
}

// Adds the CallerIDs, with ample credit; those already there are skipped.
class PreloadPhase : public Phase {
 public:
  PreloadPhase(const Options& options, v1::CallerIds::Stub* stub, CompletionThread* completions)
      : Phase("preload", std::max(1, options.preload_in_flight), options.preload_seconds,
              static_cast<uint64_t>(options.callerids), options.max_errors),
        options_(options),
        stub_(stub),
        completions_(completions),
        started_epoch_(std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count()) {}

  uint64_t added() const { return added_.load(); }
  uint64_t existing() const { return existing_.load(); }

 protected:
  void Start(int slot, uint64_t index) override {
    struct Add {
      grpc::ClientContext ctx;
      v1::AddCallerIdRequest request;
      v1::CallerId reply;
    };
    auto* add = new Add;
    const int i = static_cast<int>(index);
    add->request.set_extension(ExtensionOf(i % options_.extensions));
    add->request.set_callback_number(NumberOf(i));
    add->request.set_initial_credit(options_.initial_credit);
    add->request.set_status(v1::CallerId::ENABLED);
    add->request.set_order_no("ledger-bench");
    add->request.set_request_id(absl::StrCat("ledger-bench-add-", i));
    SetDeadline(&add->ctx, options_.rpc_timeout_seconds);
    completions_->Call(
        stub_, &v1::CallerIds::Stub::PrepareAsyncAddCallerId, &add->ctx, add->request, &add->reply,
        [this, add, slot](grpc::Status status) {
          bool error = false;
          if (status.ok()) {
            // A repeated request_id answers with the first reply: created before this run.
            if (add->reply.created_at().seconds() < started_epoch_ - 1) {
              existing_.fetch_add(1);
            } else {
              added_.fetch_add(1);
            }
          } else if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
            existing_.fetch_add(1);
          } else {
            error = true;
            NoteError(absl::StrCat(add->request.callback_number(), ": ", status.error_code(), " ",
                                   status.error_message()));
          }
          delete add;
          Done(slot, error);
        });
  }

 private:
  const Options& options_;
  v1::CallerIds::Stub* const stub_;
  CompletionThread* const completions_;
  const int64_t started_epoch_;
  std::atomic<uint64_t> added_{0};
  std::atomic<uint64_t> existing_{0};
};

struct CallCounts {
  std::atomic<uint64_t> settled{0};
  std::atomic<uint64_t> released{0};
  std::atomic<uint64_t> denied{0};     // Authorize did not allow the call
  std::atomic<uint64_t> no_credit{0};  // Reserve granted nothing
  std::atomic<uint64_t> failed{0};     // an RPC failed
};

// The PBX side of simulated calls.
class CallsPhase : public Phase {
 public:
  CallsPhase(const Options& options, v1::Calls::Stub* stub, CompletionThread* completions)
      : Phase("calls", options.in_flight, options.seconds, options.calls, options.max_errors),
        options_(options),
        stub_(stub),
        completions_(completions),
        run_id_(absl::StrFormat(
            "%x-%x",
            static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()),
            options.seed)) {
    for (int slot = 0; slot < options.in_flight; ++slot) {
      rngs_.emplace_back(options.seed * 1000003 + static_cast<uint64_t>(slot));
    }
    rate_.set_connect_fee("0.05");
    rate_.set_price_per_minute("0.60");
    rate_.set_billing_increment_seconds(60);
  }

  LatencyRecorder authorize{"Authorize"};
  LatencyRecorder reserve{"Reserve"};
  LatencyRecorder extend{"Extend"};
  LatencyRecorder settle{"Settle"};
  LatencyRecorder release{"Release"};
  CallCounts counts;

  const std::string& run_id() const { return run_id_; }

 protected:
  void Start(int slot, uint64_t index) override {
    auto* call = new SimCall;
    call->slot = slot;
    std::mt19937_64& rng = rngs_[slot];
    const int callerid =
        static_cast<int>(std::uniform_int_distribution<int>(0, options_.callerids - 1)(rng));
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    call->no_answer = unit(rng) < options_.no_answer_ratio;
    call->extend = !call->no_answer && unit(rng) < options_.extend_ratio;
    const uint64_t held = kReserveSeconds + (call->extend ? kExtendSeconds : 0);
    call->duration = std::uniform_int_distribution<uint64_t>(1, held)(rng);
    call->extension = ExtensionOf(callerid % options_.extensions);
    call->number = NumberOf(callerid);
    call->reservation_id = absl::StrCat("bench-", run_id_, "-", index);
    Authorize(call);
  }

 private:
  static constexpr uint64_t kReserveSeconds = 300;
  static constexpr uint64_t kExtendSeconds = 120;
  static constexpr uint32_t kTtlSeconds = 120;
  static constexpr const char* kNodeId = "ledger-bench";

  struct SimCall {
    int slot = 0;
    bool no_answer = false;
    bool extend = false;
    uint64_t duration = 0;
    std::string extension;
    std::string number;
    std::string reservation_id;
    Clock::time_point t0;
    // One context per RPC: a context serves one RPC only.
    grpc::ClientContext authorize_ctx, reserve_ctx, extend_ctx, end_ctx;
    v1::AuthorizeRequest authorize_request;
    v1::AuthorizeResponse authorize_reply;
    v1::ReserveRequest reserve_request;
    v1::ReserveResponse reserve_reply;
    v1::ExtendRequest extend_request;
    v1::ExtendResponse extend_reply;
    v1::SettleRequest settle_request;
    v1::SettleResponse settle_reply;
    v1::ReleaseRequest release_request;
    v1::ReleaseResponse release_reply;
  };

  // Records one RPC's latency; on failure ends the call and returns false.
  bool Check(SimCall* call, LatencyRecorder& recorder, const grpc::Status& status) {
    recorder.Record(Micros(Clock::now() - call->t0), status.ok());
    if (status.ok()) return true;
    NoteError(absl::StrCat(recorder.name(), " ", call->reservation_id, ": ", status.error_code(),
                           " ", status.error_message()));
    counts.failed.fetch_add(1);
    Finish(call, /*error=*/true);
    return false;
  }

  void Finish(SimCall* call, bool error) {
    const int slot = call->slot;
    delete call;
    Done(slot, error);
  }

  void Authorize(SimCall* call) {
    call->authorize_request.set_extension(call->extension);
    call->authorize_request.set_callback_number(call->number);
    *call->authorize_request.mutable_rate() = rate_;
    SetDeadline(&call->authorize_ctx, options_.rpc_timeout_seconds);
    call->t0 = Clock::now();
    completions_->Call(stub_, &v1::Calls::Stub::PrepareAsyncAuthorize, &call->authorize_ctx,
                       call->authorize_request, &call->authorize_reply,
                       [this, call](grpc::Status status) {
                         if (!Check(call, authorize, status)) return;
                         if (call->authorize_reply.decision() != v1::ALLOWED) {
                           counts.denied.fetch_add(1);
                           Finish(call, false);
                           return;
                         }
                         Reserve(call);
                       });
  }

  void Reserve(SimCall* call) {
    v1::ReserveRequest& r = call->reserve_request;
    r.set_reservation_id(call->reservation_id);
    r.set_extension(call->extension);
    r.set_callback_number(call->number);
    *r.mutable_rate() = rate_;
    r.set_seconds(kReserveSeconds);
    r.set_ttl_seconds(kTtlSeconds);
    r.set_call_id(call->reservation_id);
    r.set_node_id(kNodeId);
    r.set_destination("0040213100200");
    SetDeadline(&call->reserve_ctx, options_.rpc_timeout_seconds);
    call->t0 = Clock::now();
    completions_->Call(stub_, &v1::Calls::Stub::PrepareAsyncReserve, &call->reserve_ctx, r,
                       &call->reserve_reply, [this, call](grpc::Status status) {
                         if (!Check(call, reserve, status)) return;
                         if (call->reserve_reply.decision() != v1::ALLOWED) {
                           counts.no_credit.fetch_add(1);
                           Finish(call, false);
                         } else if (call->no_answer) {
                           Release(call);
                         } else if (call->extend) {
                           Extend(call);
                         } else {
                           Settle(call);
                         }
                       });
  }

  void Extend(SimCall* call) {
    v1::ExtendRequest& r = call->extend_request;
    r.set_reservation_id(call->reservation_id);
    r.set_seconds(kExtendSeconds);
    r.set_ttl_seconds(kTtlSeconds);
    r.set_node_id(kNodeId);
    r.set_request_id("ext-1");
    SetDeadline(&call->extend_ctx, options_.rpc_timeout_seconds);
    call->t0 = Clock::now();
    completions_->Call(stub_, &v1::Calls::Stub::PrepareAsyncExtend, &call->extend_ctx, r,
                       &call->extend_reply, [this, call](grpc::Status status) {
                         if (!Check(call, extend, status)) return;
                         Settle(call);
                       });
  }

  void Settle(SimCall* call) {
    v1::SettleRequest& r = call->settle_request;
    r.set_reservation_id(call->reservation_id);
    r.set_duration_seconds(call->duration);
    r.set_node_id(kNodeId);
    r.set_destination("0040213100200");
    SetDeadline(&call->end_ctx, options_.rpc_timeout_seconds);
    call->t0 = Clock::now();
    completions_->Call(stub_, &v1::Calls::Stub::PrepareAsyncSettle, &call->end_ctx, r,
                       &call->settle_reply, [this, call](grpc::Status status) {
                         if (!Check(call, settle, status)) return;
                         counts.settled.fetch_add(1);
                         Finish(call, false);
                       });
  }

  void Release(SimCall* call) {
    v1::ReleaseRequest& r = call->release_request;
    r.set_reservation_id(call->reservation_id);
    r.set_node_id(kNodeId);
    SetDeadline(&call->end_ctx, options_.rpc_timeout_seconds);
    call->t0 = Clock::now();
    completions_->Call(stub_, &v1::Calls::Stub::PrepareAsyncRelease, &call->end_ctx, r,
                       &call->release_reply, [this, call](grpc::Status status) {
                         if (!Check(call, release, status)) return;
                         counts.released.fetch_add(1);
                         Finish(call, false);
                       });
  }

  const Options& options_;
  v1::Calls::Stub* const stub_;
  CompletionThread* const completions_;
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
  LeaveOpenPhase(const Options& options, const std::string& run_id, v1::Calls::Stub* stub,
                 CompletionThread* completions)
      : Phase("leave_open", std::max(1, options.preload_in_flight), options.preload_seconds,
              options.leave_open, options.max_errors),
        options_(options),
        run_id_(run_id),
        stub_(stub),
        completions_(completions) {}

  uint64_t opened() const { return opened_.load(); }

 protected:
  void Start(int slot, uint64_t index) override {
    struct Open {
      grpc::ClientContext ctx;
      v1::ReserveRequest request;
      v1::ReserveResponse reply;
    };
    auto* open = new Open;
    const int callerid = static_cast<int>(index % static_cast<uint64_t>(options_.callerids));
    v1::ReserveRequest& r = open->request;
    r.set_reservation_id(absl::StrCat("bench-open-", run_id_, "-", index));
    r.set_extension(ExtensionOf(callerid % options_.extensions));
    r.set_callback_number(NumberOf(callerid));
    r.mutable_rate()->set_connect_fee("0.05");
    r.mutable_rate()->set_price_per_minute("0.60");
    r.mutable_rate()->set_billing_increment_seconds(60);
    r.set_seconds(300);
    r.set_ttl_seconds(options_.leave_open_ttl_seconds);
    r.set_call_id(r.reservation_id());
    r.set_node_id("ledger-bench");
    r.set_destination("0040213100200");
    SetDeadline(&open->ctx, options_.rpc_timeout_seconds);
    completions_->Call(
        stub_, &v1::Calls::Stub::PrepareAsyncReserve, &open->ctx, r, &open->reply,
        [this, open, slot](grpc::Status status) {
          const bool granted = status.ok() && open->reply.decision() == v1::ALLOWED;
          if (granted) {
            opened_.fetch_add(1);
          } else {
            NoteError(absl::StrCat(open->request.reservation_id(), ": ",
                                   status.ok() ? "not granted" : status.error_message()));
          }
          delete open;
          Done(slot, !granted);
        });
  }

 private:
  const Options& options_;
  const std::string run_id_;
  v1::Calls::Stub* const stub_;
  CompletionThread* const completions_;
  std::atomic<uint64_t> opened_{0};
};

// The floor: Health/Check, which touches no storage, at the same concurrency.
class FloorPhase : public Phase {
 public:
  FloorPhase(const Options& options, double seconds, grpc::health::v1::Health::Stub* stub,
             CompletionThread* completions)
      : Phase("floor", options.in_flight, seconds, UINT64_MAX, options.max_errors),
        options_(options),
        stub_(stub),
        completions_(completions) {}

  LatencyRecorder check{"Health/Check"};

 protected:
  void Start(int slot, uint64_t index) override {
    struct Probe {
      grpc::ClientContext ctx;
      grpc::health::v1::HealthCheckRequest request;
      grpc::health::v1::HealthCheckResponse reply;
      Clock::time_point t0;
    };
    auto* probe = new Probe;
    SetDeadline(&probe->ctx, options_.rpc_timeout_seconds);
    probe->t0 = Clock::now();
    completions_->Call(stub_, &grpc::health::v1::Health::Stub::PrepareAsyncCheck, &probe->ctx,
                       probe->request, &probe->reply, [this, probe, slot](grpc::Status status) {
                         check.Record(Micros(Clock::now() - probe->t0), status.ok());
                         delete probe;
                         Done(slot, !status.ok());
                       });
  }

 private:
  const Options& options_;
  grpc::health::v1::Health::Stub* const stub_;
  CompletionThread* const completions_;
};

// ledger-bench's own flags (the channel's are AddChannelFlags').
void AddOptions(CLI::App* app_ptr, Options* o) {
  CLI::App& app = *app_ptr;
  app.add_option("--server", o->server, "ledgerd's address (loopback only)")->capture_default_str();
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
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--extend_ratio", o->extend_ratio, "share of connected calls that Extend")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--no_answer_ratio", o->no_answer_ratio, "share of calls that Release")
      ->check(CLI::Range(0.0, 1.0))
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
  app.add_option("--leave_open_ttl", o->leave_open_ttl_seconds,
                 "TTL of the reservations left open, seconds (the ledger allows a day at most)")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
}

int Main(int argc, char** argv) {
  // As in ledgerd: Debian's Abseil is built without NDEBUG, so gRPC's every absl::Mutex lock
  // would feed a lock-order graph, a few per cent of the client's CPU.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  Options o;
  CLI::App app{
      "ledger-bench: plays PBX nodes against ledgerd (Authorize, Reserve, Extend, Settle or "
      "Release) and measures the floor (Health/Check) at the same concurrency. Loopback only."};
  AddOptions(&app, &o);
  ChannelFlags channel_flags;
  AddChannelFlags(&app, &channel_flags);
  CLI11_PARSE(app, argc, argv);

  if (!IsLoopback(o.server)) {
    std::cerr << "ledger-bench: refusing " << o.server
              << ": only loopback servers (127.x.x.x, localhost, [::1]) may be benchmarked\n";
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
  absl::StatusOr<std::shared_ptr<grpc::Channel>> made =
      MakeChannelFromFlags(channel_flags, o.server);
  if (!made.ok()) {
    std::cerr << "ledger-bench: " << made.status().message() << "\n";
    return 2;
  }
  std::shared_ptr<grpc::Channel> channel = *std::move(made);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    std::cerr << "ledger-bench: cannot connect to " << o.server << "\n";
    return 1;
  }
  auto caller_ids = v1::CallerIds::NewStub(channel);
  auto calls_stub = v1::Calls::NewStub(channel);
  auto health = grpc::health::v1::Health::NewStub(channel);
  // Every RPC of every phase is answered on this one thread (completion_thread.h).
  CompletionThread completions;

  uint64_t preload_added = 0, preload_existing = 0;
  double preload_seconds = 0;
  if (o.preload) {
    PreloadPhase preload(o, caller_ids.get(), &completions);
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

  CommitCounters commit_before;
  if (!o.server_metrics.empty()) {
    absl::StatusOr<CommitCounters> scraped = ScrapeCommitCounters(o.server_metrics);
    if (!scraped.ok()) {
      std::cerr << "ledger-bench: " << scraped.status().message() << "\n";
      return 2;
    }
    commit_before = *std::move(scraped);
  }
  CallsPhase calls(o, calls_stub.get(), &completions);
  const double calls_cpu_started = ProcessCpuSeconds();
  const double calls_seconds = calls.Run();
  const double calls_cpu = ProcessCpuSeconds() - calls_cpu_started;
  if (calls_seconds <= 0) return 1;
  std::optional<CommitSummary> commit;
  if (!o.server_metrics.empty()) {
    absl::StatusOr<CommitCounters> scraped = ScrapeCommitCounters(o.server_metrics);
    if (!scraped.ok()) {
      std::cerr << "ledger-bench: " << scraped.status().message() << "\n";
      return 1;
    }
    commit = Difference(commit_before, *scraped);
  }
  FloorPhase floor(o, calls_seconds, health.get(), &completions);
  const double floor_cpu_started = ProcessCpuSeconds();
  const double floor_seconds = floor.Run();
  const double floor_cpu = ProcessCpuSeconds() - floor_cpu_started;
  if (floor_seconds <= 0) return 1;
  uint64_t left_open = 0;
  double left_open_seconds = 0;
  if (o.leave_open > 0) {
    LeaveOpenPhase leave(o, calls.run_id(), calls_stub.get(), &completions);
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
  report.callerids = o.callerids;
  report.extensions = o.extensions;
  report.in_flight = o.in_flight;
  report.seed = o.seed;
  report.extend_ratio = o.extend_ratio;
  report.no_answer_ratio = o.no_answer_ratio;
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

  std::fputs(FormatTable(report).c_str(), stdout);
  if (!o.json.empty()) {
    std::ofstream out(o.json);
    out << FormatJson(report);
    if (!out) {
      std::cerr << "ledger-bench: cannot write " << o.json << "\n";
      return 1;
    }
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
