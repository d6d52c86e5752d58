#include "server/services.h"

namespace callbackledger {

grpc::ServerUnaryReactor* EventsService::ReadEvents(grpc::CallbackServerContext* context,
                                                    const v1::ReadEventsRequest* request,
                                                    v1::ReadEventsResponse* response) {
  return Read(handle_, context, response,
              [&](Ledger* ledger) { return ledger->ReadEvents(*request); });
}

grpc::ServerWriteReactor<v1::Event>* EventsService::WatchEvents(
    grpc::CallbackServerContext* context, const v1::WatchEventsRequest* request) {
  return hub_->Watch(handle_, context, request);
}

}  // namespace callbackledger
