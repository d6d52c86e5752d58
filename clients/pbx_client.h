// A small client library for PBX nodes: the call-credit protocol with a deadline on every
// call and retries that are safe because every write carries an idempotency key.
//
//   auto channel = grpc::CreateChannel("ledger:50051", credentials);
//   callbackledger::PbxClient client(channel, {.node_id = "pbx-1"});
//   auto reserve = client.Reserve(request);   // retried on UNAVAILABLE / DEADLINE_EXCEEDED
//
// Retries: Reserve, Settle and Release are keyed by reservation_id, so a retry that reaches
// the ledger twice is answered with the first answer and charges nothing twice. Extend is
// keyed by request_id: the client fills one in when the caller leaves it empty, before the
// first attempt, so all attempts share it. Authorize is retried only when the ledger was
// not reached or refused before deciding (UNAVAILABLE), since a wrong PIN counts.
//
// Thread-safety: a PbxClient may be shared by any number of threads.
#ifndef CALLBACKLEDGER_CLIENTS_PBX_CLIENT_H_
#define CALLBACKLEDGER_CLIENTS_PBX_CLIENT_H_

#include <chrono>
#include <memory>
#include <string>

#include "callbackledger/v1/calls.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace callbackledger {

struct PbxClientOptions {
  // Sent as node_id when a request leaves it empty.
  std::string node_id;
  // The deadline of one attempt.
  std::chrono::milliseconds attempt_timeout{2000};
  // Attempts in all, the first included.
  int max_attempts = 4;
  // The wait before the second attempt; doubled each time.
  std::chrono::milliseconds initial_backoff{50};
};

template <typename Reply>
struct CallResult {
  grpc::Status status;
  Reply reply;
  int attempts = 0;
  bool ok() const { return status.ok(); }
};

class PbxClient {
 public:
  PbxClient(std::shared_ptr<grpc::Channel> channel, PbxClientOptions options);

  CallResult<v1::AuthorizeResponse> Authorize(const v1::AuthorizeRequest& request);
  CallResult<v1::ReserveResponse> Reserve(v1::ReserveRequest request);
  CallResult<v1::ExtendResponse> Extend(v1::ExtendRequest request);
  CallResult<v1::SettleResponse> Settle(v1::SettleRequest request);
  CallResult<v1::ReleaseResponse> Release(v1::ReleaseRequest request);
  CallResult<v1::SyncReservationsResponse> SyncReservations(v1::SyncReservationsRequest request);

 private:
  template <typename Request, typename Reply, typename Method>
  CallResult<Reply> Call(const Request& request, Method method, bool retry_deadline);

  std::unique_ptr<v1::Calls::Stub> stub_;
  PbxClientOptions options_;
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_CLIENTS_PBX_CLIENT_H_
