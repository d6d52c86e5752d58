#include "server/services.h"

namespace callbackledger {

grpc::ServerUnaryReactor* EventsService::ReadEvents(grpc::CallbackServerContext* context,
                                                    const v1::ReadEventsRequest* request,
                                                    v1::ReadEventsResponse* response) {
  return Read(backend_, context, "Events.ReadEvents", response,
              [&](Ledger* ledger) { return ledger->ReadEvents(*request); });
}

grpc::ServerWriteReactor<v1::Event>* EventsService::WatchEvents(
    grpc::CallbackServerContext* context, const v1::WatchEventsRequest* request) {
  absl::StatusOr<Identity> identity = CheckAccess(backend_, context, "Events.WatchEvents");
  return hub_->Watch(*backend_.handle, context, request, ToGrpcStatus(identity.status()));
}

}  // namespace callbackledger
