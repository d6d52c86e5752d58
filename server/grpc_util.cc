#include "server/grpc_util.h"

namespace callbackledger {
namespace {
constexpr size_t kMaxStatusMessage = 512;
}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string message(status.message());
  if (message.size() > kMaxStatusMessage) message.resize(kMaxStatusMessage);
  // absl::StatusCode and grpc::StatusCode share their numbers.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message);
}

grpc::Status NotReady() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "the ledger is starting: the store is not loaded yet");
}

absl::StatusOr<Identity> CheckAccess(const Backend& backend, grpc::CallbackServerContext* context,
                                     absl::string_view rpc) {
  return backend.access->Check(context, rpc);
}

}  // namespace callbackledger
