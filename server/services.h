// The gRPC services: thin adapters from requests to the Ledger and back. No business
// rules live here. One class per service of callbackledger.v1.
#ifndef CALLBACKLEDGER_SERVER_SERVICES_H_
#define CALLBACKLEDGER_SERVER_SERVICES_H_

#include "callbackledger/v1/caller_ids.grpc.pb.h"
#include "callbackledger/v1/calls.grpc.pb.h"
#include "callbackledger/v1/credit.grpc.pb.h"
#include "callbackledger/v1/events.grpc.pb.h"
#include "callbackledger/v1/reports.grpc.pb.h"
#include "server/arena_requests.h"
#include "server/grpc_util.h"
#include "server/watch_events.h"

namespace callbackledger {

class CallerIdsService final : public v1::CallerIds::CallbackService {
 public:
  explicit CallerIdsService(const Backend& backend) : backend_(backend) {}

  grpc::ServerUnaryReactor* AddCallerId(grpc::CallbackServerContext* context,
                                        const v1::AddCallerIdRequest* request,
                                        v1::CallerId* response) override;
  grpc::ServerUnaryReactor* UpdateCallerId(grpc::CallbackServerContext* context,
                                           const v1::UpdateCallerIdRequest* request,
                                           v1::CallerId* response) override;
  grpc::ServerUnaryReactor* RemoveCallerIds(grpc::CallbackServerContext* context,
                                            const v1::RemoveCallerIdsRequest* request,
                                            v1::RemoveCallerIdsResponse* response) override;
  grpc::ServerUnaryReactor* GetCallerId(grpc::CallbackServerContext* context,
                                        const v1::GetCallerIdRequest* request,
                                        v1::CallerId* response) override;
  grpc::ServerUnaryReactor* ListCallerIds(grpc::CallbackServerContext* context,
                                          const v1::ListCallerIdsRequest* request,
                                          v1::ListCallerIdsResponse* response) override;
  grpc::ServerUnaryReactor* SetExtensionPolicy(grpc::CallbackServerContext* context,
                                               const v1::SetExtensionPolicyRequest* request,
                                               v1::ExtensionPolicy* response) override;
  grpc::ServerUnaryReactor* GetLicenseUsage(grpc::CallbackServerContext* context,
                                            const v1::GetLicenseUsageRequest* request,
                                            v1::LicenseUsage* response) override;

 private:
  const Backend backend_;
};

class CreditService final : public v1::Credit::CallbackService {
 public:
  explicit CreditService(const Backend& backend) : backend_(backend) {}

  grpc::ServerUnaryReactor* AddCredit(grpc::CallbackServerContext* context,
                                      const v1::AddCreditRequest* request,
                                      v1::Recharge* response) override;
  grpc::ServerUnaryReactor* ListRecharges(grpc::CallbackServerContext* context,
                                          const v1::ListRechargesRequest* request,
                                          v1::ListRechargesResponse* response) override;

 private:
  const Backend backend_;
};

// Every write waits at most the client's deadline or, when the client gave none,
// `default_deadline` (absl::InfiniteDuration(): no limit). The requests of the methods a
// PBX calls for every call are parsed onto arenas (ArenaRequests).
class CallsService final : public v1::Calls::CallbackService {
 public:
  CallsService(const Backend& backend, absl::Duration default_deadline);

  grpc::ServerUnaryReactor* Authorize(grpc::CallbackServerContext* context,
                                      const v1::AuthorizeRequest* request,
                                      v1::AuthorizeResponse* response) override;
  grpc::ServerUnaryReactor* Reserve(grpc::CallbackServerContext* context,
                                    const v1::ReserveRequest* request,
                                    v1::ReserveResponse* response) override;
  grpc::ServerUnaryReactor* Extend(grpc::CallbackServerContext* context,
                                   const v1::ExtendRequest* request,
                                   v1::ExtendResponse* response) override;
  grpc::ServerUnaryReactor* Settle(grpc::CallbackServerContext* context,
                                   const v1::SettleRequest* request,
                                   v1::SettleResponse* response) override;
  grpc::ServerUnaryReactor* Release(grpc::CallbackServerContext* context,
                                    const v1::ReleaseRequest* request,
                                    v1::ReleaseResponse* response) override;
  grpc::ServerUnaryReactor* SyncReservations(grpc::CallbackServerContext* context,
                                             const v1::SyncReservationsRequest* request,
                                             v1::SyncReservationsResponse* response) override;

 private:
  const Backend backend_;
  const absl::Duration default_deadline_;
  ArenaRequests<v1::AuthorizeRequest, v1::AuthorizeResponse> authorize_requests_;
  ArenaRequests<v1::ReserveRequest, v1::ReserveResponse> reserve_requests_;
  ArenaRequests<v1::ExtendRequest, v1::ExtendResponse> extend_requests_;
  ArenaRequests<v1::SettleRequest, v1::SettleResponse> settle_requests_;
  ArenaRequests<v1::ReleaseRequest, v1::ReleaseResponse> release_requests_;
};

class ReportsService final : public v1::Reports::CallbackService {
 public:
  explicit ReportsService(const Backend& backend) : backend_(backend) {}

  grpc::ServerUnaryReactor* GetCostReport(grpc::CallbackServerContext* context,
                                          const v1::GetCostReportRequest* request,
                                          v1::GetCostReportResponse* response) override;

 private:
  const Backend backend_;
};

// ReadEvents pages through the log; WatchEvents follows it.
class EventsService final : public v1::Events::CallbackService {
 public:
  EventsService(const Backend& backend, WatchHub* hub) : backend_(backend), hub_(hub) {}

  grpc::ServerUnaryReactor* ReadEvents(grpc::CallbackServerContext* context,
                                       const v1::ReadEventsRequest* request,
                                       v1::ReadEventsResponse* response) override;
  grpc::ServerWriteReactor<v1::Event>* WatchEvents(grpc::CallbackServerContext* context,
                                                   const v1::WatchEventsRequest* request) override;

 private:
  const Backend backend_;
  WatchHub* const hub_;
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_SERVICES_H_
