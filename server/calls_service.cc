#include "server/origin.h"
#include "server/services.h"

namespace callbackledger {

grpc::ServerUnaryReactor* CallsService::Authorize(grpc::CallbackServerContext* context,
                                                  const v1::AuthorizeRequest* request,
                                                  v1::AuthorizeResponse* response) {
  return Write(handle_, context, response, [&](Ledger* ledger, Done<v1::AuthorizeResponse> done) {
    ledger->Authorize(*request, OriginOf(context, default_deadline_), std::move(done));
  });
}

grpc::ServerUnaryReactor* CallsService::Reserve(grpc::CallbackServerContext* context,
                                                const v1::ReserveRequest* request,
                                                v1::ReserveResponse* response) {
  return Write(handle_, context, response, [&](Ledger* ledger, Done<v1::ReserveResponse> done) {
    ledger->Reserve(*request, OriginOf(context, default_deadline_), std::move(done));
  });
}

grpc::ServerUnaryReactor* CallsService::Extend(grpc::CallbackServerContext* context,
                                               const v1::ExtendRequest* request,
                                               v1::ExtendResponse* response) {
  return Write(handle_, context, response, [&](Ledger* ledger, Done<v1::ExtendResponse> done) {
    ledger->Extend(*request, OriginOf(context, default_deadline_), std::move(done));
  });
}

grpc::ServerUnaryReactor* CallsService::Settle(grpc::CallbackServerContext* context,
                                               const v1::SettleRequest* request,
                                               v1::SettleResponse* response) {
  return Write(handle_, context, response, [&](Ledger* ledger, Done<v1::SettleResponse> done) {
    ledger->Settle(*request, OriginOf(context, default_deadline_), std::move(done));
  });
}

grpc::ServerUnaryReactor* CallsService::Release(grpc::CallbackServerContext* context,
                                                const v1::ReleaseRequest* request,
                                                v1::ReleaseResponse* response) {
  return Write(handle_, context, response, [&](Ledger* ledger, Done<v1::ReleaseResponse> done) {
    ledger->Release(*request, OriginOf(context, default_deadline_), std::move(done));
  });
}

grpc::ServerUnaryReactor* CallsService::SyncReservations(grpc::CallbackServerContext* context,
                                                         const v1::SyncReservationsRequest* request,
                                                         v1::SyncReservationsResponse* response) {
  return Write(
      handle_, context, response, [&](Ledger* ledger, Done<v1::SyncReservationsResponse> done) {
        ledger->SyncReservations(*request, OriginOf(context, default_deadline_), std::move(done));
      });
}

}  // namespace callbackledger
