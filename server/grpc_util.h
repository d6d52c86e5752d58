// Small adapters shared by the services: status mapping, the ledger handle that becomes
// available once the store is loaded, and finishing callback reactors.
#ifndef CALLBACKLEDGER_SERVER_GRPC_UTIL_H_
#define CALLBACKLEDGER_SERVER_GRPC_UTIL_H_

#include <atomic>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "ledger/ledger.h"
#include "server/access.h"

namespace callbackledger {

// Converts a ledger status to a gRPC status, bounding the message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Holds the ledger once it is open; until then every RPC answers UNAVAILABLE.
class LedgerHandle {
 public:
  Ledger* get() const { return ledger_.load(std::memory_order_acquire); }
  void set(Ledger* ledger) { ledger_.store(ledger, std::memory_order_release); }

 private:
  std::atomic<Ledger*> ledger_{nullptr};
};

grpc::Status NotReady();

// What every service adapter needs: the ledger and the access check.
struct Backend {
  const LedgerHandle* handle;
  Access* access;
};

// The access check of `rpc` ("Service.Method") for this call: the caller's identity, or
// the status to answer (UNAUTHENTICATED or PERMISSION_DENIED).
absl::StatusOr<Identity> CheckAccess(const Backend& backend, grpc::CallbackServerContext* context,
                                     absl::string_view rpc);

// Finishes `reactor` with `result`, copying a value into `response`.
template <typename Reply>
grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    absl::StatusOr<Reply> result, Reply* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (result.ok()) *response = *std::move(result);
  reactor->Finish(ToGrpcStatus(result.status()));
  return reactor;
}

// A ledger `done` callback that finishes `reactor` when the write is answered.
template <typename Reply>
Done<Reply> FinishLater(grpc::ServerUnaryReactor* reactor, Reply* response) {
  return [reactor, response](absl::StatusOr<Reply> result) {
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpcStatus(result.status()));
  };
}

// Runs a write: the access check first, UNAVAILABLE before the ledger is open, else
// `call(ledger, identity, done)`. The identity's name is the actor of the events.
template <typename Reply, typename Call>
grpc::ServerUnaryReactor* Write(const Backend& backend, grpc::CallbackServerContext* context,
                                absl::string_view rpc, Reply* response, Call call) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Identity> identity = CheckAccess(backend, context, rpc);
  Ledger* ledger = backend.handle->get();
  if (!identity.ok()) {
    reactor->Finish(ToGrpcStatus(identity.status()));
  } else if (ledger == nullptr) {
    reactor->Finish(NotReady());
  } else {
    call(ledger, *identity, FinishLater(reactor, response));
  }
  return reactor;
}

// Runs a read inline, after the access check.
template <typename Reply, typename Call>
grpc::ServerUnaryReactor* Read(const Backend& backend, grpc::CallbackServerContext* context,
                               absl::string_view rpc, Reply* response, Call call) {
  absl::StatusOr<Identity> identity = CheckAccess(backend, context, rpc);
  Ledger* ledger = backend.handle->get();
  if (!identity.ok()) return FinishNow<Reply>(context, identity.status(), response);
  if (ledger == nullptr) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(NotReady());
    return reactor;
  }
  return FinishNow<Reply>(context, call(ledger), response);
}

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_GRPC_UTIL_H_
