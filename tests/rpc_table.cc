#include "tests/rpc_table.h"

#include "callbackledger/v1/caller_ids.grpc.pb.h"
#include "callbackledger/v1/calls.grpc.pb.h"
#include "callbackledger/v1/credit.grpc.pb.h"
#include "callbackledger/v1/events.grpc.pb.h"
#include "callbackledger/v1/reports.grpc.pb.h"

namespace callbackledger {
namespace e2e {
namespace {

using Channel = std::shared_ptr<grpc::Channel>;

// Calls `method` of a new `Service` stub with `request`; the reply is dropped.
template <typename Service, typename Stub, typename Request, typename Reply>
grpc::Status Call(const Channel& channel, grpc::ClientContext* context,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Reply*),
                  const Request& request) {
  auto stub = Service::NewStub(channel);
  Reply reply;
  return ((*stub).*method)(context, request, &reply);
}

const std::vector<std::string> kOperator = {"operator"};
const std::vector<std::string> kReadOnly = {"operator", "auditor"};
const std::vector<std::string> kPbx = {"pbx"};
const std::vector<std::string> kAuditor = {"auditor"};

std::vector<RpcRow> CallerIdRows() {
  using S = v1::CallerIds;
  return {
      {"CallerIds.AddCallerId", kOperator,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::AddCallerIdRequest r;
         r.set_extension(t.extension);
         r.set_callback_number("+15557770001");
         r.set_initial_credit("1");
         return Call<S>(c, x, &S::Stub::AddCallerId, r);
       }},
      {"CallerIds.UpdateCallerId", kOperator,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::UpdateCallerIdRequest r;
         r.set_id(t.callerid_id);
         r.set_order_no("changed");
         return Call<S>(c, x, &S::Stub::UpdateCallerId, r);
       }},
      {"CallerIds.RemoveCallerIds", kOperator,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::RemoveCallerIdsRequest r;
         r.add_ids(t.callerid_id);
         return Call<S>(c, x, &S::Stub::RemoveCallerIds, r);
       }},
      {"CallerIds.GetCallerId", kReadOnly,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::GetCallerIdRequest r;
         r.set_id(t.callerid_id);
         return Call<S>(c, x, &S::Stub::GetCallerId, r);
       }},
      {"CallerIds.ListCallerIds", kReadOnly,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::ListCallerIdsRequest r;
         r.set_extension(t.extension);
         return Call<S>(c, x, &S::Stub::ListCallerIds, r);
       }},
      {"CallerIds.SetExtensionPolicy", kOperator,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::SetExtensionPolicyRequest r;
         r.set_extension(t.extension);
         r.set_max_active_callerids(50);
         return Call<S>(c, x, &S::Stub::SetExtensionPolicy, r);
       }},
      {"CallerIds.GetLicenseUsage", kReadOnly,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         return Call<S>(c, x, &S::Stub::GetLicenseUsage, v1::GetLicenseUsageRequest());
       }},
  };
}

std::vector<RpcRow> CreditAndReportRows() {
  using C = v1::Credit;
  using R = v1::Reports;
  using E = v1::Events;
  return {
      {"Credit.AddCredit", kOperator,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::AddCreditRequest r;
         r.set_callerid_id(t.callerid_id);
         r.set_amount("5");
         return Call<C>(c, x, &C::Stub::AddCredit, r);
       }},
      {"Credit.ListRecharges", kReadOnly,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::ListRechargesRequest r;
         r.set_callerid_id(t.callerid_id);
         return Call<C>(c, x, &C::Stub::ListRecharges, r);
       }},
      {"Reports.GetCostReport", kReadOnly,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::GetCostReportRequest r;
         r.set_extension(t.extension);
         return Call<R>(c, x, &R::Stub::GetCostReport, r);
       }},
      {"Events.ReadEvents", kAuditor,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::ReadEventsRequest r;
         r.set_from_sequence(1);
         return Call<E>(c, x, &E::Stub::ReadEvents, r);
       }},
      {"Events.WatchEvents", kAuditor,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::WatchEventsRequest r;
         r.set_from_sequence(1);
         auto reader = E::NewStub(c)->WatchEvents(x, r);
         v1::Event event;
         // An allowed stream sends the first event; cancel it then.
         if (reader->Read(&event)) x->TryCancel();
         return reader->Finish();
       }},
  };
}

std::vector<RpcRow> CallRows() {
  using S = v1::Calls;
  return {
      {"Calls.Authorize", kPbx,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::AuthorizeRequest r;
         r.set_extension(t.extension);
         r.set_callback_number(t.callback_number);
         r.set_pin("0000");  // a wrong PIN, which would be written down
         return Call<S>(c, x, &S::Stub::Authorize, r);
       }},
      {"Calls.Reserve", kPbx,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::ReserveRequest r;
         r.set_reservation_id("matrix-1");
         r.set_extension(t.extension);
         r.set_callback_number(t.callback_number);
         r.set_amount("1");
         return Call<S>(c, x, &S::Stub::Reserve, r);
       }},
      {"Calls.Extend", kPbx,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::ExtendRequest r;
         r.set_reservation_id("matrix-open");
         r.set_amount("1");
         return Call<S>(c, x, &S::Stub::Extend, r);
       }},
      {"Calls.Settle", kPbx,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::SettleRequest r;
         r.set_reservation_id("matrix-open");
         r.set_cost("0.5");
         return Call<S>(c, x, &S::Stub::Settle, r);
       }},
      {"Calls.Release", kPbx,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::ReleaseRequest r;
         r.set_reservation_id("matrix-open");
         return Call<S>(c, x, &S::Stub::Release, r);
       }},
      {"Calls.SyncReservations", kPbx,
       [](const Channel& c, grpc::ClientContext* x, const RpcTarget& t) {
         v1::SyncReservationsRequest r;
         r.set_node_id("pbx-node-a");  // its open reservations would be released
         return Call<S>(c, x, &S::Stub::SyncReservations, r);
       }},
  };
}

}  // namespace

const std::vector<RpcRow>& AllRpcs() {
  static const std::vector<RpcRow>* const rows = [] {
    auto* all = new std::vector<RpcRow>(CallerIdRows());
    for (RpcRow& row : CreditAndReportRows()) all->push_back(std::move(row));
    for (RpcRow& row : CallRows()) all->push_back(std::move(row));
    return all;
  }();
  return *rows;
}

}  // namespace e2e
}  // namespace callbackledger
