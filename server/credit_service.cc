#include "server/origin.h"
#include "server/services.h"

namespace callbackledger {

grpc::ServerUnaryReactor* CreditService::AddCredit(grpc::CallbackServerContext* context,
                                                   const v1::AddCreditRequest* request,
                                                   v1::Recharge* response) {
  return Write(backend_, context, "Credit.AddCredit", response,
               [&](Ledger* ledger, const Identity& identity, Done<v1::Recharge> done) {
                 ledger->AddCredit(*request, OriginOf(context, identity.name), std::move(done));
               });
}

grpc::ServerUnaryReactor* CreditService::ListRecharges(grpc::CallbackServerContext* context,
                                                       const v1::ListRechargesRequest* request,
                                                       v1::ListRechargesResponse* response) {
  return Read(backend_, context, "Credit.ListRecharges", response,
              [&](Ledger* ledger) { return ledger->ListRecharges(*request); });
}

}  // namespace callbackledger
