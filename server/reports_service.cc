#include "server/services.h"

namespace callbackledger {

grpc::ServerUnaryReactor* ReportsService::GetCostReport(grpc::CallbackServerContext* context,
                                                        const v1::GetCostReportRequest* request,
                                                        v1::GetCostReportResponse* response) {
  return Read(backend_, context, "Reports.GetCostReport", response,
              [&](Ledger* ledger) { return ledger->GetCostReport(*request); });
}

}  // namespace callbackledger
