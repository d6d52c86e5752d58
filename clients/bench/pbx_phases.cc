#include "clients/bench/pbx_phases.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/bench/audit.h"

namespace callbackledger::bench {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t Micros(Clock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

void SetDeadline(grpc::ClientContext* ctx, double seconds) {
  // gRPC takes deadlines on the system clock only.
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::duration_cast<std::chrono::system_clock::duration>(
                        std::chrono::duration<double>(seconds)));
}

// The node that slot `slot` goes through.
const Node& NodeOf(const std::vector<Node>& nodes, int slot) {
  return nodes[static_cast<size_t>(slot) % nodes.size()];
}

// The rate of every simulated call: 0.05 to connect, 0.60 a minute, billed per minute.
v1::Rate CallRate() {
  v1::Rate rate;
  rate.set_connect_fee("0.05");
  rate.set_price_per_minute("0.60");
  rate.set_billing_increment_seconds(60);
  return rate;
}

constexpr uint64_t kReserveSeconds = 300;
constexpr uint64_t kExtendSeconds = 120;
constexpr uint32_t kTtlSeconds = 120;

}  // namespace

std::string ExtensionOf(int index) { return absl::StrFormat("0003*%03d", index); }
std::string NumberOf(int index) { return absl::StrFormat("+4070%08d", index); }
std::string UnknownNumberOf(int index) { return absl::StrFormat("+4079%08d", index); }

PreloadPhase::PreloadPhase(const BenchOptions& options, const std::vector<Node>& nodes,
                           CompletionThread* completions)
    : Phase("preload", std::max(1, options.preload_in_flight), options.preload_seconds,
            static_cast<uint64_t>(options.callerids), options.max_errors),
      options_(options),
      nodes_(nodes),
      completions_(completions),
      started_epoch_(std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count()) {}

void PreloadPhase::Start(int slot, uint64_t index) {
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
  completions_->Call(NodeOf(nodes_, slot).caller_ids.get(),
                     &v1::CallerIds::Stub::PrepareAsyncAddCallerId, &add->ctx, add->request,
                     &add->reply, [this, add, slot](grpc::Status status) {
                       bool error = false;
                       if (status.ok()) {
                         // A repeated request_id answers with the first reply: created before this
                         // run.
                         if (add->reply.created_at().seconds() < started_epoch_ - 1) {
                           existing_.fetch_add(1);
                         } else {
                           added_.fetch_add(1);
                         }
                       } else if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
                         existing_.fetch_add(1);
                       } else {
                         error = true;
                         NoteError(absl::StrCat(add->request.callback_number(), ": ",
                                                status.error_code(), " ", status.error_message()));
                       }
                       delete add;
                       Done(slot, error);
                     });
}

struct CallsPhase::SimCall {
  int slot = 0;
  int callerid = 0;  // its index: NumberOf, ExtensionOf
  const Node* node = nullptr;
  bool no_answer = false;
  bool extend = false;
  uint64_t duration = 0;
  int64_t started_micros = 0;  // 0: the Settle says no start
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

CallsPhase::CallsPhase(const BenchOptions& options, const std::vector<Node>& nodes,
                       CompletionThread* completions, Charges* charges)
    : Phase("calls", options.in_flight, options.seconds, options.calls, options.max_errors),
      options_(options),
      nodes_(nodes),
      completions_(completions),
      charges_(charges),
      run_id_(absl::StrFormat(
          "%x-%x",
          static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()),
          options.seed)),
      rate_(CallRate()) {
  for (int slot = 0; slot < options.in_flight; ++slot) {
    rngs_.emplace_back(options.seed * 1000003 + static_cast<uint64_t>(slot));
  }
}

void CallsPhase::Start(int slot, uint64_t index) {
  auto* call = new SimCall;
  call->slot = slot;
  call->node = &NodeOf(nodes_, slot);
  std::mt19937_64& rng = rngs_[slot];
  const int callerid =
      static_cast<int>(std::uniform_int_distribution<int>(0, options_.callerids - 1)(rng));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  // Drawn only when asked for, so that runs without unknown callers make the same calls
  // for a seed as before.
  const bool unknown = options_.unknown_ratio > 0 && unit(rng) < options_.unknown_ratio;
  call->no_answer = unit(rng) < options_.no_answer_ratio;
  call->extend = !call->no_answer && unit(rng) < options_.extend_ratio;
  const uint64_t held = kReserveSeconds + (call->extend ? kExtendSeconds : 0);
  call->duration = std::uniform_int_distribution<uint64_t>(1, held)(rng);
  if (options_.started_over_days > 0) {
    const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const auto span = static_cast<int64_t>(options_.started_over_days * 86400e6);
    call->started_micros = now - std::uniform_int_distribution<int64_t>(0, span)(rng);
  }
  call->callerid = callerid;
  call->extension = ExtensionOf(callerid % options_.extensions);
  call->number = unknown ? UnknownNumberOf(callerid) : NumberOf(callerid);
  if (unknown) counts.unknown.fetch_add(1);
  call->reservation_id = absl::StrCat("bench-", run_id_, "-", index);
  Authorize(call);
}

bool CallsPhase::Check(SimCall* call, LatencyRecorder& recorder, const grpc::Status& status) {
  recorder.Record(Micros(Clock::now() - call->t0), status.ok());
  if (status.ok()) return true;
  NoteError(absl::StrCat(recorder.name(), " ", call->reservation_id, ": ", status.error_code(), " ",
                         status.error_message()));
  counts.failed.fetch_add(1);
  Finish(call, /*error=*/true);
  return false;
}

void CallsPhase::Finish(SimCall* call, bool error) {
  const int slot = call->slot;
  delete call;
  Done(slot, error);
}

void CallsPhase::Authorize(SimCall* call) {
  call->authorize_request.set_extension(call->extension);
  call->authorize_request.set_callback_number(call->number);
  *call->authorize_request.mutable_rate() = rate_;
  SetDeadline(&call->authorize_ctx, options_.rpc_timeout_seconds);
  call->t0 = Clock::now();
  completions_->Call(call->node->calls.get(), &v1::Calls::Stub::PrepareAsyncAuthorize,
                     &call->authorize_ctx, call->authorize_request, &call->authorize_reply,
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

void CallsPhase::Reserve(SimCall* call) {
  v1::ReserveRequest& r = call->reserve_request;
  r.set_reservation_id(call->reservation_id);
  r.set_extension(call->extension);
  r.set_callback_number(call->number);
  *r.mutable_rate() = rate_;
  r.set_seconds(kReserveSeconds);
  r.set_ttl_seconds(kTtlSeconds);
  r.set_call_id(call->reservation_id);
  r.set_node_id(call->node->id);
  r.set_destination("0040213100200");
  SetDeadline(&call->reserve_ctx, options_.rpc_timeout_seconds);
  call->t0 = Clock::now();
  completions_->Call(call->node->calls.get(), &v1::Calls::Stub::PrepareAsyncReserve,
                     &call->reserve_ctx, r, &call->reserve_reply,
                     [this, call](grpc::Status status) {
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

void CallsPhase::Extend(SimCall* call) {
  v1::ExtendRequest& r = call->extend_request;
  r.set_reservation_id(call->reservation_id);
  r.set_seconds(kExtendSeconds);
  r.set_ttl_seconds(kTtlSeconds);
  r.set_node_id(call->node->id);
  r.set_request_id("ext-1");
  SetDeadline(&call->extend_ctx, options_.rpc_timeout_seconds);
  call->t0 = Clock::now();
  completions_->Call(call->node->calls.get(), &v1::Calls::Stub::PrepareAsyncExtend,
                     &call->extend_ctx, r, &call->extend_reply, [this, call](grpc::Status status) {
                       if (!Check(call, extend, status)) return;
                       Settle(call);
                     });
}

void CallsPhase::Settle(SimCall* call) {
  v1::SettleRequest& r = call->settle_request;
  r.set_reservation_id(call->reservation_id);
  r.set_duration_seconds(call->duration);
  r.set_node_id(call->node->id);
  r.set_destination("0040213100200");
  if (call->started_micros != 0) {
    r.mutable_started_at()->set_seconds(call->started_micros / 1000000);
    r.mutable_started_at()->set_nanos(static_cast<int32_t>(call->started_micros % 1000000) * 1000);
  }
  SetDeadline(&call->end_ctx, options_.rpc_timeout_seconds);
  call->t0 = Clock::now();
  completions_->Call(call->node->calls.get(), &v1::Calls::Stub::PrepareAsyncSettle, &call->end_ctx,
                     r, &call->settle_reply, [this, call](grpc::Status status) {
                       if (!Check(call, settle, status)) return;
                       if (charges_ != nullptr)
                         charges_->Add(call->callerid, call->settle_reply.cost());
                       counts.settled.fetch_add(1);
                       Finish(call, false);
                     });
}

void CallsPhase::Release(SimCall* call) {
  v1::ReleaseRequest& r = call->release_request;
  r.set_reservation_id(call->reservation_id);
  r.set_node_id(call->node->id);
  SetDeadline(&call->end_ctx, options_.rpc_timeout_seconds);
  call->t0 = Clock::now();
  completions_->Call(call->node->calls.get(), &v1::Calls::Stub::PrepareAsyncRelease, &call->end_ctx,
                     r, &call->release_reply, [this, call](grpc::Status status) {
                       if (!Check(call, release, status)) return;
                       counts.released.fetch_add(1);
                       Finish(call, false);
                     });
}

LeaveOpenPhase::LeaveOpenPhase(const BenchOptions& options, const std::string& run_id,
                               const std::vector<Node>& nodes, CompletionThread* completions)
    : Phase("leave_open", std::max(1, options.preload_in_flight), options.preload_seconds,
            options.leave_open, options.max_errors),
      options_(options),
      run_id_(run_id),
      nodes_(nodes),
      completions_(completions) {}

void LeaveOpenPhase::Start(int slot, uint64_t index) {
  struct Open {
    grpc::ClientContext ctx;
    v1::ReserveRequest request;
    v1::ReserveResponse reply;
  };
  auto* open = new Open;
  const Node& node = NodeOf(nodes_, slot);
  const int callerid = static_cast<int>(index % static_cast<uint64_t>(options_.callerids));
  v1::ReserveRequest& r = open->request;
  r.set_reservation_id(absl::StrCat("bench-open-", run_id_, "-", index));
  r.set_extension(ExtensionOf(callerid % options_.extensions));
  r.set_callback_number(NumberOf(callerid));
  *r.mutable_rate() = CallRate();
  r.set_seconds(kReserveSeconds);
  r.set_ttl_seconds(options_.leave_open_ttl_seconds);
  r.set_call_id(r.reservation_id());
  r.set_node_id(node.id);
  r.set_destination("0040213100200");
  SetDeadline(&open->ctx, options_.rpc_timeout_seconds);
  completions_->Call(
      node.calls.get(), &v1::Calls::Stub::PrepareAsyncReserve, &open->ctx, r, &open->reply,
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

FloorPhase::FloorPhase(const BenchOptions& options, double seconds, const std::vector<Node>& nodes,
                       CompletionThread* completions)
    : Phase("floor", options.in_flight, seconds, UINT64_MAX, options.max_errors),
      options_(options),
      nodes_(nodes),
      completions_(completions) {}

void FloorPhase::Start(int slot, uint64_t /*index*/) {
  struct Probe {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse reply;
    Clock::time_point t0;
  };
  auto* probe = new Probe;
  SetDeadline(&probe->ctx, options_.rpc_timeout_seconds);
  probe->t0 = Clock::now();
  completions_->Call(NodeOf(nodes_, slot).health.get(),
                     &grpc::health::v1::Health::Stub::PrepareAsyncCheck, &probe->ctx,
                     probe->request, &probe->reply, [this, probe, slot](grpc::Status status) {
                       check.Record(Micros(Clock::now() - probe->t0), status.ok());
                       delete probe;
                       Done(slot, !status.ok());
                     });
}

}  // namespace callbackledger::bench
