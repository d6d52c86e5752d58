#include "server/origin.h"
#include "server/services.h"

namespace callbackledger {

grpc::ServerUnaryReactor* CallerIdsService::AddCallerId(grpc::CallbackServerContext* context,
                                                        const v1::AddCallerIdRequest* request,
                                                        v1::CallerId* response) {
  return Write(backend_, context, "CallerIds.AddCallerId", response,
               [&](Ledger* ledger, const Identity& identity, Done<v1::CallerId> done) {
                 ledger->AddCallerId(*request, OriginOf(context, identity.name), std::move(done));
               });
}

grpc::ServerUnaryReactor* CallerIdsService::UpdateCallerId(grpc::CallbackServerContext* context,
                                                           const v1::UpdateCallerIdRequest* request,
                                                           v1::CallerId* response) {
  return Write(backend_, context, "CallerIds.UpdateCallerId", response,
               [&](Ledger* ledger, const Identity& identity, Done<v1::CallerId> done) {
                 ledger->UpdateCallerId(*request, OriginOf(context, identity.name),
                                        std::move(done));
               });
}

grpc::ServerUnaryReactor* CallerIdsService::RemoveCallerIds(
    grpc::CallbackServerContext* context, const v1::RemoveCallerIdsRequest* request,
    v1::RemoveCallerIdsResponse* response) {
  return Write(
      backend_, context, "CallerIds.RemoveCallerIds", response,
      [&](Ledger* ledger, const Identity& identity, Done<v1::RemoveCallerIdsResponse> done) {
        ledger->RemoveCallerIds(*request, OriginOf(context, identity.name), std::move(done));
      });
}

grpc::ServerUnaryReactor* CallerIdsService::SetExtensionPolicy(
    grpc::CallbackServerContext* context, const v1::SetExtensionPolicyRequest* request,
    v1::ExtensionPolicy* response) {
  return Write(backend_, context, "CallerIds.SetExtensionPolicy", response,
               [&](Ledger* ledger, const Identity& identity, Done<v1::ExtensionPolicy> done) {
                 ledger->SetExtensionPolicy(*request, OriginOf(context, identity.name),
                                            std::move(done));
               });
}

grpc::ServerUnaryReactor* CallerIdsService::GetCallerId(grpc::CallbackServerContext* context,
                                                        const v1::GetCallerIdRequest* request,
                                                        v1::CallerId* response) {
  return Read(backend_, context, "CallerIds.GetCallerId", response,
              [&](Ledger* ledger) { return ledger->GetCallerId(*request); });
}

grpc::ServerUnaryReactor* CallerIdsService::ListCallerIds(grpc::CallbackServerContext* context,
                                                          const v1::ListCallerIdsRequest* request,
                                                          v1::ListCallerIdsResponse* response) {
  return Read(backend_, context, "CallerIds.ListCallerIds", response,
              [&](Ledger* ledger) { return ledger->ListCallerIds(*request); });
}

grpc::ServerUnaryReactor* CallerIdsService::GetLicenseUsage(
    grpc::CallbackServerContext* context, const v1::GetLicenseUsageRequest* request,
    v1::LicenseUsage* response) {
  return Read(backend_, context, "CallerIds.GetLicenseUsage", response,
              [&](Ledger* ledger) { return ledger->GetLicenseUsage(*request); });
}

}  // namespace callbackledger
