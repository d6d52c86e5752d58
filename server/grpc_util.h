// Small adapters shared by the services: status mapping, the ledger handle that becomes
// available once the store is loaded, and finishing callback reactors.
#ifndef CALLBACKLEDGER_SERVER_GRPC_UTIL_H_
#define CALLBACKLEDGER_SERVER_GRPC_UTIL_H_

#include <atomic>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "ledger/ledger.h"

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

// Who is calling, as recorded in events. With no credentials configured every caller is
// the local administrator.
std::string ActorOf(grpc::CallbackServerContext* context);

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

// Runs a write: UNAVAILABLE before the ledger is open, else `call(ledger, done)`.
template <typename Reply, typename Call>
grpc::ServerUnaryReactor* Write(const LedgerHandle& handle, grpc::CallbackServerContext* context,
                                Reply* response, Call call) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Ledger* ledger = handle.get();
  if (ledger == nullptr) {
    reactor->Finish(NotReady());
    return reactor;
  }
  call(ledger, FinishLater(reactor, response));
  return reactor;
}

// Runs a read inline.
template <typename Reply, typename Call>
grpc::ServerUnaryReactor* Read(const LedgerHandle& handle, grpc::CallbackServerContext* context,
                               Reply* response, Call call) {
  Ledger* ledger = handle.get();
  if (ledger == nullptr) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(NotReady());
    return reactor;
  }
  return FinishNow<Reply>(context, call(ledger), response);
}

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_GRPC_UTIL_H_
