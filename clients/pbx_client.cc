#include "clients/pbx_client.h"

#include <atomic>
#include <random>
#include <thread>
#include <utility>

namespace callbackledger {
namespace {

// A request_id unique to this process and moment, for an Extend left without one.
std::string NewRequestId() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t process_tag = std::random_device{}();
  return "x" + std::to_string(process_tag) + "-" + std::to_string(++counter);
}

bool Retryable(const grpc::Status& status, bool retry_deadline) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         (retry_deadline && status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
}

}  // namespace

PbxClient::PbxClient(std::shared_ptr<grpc::Channel> channel, PbxClientOptions options)
    : stub_(v1::Calls::NewStub(std::move(channel))), options_(std::move(options)) {}

template <typename Request, typename Reply, typename Method>
CallResult<Reply> PbxClient::Call(const Request& request, Method method, bool retry_deadline) {
  CallResult<Reply> result;
  std::chrono::milliseconds backoff = options_.initial_backoff;
  for (int attempt = 1; attempt <= std::max(1, options_.max_attempts); ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + options_.attempt_timeout);
    result.reply.Clear();
    result.status = (stub_.get()->*method)(&context, request, &result.reply);
    result.attempts = attempt;
    if (!Retryable(result.status, retry_deadline) || attempt == options_.max_attempts) break;
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
  return result;
}

CallResult<v1::AuthorizeResponse> PbxClient::Authorize(const v1::AuthorizeRequest& request) {
  return Call<v1::AuthorizeRequest, v1::AuthorizeResponse>(request, &v1::Calls::Stub::Authorize,
                                                           /*retry_deadline=*/false);
}

CallResult<v1::ReserveResponse> PbxClient::Reserve(v1::ReserveRequest request) {
  if (request.node_id().empty()) request.set_node_id(options_.node_id);
  return Call<v1::ReserveRequest, v1::ReserveResponse>(request, &v1::Calls::Stub::Reserve, true);
}

CallResult<v1::ExtendResponse> PbxClient::Extend(v1::ExtendRequest request) {
  if (request.node_id().empty()) request.set_node_id(options_.node_id);
  if (request.request_id().empty()) request.set_request_id(NewRequestId());
  return Call<v1::ExtendRequest, v1::ExtendResponse>(request, &v1::Calls::Stub::Extend, true);
}

CallResult<v1::SettleResponse> PbxClient::Settle(v1::SettleRequest request) {
  if (request.node_id().empty()) request.set_node_id(options_.node_id);
  return Call<v1::SettleRequest, v1::SettleResponse>(request, &v1::Calls::Stub::Settle, true);
}

CallResult<v1::ReleaseResponse> PbxClient::Release(v1::ReleaseRequest request) {
  if (request.node_id().empty()) request.set_node_id(options_.node_id);
  return Call<v1::ReleaseRequest, v1::ReleaseResponse>(request, &v1::Calls::Stub::Release, true);
}

CallResult<v1::SyncReservationsResponse> PbxClient::SyncReservations(
    v1::SyncReservationsRequest request) {
  if (request.node_id().empty()) request.set_node_id(options_.node_id);
  return Call<v1::SyncReservationsRequest, v1::SyncReservationsResponse>(
      request, &v1::Calls::Stub::SyncReservations, true);
}

}  // namespace callbackledger
