#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/origin.h"
#include "server/services.h"

namespace callbackledger {
namespace {

// A PBX node acts for itself only: an empty node_id becomes the caller's identity, another
// node's is refused. Other roles (admin) may act for any node.
absl::Status BindNode(const Identity& identity, std::string* node_id) {
  if (identity.role != Role::kPbx) return absl::OkStatus();
  if (node_id->empty()) *node_id = identity.name;
  if (*node_id == identity.name) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "node_id ", *node_id, " is not yours: ", identity.name, " acts for itself only"));
}

// Runs a Calls write whose request names a node_id, bound to the caller by BindNode.
template <typename Request, typename Reply, typename Method>
grpc::ServerUnaryReactor* NodeWrite(const Backend& backend, grpc::CallbackServerContext* context,
                                    absl::string_view rpc, const Request* request, Reply* response,
                                    absl::Duration default_deadline, Method method) {
  return Write(backend, context, rpc, response,
               [&](Ledger* ledger, const Identity& identity, Done<Reply> done) {
                 std::string node_id = request->node_id();
                 if (absl::Status owned = BindNode(identity, &node_id); !owned.ok()) {
                   done(owned);
                   return;
                 }
                 const Origin origin = OriginOf(context, identity.name, default_deadline);
                 if (node_id == request->node_id()) {
                   (ledger->*method)(*request, origin, std::move(done));
                   return;
                 }
                 Request bound = *request;  // a PBX node's own name as its node_id
                 bound.set_node_id(std::move(node_id));
                 (ledger->*method)(bound, origin, std::move(done));
               });
}

}  // namespace

CallsService::CallsService(const Backend& backend, absl::Duration default_deadline)
    : backend_(backend), default_deadline_(default_deadline) {
  SetMessageAllocatorFor_Authorize(&authorize_requests_);
  SetMessageAllocatorFor_Reserve(&reserve_requests_);
  SetMessageAllocatorFor_Extend(&extend_requests_);
  SetMessageAllocatorFor_Settle(&settle_requests_);
  SetMessageAllocatorFor_Release(&release_requests_);
}

grpc::ServerUnaryReactor* CallsService::Authorize(grpc::CallbackServerContext* context,
                                                  const v1::AuthorizeRequest* request,
                                                  v1::AuthorizeResponse* response) {
  return Write(backend_, context, "Calls.Authorize", response,
               [&](Ledger* ledger, const Identity& identity, Done<v1::AuthorizeResponse> done) {
                 if (request->pin().empty()) {
                   ledger->Authorize(*request, OriginOf(context, identity.name, default_deadline_),
                                     std::move(done));
                   return;
                 }
                 Access* access = backend_.access;
                 if (absl::Status allowed = access->AllowPinAttempt(identity, absl::Now());
                     !allowed.ok()) {
                   done(allowed);
                   return;
                 }
                 // Only failed PINs count against the identity's rate.
                 ledger->Authorize(*request, OriginOf(context, identity.name, default_deadline_),
                                   [access, identity, done = std::move(done)](
                                       absl::StatusOr<v1::AuthorizeResponse> result) mutable {
                                     if (!result.ok() || (result->decision() != v1::WRONG_PIN &&
                                                          result->decision() != v1::PIN_LOCKED)) {
                                       access->PinWasRight(identity);
                                     }
                                     done(std::move(result));
                                   });
               });
}

grpc::ServerUnaryReactor* CallsService::Reserve(grpc::CallbackServerContext* context,
                                                const v1::ReserveRequest* request,
                                                v1::ReserveResponse* response) {
  return NodeWrite(backend_, context, "Calls.Reserve", request, response, default_deadline_,
                   &Ledger::Reserve);
}

grpc::ServerUnaryReactor* CallsService::Extend(grpc::CallbackServerContext* context,
                                               const v1::ExtendRequest* request,
                                               v1::ExtendResponse* response) {
  return NodeWrite(backend_, context, "Calls.Extend", request, response, default_deadline_,
                   &Ledger::Extend);
}

grpc::ServerUnaryReactor* CallsService::Settle(grpc::CallbackServerContext* context,
                                               const v1::SettleRequest* request,
                                               v1::SettleResponse* response) {
  return NodeWrite(backend_, context, "Calls.Settle", request, response, default_deadline_,
                   &Ledger::Settle);
}

grpc::ServerUnaryReactor* CallsService::Release(grpc::CallbackServerContext* context,
                                                const v1::ReleaseRequest* request,
                                                v1::ReleaseResponse* response) {
  return NodeWrite(backend_, context, "Calls.Release", request, response, default_deadline_,
                   &Ledger::Release);
}

grpc::ServerUnaryReactor* CallsService::SyncReservations(grpc::CallbackServerContext* context,
                                                         const v1::SyncReservationsRequest* request,
                                                         v1::SyncReservationsResponse* response) {
  return NodeWrite(backend_, context, "Calls.SyncReservations", request, response,
                   default_deadline_, &Ledger::SyncReservations);
}

}  // namespace callbackledger
