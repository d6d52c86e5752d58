// End-to-end tests: the real ledgerd binary on a loopback port and a temporary data
// directory, driven over gRPC with the generated stubs, and ledgerctl on the data it
// leaves behind. Every RPC carries a deadline; every wait is bounded.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/store/v1/store.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ledger/store.h"
#include "projections/rows.h"
#include "tests/server_harness.h"

namespace callbackledger {
namespace {

using e2e::LedgerServer;
using e2e::ProcessResult;
using e2e::RunLedgerctl;
using grpc::StatusCode;
using HealthStatus = grpc::health::v1::HealthCheckResponse;

constexpr std::chrono::seconds kRpcTimeout(5);
constexpr uint64_t kNoSequence = ~uint64_t{0};

// ---------------------------------------------------------------------------------------
// gRPC helpers.

std::chrono::system_clock::time_point RpcDeadline() {
  return std::chrono::system_clock::now() + kRpcTimeout;
}

// Calls a unary RPC of a generated stub with a deadline.
template <typename Stub, typename Request, typename Response>
grpc::Status Call(Stub* stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                  const Request& request, Response* response) {
  grpc::ClientContext context;
  context.set_deadline(RpcDeadline());
  return (stub->*method)(&context, request, response);
}

const char* CodeName(StatusCode code) {
  switch (code) {
    case StatusCode::OK:
      return "OK";
    case StatusCode::CANCELLED:
      return "CANCELLED";
    case StatusCode::UNKNOWN:
      return "UNKNOWN";
    case StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case StatusCode::ABORTED:
      return "ABORTED";
    case StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case StatusCode::INTERNAL:
      return "INTERNAL";
    case StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "(unknown code)";
  }
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(CodeName(status.error_code()), ": ", status.error_message());
}

::testing::AssertionResult IsOk(const grpc::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "RPC failed with " << Describe(status);
}

::testing::AssertionResult HasCode(const grpc::Status& status, StatusCode code) {
  if (status.error_code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected " << CodeName(code) << ", got " << (status.ok() ? "OK" : Describe(status));
}

::testing::AssertionResult IsOk(const absl::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.ToString();
}

// The stubs of one server start.
class Client {
 public:
  explicit Client(const LedgerServer& server)
      : caller_ids_(server.caller_ids()), credit_(server.credit()), events_(server.events()) {}

  grpc::Status Add(const v1::AddCallerIdRequest& request, v1::CallerId* reply) {
    return Call(caller_ids_.get(), &v1::CallerIds::Stub::AddCallerId, request, reply);
  }
  grpc::Status Update(const v1::UpdateCallerIdRequest& request, v1::CallerId* reply) {
    return Call(caller_ids_.get(), &v1::CallerIds::Stub::UpdateCallerId, request, reply);
  }
  grpc::Status Remove(const v1::RemoveCallerIdsRequest& request,
                      v1::RemoveCallerIdsResponse* reply) {
    return Call(caller_ids_.get(), &v1::CallerIds::Stub::RemoveCallerIds, request, reply);
  }
  grpc::Status Get(uint64_t id, v1::CallerId* reply) {
    v1::GetCallerIdRequest request;
    request.set_callerid_id(id);
    return Call(caller_ids_.get(), &v1::CallerIds::Stub::GetCallerId, request, reply);
  }
  grpc::Status List(const v1::ListCallerIdsRequest& request, v1::ListCallerIdsResponse* reply) {
    return Call(caller_ids_.get(), &v1::CallerIds::Stub::ListCallerIds, request, reply);
  }
  grpc::Status SetPolicy(const v1::SetExtensionPolicyRequest& request, v1::ExtensionPolicy* reply) {
    return Call(caller_ids_.get(), &v1::CallerIds::Stub::SetExtensionPolicy, request, reply);
  }
  grpc::Status Usage(const std::string& extension, v1::LicenseUsage* reply) {
    v1::GetLicenseUsageRequest request;
    request.set_extension(extension);
    return Call(caller_ids_.get(), &v1::CallerIds::Stub::GetLicenseUsage, request, reply);
  }
  grpc::Status AddCredit(const v1::AddCreditRequest& request, v1::Recharge* reply) {
    return Call(credit_.get(), &v1::Credit::Stub::AddCredit, request, reply);
  }
  grpc::Status Recharges(uint64_t id, v1::ListRechargesResponse* reply) {
    v1::ListRechargesRequest request;
    request.set_callerid_id(id);
    request.set_page_size(1000);
    return Call(credit_.get(), &v1::Credit::Stub::ListRecharges, request, reply);
  }
  grpc::Status ReadEvents(uint64_t from, v1::ReadEventsResponse* reply) {
    v1::ReadEventsRequest request;
    request.set_from_sequence(from);
    request.set_page_size(1000);
    return Call(events_.get(), &v1::Events::Stub::ReadEvents, request, reply);
  }

  // ReadEvents' last_sequence, or kNoSequence (and a test failure) when the call fails.
  uint64_t LastSequence() {
    v1::ReadEventsResponse reply;
    grpc::Status status = ReadEvents(1, &reply);
    EXPECT_TRUE(IsOk(status)) << "ReadEvents";
    return status.ok() ? reply.last_sequence() : kNoSequence;
  }

 private:
  std::unique_ptr<v1::CallerIds::Stub> caller_ids_;
  std::unique_ptr<v1::Credit::Stub> credit_;
  std::unique_ptr<v1::Events::Stub> events_;
};

// ---------------------------------------------------------------------------------------
// Requests.

v1::AddCallerIdRequest NewCallerId(const std::string& extension, const std::string& number,
                                   const std::string& initial_credit = "") {
  v1::AddCallerIdRequest request;
  request.set_extension(extension);
  request.set_callback_number(number);
  request.set_initial_credit(initial_credit);
  return request;
}

v1::AddCallerIdRequest Disabled(v1::AddCallerIdRequest request) {
  request.set_status(v1::CallerId::DISABLED);
  return request;
}

v1::AddCreditRequest NewCredit(uint64_t id, const std::string& amount,
                               const std::string& request_id = "") {
  v1::AddCreditRequest request;
  request.set_callerid_id(id);
  request.set_amount(amount);
  request.set_request_id(request_id);
  return request;
}

v1::UpdateCallerIdRequest NewUpdate(uint64_t id) {
  v1::UpdateCallerIdRequest request;
  request.set_callerid_id(id);
  return request;
}

// ---------------------------------------------------------------------------------------
// Snapshots of every read answer, to compare a server with itself across restarts.

std::string Serialize(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

struct Answer {
  std::string bytes;  // the deterministic serialization, or the error
  std::string text;   // for failure messages
};
using Snapshot = std::map<std::string, Answer>;

void Record(Snapshot* snapshot, const std::string& name, const grpc::Status& status,
            const google::protobuf::Message& reply) {
  if (!status.ok()) {
    (*snapshot)[name] = {"error " + Describe(status), "error " + Describe(status)};
    return;
  }
  (*snapshot)[name] = {Serialize(reply), reply.DebugString()};
}

// What the ledger's data consists of, for snapshots.
struct Workload {
  std::vector<uint64_t> ids;
  std::vector<std::string> extensions;
};

// Every read answer about the workload's CallerIDs and extensions: GetCallerId,
// ListCallerIds (per extension, all, and searches), ListRecharges, GetLicenseUsage and the
// whole event log from ReadEvents.
Snapshot TakeSnapshot(Client* client, const Workload& workload) {
  Snapshot snapshot;
  for (uint64_t id : workload.ids) {
    v1::CallerId callerid;
    Record(&snapshot, absl::StrCat("GetCallerId/", id), client->Get(id, &callerid), callerid);
    v1::ListRechargesResponse recharges;
    Record(&snapshot, absl::StrCat("ListRecharges/", id), client->Recharges(id, &recharges),
           recharges);
  }
  std::vector<std::string> extensions = workload.extensions;
  extensions.push_back("");  // every extension
  for (const std::string& extension : extensions) {
    for (v1::CallerId::Status status :
         {v1::CallerId::STATUS_UNSPECIFIED, v1::CallerId::ENABLED, v1::CallerId::DISABLED}) {
      v1::ListCallerIdsRequest request;
      request.set_extension(extension);
      request.set_status(status);
      v1::ListCallerIdsResponse list;
      Record(&snapshot,
             absl::StrCat("ListCallerIds/", extension, "/", v1::CallerId::Status_Name(status)),
             client->List(request, &list), list);
    }
    v1::ListCallerIdsRequest search;
    search.set_extension(extension);
    search.set_callback_number("555");
    search.set_page_size(2);
    v1::ListCallerIdsResponse found;
    Record(&snapshot, absl::StrCat("ListCallerIds/", extension, "/search"),
           client->List(search, &found), found);
    v1::LicenseUsage usage;
    Record(&snapshot, absl::StrCat("GetLicenseUsage/", extension), client->Usage(extension, &usage),
           usage);
  }
  v1::ReadEventsResponse events;
  Record(&snapshot, "ReadEvents", client->ReadEvents(1, &events), events);
  return snapshot;
}

::testing::AssertionResult SameAnswers(const Snapshot& before, const Snapshot& after) {
  ::testing::AssertionResult result = ::testing::AssertionSuccess();
  bool same = true;
  for (const auto& [name, answer] : before) {
    auto found = after.find(name);
    if (found == after.end()) {
      same = false;
      result << "\n" << name << ": missing";
    } else if (found->second.bytes != answer.bytes) {
      same = false;
      result << "\n"
             << name << " differs.\n--- before ---\n"
             << answer.text << "--- after ---\n"
             << found->second.text;
    }
  }
  if (before.size() != after.size()) {
    same = false;
    result << "\nanswer counts differ: " << before.size() << " vs " << after.size();
  }
  if (same) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << result.message();
}

// ---------------------------------------------------------------------------------------
// A workload: CallerIDs with and without PIN, unlimited, disabled; positive and negative
// recharges; an extension policy; edits. Checks the answers as it goes.

constexpr char kExt1[] = "0003*005";
constexpr char kExt2[] = "0003*006";

void RunWorkload(Client* client, Workload* workload) {
  workload->extensions = {kExt1, kExt2};

  // A: PIN, limited credit.
  v1::AddCallerIdRequest add_a = NewCallerId(kExt1, "+15551230001", "10.50");
  add_a.set_pin("1234");
  add_a.set_order_no("ORD-1");
  v1::CallerId a;
  ASSERT_TRUE(IsOk(client->Add(add_a, &a))) << "add A";
  EXPECT_NE(a.id(), 0u);
  EXPECT_TRUE(a.pin_set());
  EXPECT_EQ(a.status(), v1::CallerId::ENABLED);
  EXPECT_EQ(a.total_credit(), "10.50");
  EXPECT_EQ(a.available_credit(), "10.50");
  EXPECT_FALSE(a.unlimited());
  EXPECT_EQ(a.order_no(), "ORD-1");

  // B: unlimited, no PIN.
  v1::AddCallerIdRequest add_b = NewCallerId(kExt1, "5551230002");
  add_b.set_unlimited(true);
  add_b.set_order_no("ORD-2");
  v1::CallerId b;
  ASSERT_TRUE(IsOk(client->Add(add_b, &b))) << "add B";
  EXPECT_TRUE(b.unlimited());
  EXPECT_FALSE(b.pin_set());
  EXPECT_EQ(b.total_credit(), "");

  // C: disabled.
  v1::CallerId c;
  ASSERT_TRUE(IsOk(client->Add(Disabled(NewCallerId(kExt1, "5551230003", "5")), &c))) << "add C";
  EXPECT_EQ(c.status(), v1::CallerId::DISABLED);

  // D: another extension, a long PIN, a sub-cent credit, a request_id.
  v1::AddCallerIdRequest add_d = NewCallerId(kExt2, "5551230004", "0.0125");
  add_d.set_pin("987654");
  add_d.set_request_id("add-d");
  v1::CallerId d;
  ASSERT_TRUE(IsOk(client->Add(add_d, &d))) << "add D";
  EXPECT_EQ(d.total_credit(), "0.0125");

  // E: unlimited and disabled.
  v1::AddCallerIdRequest add_e = Disabled(NewCallerId(kExt2, "+4930123456"));
  add_e.set_unlimited(true);
  v1::CallerId e;
  ASSERT_TRUE(IsOk(client->Add(add_e, &e))) << "add E";

  workload->ids = {a.id(), b.id(), c.id(), d.id(), e.id()};

  v1::Recharge recharge;
  v1::AddCreditRequest top_up = NewCredit(a.id(), "2.25");
  top_up.set_order_no("R-1");
  top_up.set_description("top up");
  ASSERT_TRUE(IsOk(client->AddCredit(top_up, &recharge))) << "A +2.25";
  EXPECT_EQ(recharge.credit_left(), "12.75");
  ASSERT_TRUE(IsOk(client->AddCredit(NewCredit(a.id(), "-0.75"), &recharge))) << "A -0.75";
  EXPECT_EQ(recharge.amount(), "-0.75");
  EXPECT_EQ(recharge.credit_left(), "12.00");

  ASSERT_TRUE(IsOk(client->AddCredit(NewCredit(b.id(), "5"), &recharge))) << "B +5";
  EXPECT_TRUE(recharge.unlimited());
  ASSERT_TRUE(IsOk(client->AddCredit(NewCredit(b.id(), "-10"), &recharge))) << "B -10";
  EXPECT_FALSE(recharge.unlimited());
  EXPECT_EQ(recharge.amount(), "-10.00");
  EXPECT_EQ(recharge.credit_left(), "0.00");
  ASSERT_TRUE(IsOk(client->AddCredit(NewCredit(b.id(), "3"), &recharge))) << "B +3";
  EXPECT_EQ(recharge.credit_left(), "3.00");

  ASSERT_TRUE(IsOk(client->AddCredit(NewCredit(c.id(), "2.5"), &recharge))) << "C +2.5";
  ASSERT_TRUE(IsOk(client->AddCredit(NewCredit(d.id(), "1", "credit-d-1"), &recharge))) << "D +1";
  EXPECT_EQ(recharge.credit_left(), "1.0125");
  ASSERT_TRUE(IsOk(client->AddCredit(NewCredit(e.id(), "100"), &recharge))) << "E +100";

  v1::SetExtensionPolicyRequest policy;
  policy.set_extension(kExt1);
  policy.set_max_active_callerids(4);
  policy.set_min_credit_to_call("0.10");
  v1::ExtensionPolicy policy_reply;
  ASSERT_TRUE(IsOk(client->SetPolicy(policy, &policy_reply))) << "policy";
  EXPECT_EQ(policy_reply.max_active_callerids(), 4u);
  EXPECT_EQ(policy_reply.active_callerids(), 2u);
  EXPECT_EQ(policy_reply.total_callerids(), 3u);

  v1::CallerId updated;
  v1::UpdateCallerIdRequest new_order = NewUpdate(c.id());
  new_order.set_order_no("ORD-3b");
  ASSERT_TRUE(IsOk(client->Update(new_order, &updated))) << "C order_no";
  v1::UpdateCallerIdRequest new_pin = NewUpdate(a.id());
  new_pin.set_pin("4321");
  ASSERT_TRUE(IsOk(client->Update(new_pin, &updated))) << "A pin";
  v1::UpdateCallerIdRequest no_pin = NewUpdate(d.id());
  no_pin.set_pin("");
  ASSERT_TRUE(IsOk(client->Update(no_pin, &updated))) << "D pin removed";
  EXPECT_FALSE(updated.pin_set());

  // The state the ledger should now hold.
  v1::CallerId got;
  ASSERT_TRUE(IsOk(client->Get(a.id(), &got)));
  EXPECT_EQ(got.total_credit(), "12.00");
  EXPECT_EQ(got.available_credit(), "12.00");
  EXPECT_TRUE(got.pin_set());
  ASSERT_TRUE(IsOk(client->Get(b.id(), &got)));
  EXPECT_FALSE(got.unlimited());
  EXPECT_EQ(got.available_credit(), "3.00");
  ASSERT_TRUE(IsOk(client->Get(e.id(), &got)));
  EXPECT_TRUE(got.unlimited());
  EXPECT_EQ(got.status(), v1::CallerId::DISABLED);

  v1::ListRechargesResponse history;
  ASSERT_TRUE(IsOk(client->Recharges(a.id(), &history)));
  ASSERT_EQ(history.recharges_size(), 3);
  EXPECT_EQ(history.recharges(0).amount(), "-0.75");  // newest first
  EXPECT_EQ(history.recharges(1).amount(), "2.25");
  EXPECT_EQ(history.recharges(1).description(), "top up");
  EXPECT_EQ(history.recharges(2).amount(), "10.50");

  v1::LicenseUsage usage;
  ASSERT_TRUE(IsOk(client->Usage("", &usage)));
  EXPECT_EQ(usage.active_callerids(), 3u);  // A, B, D
  EXPECT_EQ(usage.total_callerids(), 5u);

  // F: added and removed; its number is then free again for G.
  v1::CallerId f;
  ASSERT_TRUE(IsOk(client->Add(NewCallerId(kExt2, "5551230006", "1"), &f))) << "add F";
  v1::RemoveCallerIdsRequest remove;
  remove.add_callerid_ids(f.id());
  v1::RemoveCallerIdsResponse removed;
  ASSERT_TRUE(IsOk(client->Remove(remove, &removed))) << "remove F";
  ASSERT_EQ(removed.removed_ids_size(), 1);
  EXPECT_EQ(removed.removed_ids(0), f.id());
  EXPECT_TRUE(HasCode(client->Get(f.id(), &got), StatusCode::NOT_FOUND));
  v1::CallerId g;
  ASSERT_TRUE(IsOk(client->Add(NewCallerId(kExt2, "5551230006", "2"), &g))) << "add G";
  EXPECT_NE(g.id(), f.id());

  // C: enabled.
  v1::UpdateCallerIdRequest enable = NewUpdate(c.id());
  enable.set_status(v1::CallerId::ENABLED);
  ASSERT_TRUE(IsOk(client->Update(enable, &updated))) << "enable C";
  EXPECT_EQ(updated.status(), v1::CallerId::ENABLED);

  ASSERT_TRUE(IsOk(client->Usage("", &usage)));
  EXPECT_EQ(usage.active_callerids(), 5u);  // A, B, C, D, G
  EXPECT_EQ(usage.total_callerids(), 6u);
  workload->ids = {a.id(), b.id(), c.id(), d.id(), e.id(), f.id(), g.id()};
}

// The number of events RunWorkload writes: 7 additions, 8 recharges, 1 policy, 4 edits
// and 1 removal.
constexpr uint64_t kWorkloadEvents = 21;

// ---------------------------------------------------------------------------------------
// ledgerctl verify.

ProcessResult Verify(const LedgerServer& server) {
  return RunLedgerctl({"verify", "--data_dir", server.data_dir()});
}

// ---------------------------------------------------------------------------------------
// a. Persistence across restarts.

TEST(PersistenceTest, EverythingSurvivesSigtermAndRestart) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start()));
  Workload workload;
  Snapshot before;
  uint64_t last_sequence = 0;
  {
    Client client(server);
    ASSERT_NO_FATAL_FAILURE(RunWorkload(&client, &workload));
    before = TakeSnapshot(&client, workload);
    last_sequence = client.LastSequence();
    EXPECT_EQ(last_sequence, kWorkloadEvents);

    // The Events service sends no PIN material and no request fingerprints.
    v1::ReadEventsResponse events;
    ASSERT_TRUE(IsOk(client.ReadEvents(1, &events)));
    EXPECT_EQ(events.events_size(), static_cast<int>(kWorkloadEvents));
    for (const v1::Event& event : events.events()) {
      EXPECT_TRUE(event.request_fingerprint().empty()) << event.DebugString();
      const v1::PinCredential& added = event.caller_id_added().pin();
      const v1::PinCredential& updated = event.caller_id_updated().pin();
      EXPECT_TRUE(added.salt().empty() && added.hash().empty()) << event.DebugString();
      EXPECT_TRUE(updated.salt().empty() && updated.hash().empty()) << event.DebugString();
    }
  }

  EXPECT_EQ(server.Stop(), 0) << server.Log();
  EXPECT_TRUE(absl::StrContains(server.Log(), "stopped cleanly")) << server.Log();
  ASSERT_TRUE(IsOk(server.Start()));
  {
    Client client(server);
    EXPECT_TRUE(SameAnswers(before, TakeSnapshot(&client, workload)));
    EXPECT_EQ(client.LastSequence(), last_sequence);

    // Ids stay unique after a restart: the next CallerID gets a new one.
    v1::CallerId next;
    ASSERT_TRUE(IsOk(client.Add(NewCallerId(kExt2, "5551230009", "1"), &next)));
    for (uint64_t id : workload.ids) EXPECT_NE(next.id(), id);
    EXPECT_EQ(client.LastSequence(), last_sequence + 1);
  }
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

// Recharges one CallerID by 0.01 over and over from another thread, each time with a new
// request_id, keeping the acknowledged answers, until stopped or until a call fails.
class RechargeStream {
 public:
  RechargeStream(const LedgerServer& server, uint64_t id, const std::string& prefix)
      : thread_([this, &server, id, prefix] {
          Client client(server);
          for (int i = 0; !stop_.load(); ++i) {
            v1::Recharge reply;
            grpc::Status status =
                client.AddCredit(NewCredit(id, "0.01", absl::StrCat(prefix, i)), &reply);
            if (!status.ok()) break;  // the server is going away
            std::lock_guard<std::mutex> lock(mu_);
            acknowledged_.push_back(reply);
          }
        }) {}
  ~RechargeStream() { Stop(); }

  // Waits at most `timeout` for `count` acknowledgements.
  bool WaitFor(size_t count, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (acknowledged_.size() >= count) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  // Stops and joins the thread (each call has a deadline); returns the acknowledged.
  std::vector<v1::Recharge> Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    return acknowledged_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<v1::Recharge> acknowledged_;
  std::thread thread_;  // last: starts once the rest is constructed
};

// Every acknowledged recharge of `id` is in its history as it was answered; the balance
// is the sum of the history: `initial_cents` plus one cent per recharge of the stream.
void ExpectAcknowledgedStored(Client* client, uint64_t id, int initial_cents,
                              const std::string& prefix,
                              const std::vector<v1::Recharge>& acknowledged) {
  v1::ListRechargesResponse history;
  ASSERT_TRUE(IsOk(client->Recharges(id, &history)));
  std::map<uint64_t, v1::Recharge> stored;
  int streamed = 0;
  for (const v1::Recharge& recharge : history.recharges()) {
    stored[recharge.id()] = recharge;
    if (absl::StartsWith(recharge.request_id(), prefix)) ++streamed;
  }
  for (const v1::Recharge& ack : acknowledged) {
    auto found = stored.find(ack.id());
    ASSERT_NE(found, stored.end()) << "acknowledged recharge lost: " << ack.DebugString();
    EXPECT_EQ(found->second.amount(), ack.amount());
    EXPECT_EQ(found->second.credit_left(), ack.credit_left());
    EXPECT_EQ(found->second.request_id(), ack.request_id());
  }
  ASSERT_FALSE(acknowledged.empty());
  EXPECT_GE(client->LastSequence(), acknowledged.back().id());
  EXPECT_GE(streamed, static_cast<int>(acknowledged.size()));

  v1::CallerId callerid;
  ASSERT_TRUE(IsOk(client->Get(id, &callerid)));
  const int cents = initial_cents + streamed;
  EXPECT_EQ(callerid.total_credit(),
            absl::StrCat(cents / 100, ".", cents % 100 < 10 ? "0" : "", cents % 100));
  ASSERT_GT(history.recharges_size(), 0);
  EXPECT_EQ(history.recharges(0).credit_left(), callerid.credit_left());
}

TEST(PersistenceTest, AcknowledgedChangesSurviveKill9) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start()));
  Workload workload;
  Snapshot before;
  {
    Client client(server);
    ASSERT_NO_FATAL_FAILURE(RunWorkload(&client, &workload));
    before = TakeSnapshot(&client, workload);
  }
  // kill -9 right after the last acknowledgement: nothing may be lost.
  EXPECT_EQ(server.Kill(), 128 + 9);
  ASSERT_TRUE(IsOk(server.Start()));
  {
    Client client(server);
    EXPECT_TRUE(SameAnswers(before, TakeSnapshot(&client, workload)));
  }

  // kill -9 in the middle of a stream of recharges: every acknowledged one is there.
  const uint64_t target = workload.ids[0];  // A: 12.00 of limited credit
  std::vector<v1::Recharge> acknowledged;
  {
    RechargeStream stream(server, target, "burst-");
    stream.WaitFor(30, std::chrono::seconds(5));
    EXPECT_EQ(server.Kill(), 128 + 9);
    acknowledged = stream.Stop();
  }
  ASSERT_GE(acknowledged.size(), 1u) << "no recharge was acknowledged before the kill";

  ASSERT_TRUE(IsOk(server.Start()));
  Client client(server);
  ASSERT_NO_FATAL_FAILURE(ExpectAcknowledgedStored(&client, target, 1200, "burst-", acknowledged));

  // A retry of an acknowledged request after the crash answers the first answer.
  v1::Recharge retry;
  const v1::Recharge& last = acknowledged.back();
  const uint64_t sequence = client.LastSequence();
  ASSERT_TRUE(IsOk(client.AddCredit(NewCredit(target, "0.01", last.request_id()), &retry)));
  EXPECT_EQ(retry.id(), last.id());
  EXPECT_EQ(client.LastSequence(), sequence);

  EXPECT_EQ(server.Stop(), 0) << server.Log();
  ProcessResult verify = Verify(server);
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  EXPECT_TRUE(absl::StrContains(verify.out, "differences: 0")) << verify.Describe();
}

TEST(PersistenceTest, SigtermDuringWritesAnswersAndKeepsThem) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start()));
  v1::CallerId callerid;
  {
    Client client(server);
    ASSERT_TRUE(IsOk(client.Add(NewCallerId("0100", "5550001", "1"), &callerid)));
  }
  std::vector<v1::Recharge> acknowledged;
  {
    RechargeStream stream(server, callerid.id(), "stream-");
    stream.WaitFor(30, std::chrono::seconds(5));
    // The calls in flight are finished and the server exits 0; calls made after the
    // shutdown began fail, which ends the stream.
    EXPECT_EQ(server.Stop(), 0) << server.Log();
    acknowledged = stream.Stop();
  }
  ASSERT_GE(acknowledged.size(), 1u) << "no recharge was acknowledged before SIGTERM";

  ASSERT_TRUE(IsOk(server.Start()));
  {
    Client client(server);
    ASSERT_NO_FATAL_FAILURE(
        ExpectAcknowledgedStored(&client, callerid.id(), 100, "stream-", acknowledged));
  }
  EXPECT_EQ(server.Stop(), 0) << server.Log();
  ProcessResult verify = Verify(server);
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
}

// ---------------------------------------------------------------------------------------
// b. Status codes for bad input; a rejection writes nothing and the server keeps serving.

class StatusCodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(IsOk(server_.Start({"--license_max_active_callerids=2"})));
    client_ = std::make_unique<Client>(server_);
    sequence_ = client_->LastSequence();
  }
  void TearDown() override {
    if (server_.pid() > 0) {
      EXPECT_EQ(server_.Stop(), 0) << server_.Log();
    }
  }

  // Expects `status` to be `code` and the log not to have moved.
  ::testing::AssertionResult Rejected(const grpc::Status& status, StatusCode code) {
    ::testing::AssertionResult result = HasCode(status, code);
    if (!result) return result;
    uint64_t now = client_->LastSequence();
    if (now != sequence_) {
      return ::testing::AssertionFailure()
             << "the rejection (" << Describe(status) << ") moved last_sequence from " << sequence_
             << " to " << now;
    }
    return ::testing::AssertionSuccess();
  }

  // Expects `status` to be OK and the log to have moved by one event.
  ::testing::AssertionResult Accepted(const grpc::Status& status) {
    ::testing::AssertionResult result = IsOk(status);
    if (!result) return result;
    uint64_t now = client_->LastSequence();
    if (now != sequence_ + 1) {
      return ::testing::AssertionFailure()
             << "expected last_sequence " << sequence_ + 1 << ", got " << now;
    }
    sequence_ = now;
    return ::testing::AssertionSuccess();
  }

  LedgerServer server_;
  std::unique_ptr<Client> client_;
  uint64_t sequence_ = 0;
};

TEST_F(StatusCodesTest, InvalidArgument) {
  v1::CallerId added;
  v1::CallerId reply;
  ASSERT_TRUE(Accepted(client_->Add(NewCallerId("0100", "5550001", "5"), &added)));

  for (const char* number : {"12ab34", "12", "123456789012345678901", "", "+", "555 0002"}) {
    EXPECT_TRUE(
        Rejected(client_->Add(NewCallerId("0100", number), &reply), StatusCode::INVALID_ARGUMENT))
        << "callback_number \"" << number << "\"";
  }
  for (const char* pin : {"123", "12a4", "1234567890123"}) {
    v1::AddCallerIdRequest request = NewCallerId("0100", "5550002");
    request.set_pin(pin);
    EXPECT_TRUE(Rejected(client_->Add(request, &reply), StatusCode::INVALID_ARGUMENT))
        << "pin \"" << pin << "\"";
  }
  for (const char* credit : {"1.0000001", "1e3", "-1", "1,5", "abc", "99999999999999999999"}) {
    EXPECT_TRUE(Rejected(client_->Add(NewCallerId("0100", "5550002", credit), &reply),
                         StatusCode::INVALID_ARGUMENT))
        << "initial_credit \"" << credit << "\"";
  }
  for (const char* extension : {"", "bad ext", "0100/1"}) {
    EXPECT_TRUE(Rejected(client_->Add(NewCallerId(extension, "5550002"), &reply),
                         StatusCode::INVALID_ARGUMENT))
        << "extension \"" << extension << "\"";
  }
  v1::AddCallerIdRequest both = NewCallerId("0100", "5550002", "5");
  both.set_unlimited(true);
  EXPECT_TRUE(Rejected(client_->Add(both, &reply), StatusCode::INVALID_ARGUMENT))
      << "unlimited with an initial credit";

  v1::Recharge recharge;
  for (const char* amount :
       {"1.0000001", "1e3", "1E3", "", "0", "abc", "1.5.0", " 1", "99999999999999999999"}) {
    EXPECT_TRUE(Rejected(client_->AddCredit(NewCredit(added.id(), amount), &recharge),
                         StatusCode::INVALID_ARGUMENT))
        << "amount \"" << amount << "\"";
  }
  v1::UpdateCallerIdRequest short_pin = NewUpdate(added.id());
  short_pin.set_pin("12");
  EXPECT_TRUE(Rejected(client_->Update(short_pin, &reply), StatusCode::INVALID_ARGUMENT));
  v1::UpdateCallerIdRequest bad_number = NewUpdate(added.id());
  bad_number.set_callback_number("12");
  EXPECT_TRUE(Rejected(client_->Update(bad_number, &reply), StatusCode::INVALID_ARGUMENT));
  EXPECT_TRUE(Rejected(client_->Get(0, &reply), StatusCode::INVALID_ARGUMENT));

  // Nothing changed, and the server still serves and accepts good input.
  ASSERT_TRUE(IsOk(client_->Get(added.id(), &reply)));
  EXPECT_EQ(reply.total_credit(), "5.00");
  EXPECT_FALSE(reply.pin_set());
  HealthStatus::ServingStatus health;
  ASSERT_TRUE(IsOk(server_.CheckHealth(&health)));
  EXPECT_EQ(health, HealthStatus::SERVING);
  EXPECT_TRUE(Accepted(client_->AddCredit(NewCredit(added.id(), "1.000001"), &recharge)));
  EXPECT_EQ(recharge.credit_left(), "6.000001");  // shown with more decimals, not rounded
}

TEST_F(StatusCodesTest, NotFound) {
  v1::CallerId added;
  ASSERT_TRUE(Accepted(client_->Add(NewCallerId("0100", "5550001", "5"), &added)));
  const uint64_t unknown = added.id() + 1000;

  v1::CallerId reply;
  EXPECT_TRUE(Rejected(client_->Get(unknown, &reply), StatusCode::NOT_FOUND));
  v1::Recharge recharge;
  EXPECT_TRUE(
      Rejected(client_->AddCredit(NewCredit(unknown, "1"), &recharge), StatusCode::NOT_FOUND));
  v1::AddCreditRequest by_number = NewCredit(0, "1");
  by_number.set_extension("0100");
  by_number.set_callback_number("5559999");
  EXPECT_TRUE(Rejected(client_->AddCredit(by_number, &recharge), StatusCode::NOT_FOUND));
  v1::ListRechargesResponse history;
  EXPECT_TRUE(Rejected(client_->Recharges(unknown, &history), StatusCode::NOT_FOUND));
  v1::UpdateCallerIdRequest update = NewUpdate(unknown);
  update.set_order_no("X");
  EXPECT_TRUE(Rejected(client_->Update(update, &reply), StatusCode::NOT_FOUND));
  // All or none: one unknown id removes nothing.
  v1::RemoveCallerIdsRequest remove;
  remove.add_callerid_ids(added.id());
  remove.add_callerid_ids(unknown);
  v1::RemoveCallerIdsResponse removed;
  EXPECT_TRUE(Rejected(client_->Remove(remove, &removed), StatusCode::NOT_FOUND));
  EXPECT_TRUE(IsOk(client_->Get(added.id(), &reply)));
}

TEST_F(StatusCodesTest, AlreadyExists) {
  v1::CallerId added;
  ASSERT_TRUE(Accepted(client_->Add(NewCallerId("0100", "5550001", "5"), &added)));
  v1::CallerId reply;
  EXPECT_TRUE(
      Rejected(client_->Add(NewCallerId("0100", "5550001"), &reply), StatusCode::ALREADY_EXISTS));
  EXPECT_TRUE(Rejected(client_->Add(Disabled(NewCallerId("0100", "5550001", "1")), &reply),
                       StatusCode::ALREADY_EXISTS));
  // The same number in another extension is another CallerID.
  v1::CallerId other;
  EXPECT_TRUE(Accepted(client_->Add(Disabled(NewCallerId("0200", "5550001")), &other)));

  // A request_id reused with other arguments.
  v1::Recharge first;
  ASSERT_TRUE(Accepted(client_->AddCredit(NewCredit(added.id(), "1", "dup-1"), &first)));
  v1::Recharge recharge;
  EXPECT_TRUE(Rejected(client_->AddCredit(NewCredit(added.id(), "2", "dup-1"), &recharge),
                       StatusCode::ALREADY_EXISTS));
  EXPECT_TRUE(Rejected(client_->AddCredit(NewCredit(other.id(), "1", "dup-1"), &recharge),
                       StatusCode::ALREADY_EXISTS));
  v1::AddCallerIdRequest keyed = Disabled(NewCallerId("0100", "5550002"));
  keyed.set_request_id("add-1");
  ASSERT_TRUE(Accepted(client_->Add(keyed, &reply)));
  keyed.set_callback_number("5550003");
  EXPECT_TRUE(Rejected(client_->Add(keyed, &reply), StatusCode::ALREADY_EXISTS));

  ASSERT_TRUE(IsOk(client_->Get(added.id(), &reply)));
  EXPECT_EQ(reply.total_credit(), "6.00");
}

TEST_F(StatusCodesTest, ResourceExhausted) {
  v1::CallerId first;
  v1::CallerId second;
  v1::CallerId reply;
  ASSERT_TRUE(Accepted(client_->Add(NewCallerId("0100", "5550001", "5"), &first)));
  ASSERT_TRUE(Accepted(client_->Add(NewCallerId("0200", "5550002", "5"), &second)));
  // The license allows two enabled CallerIDs.
  EXPECT_TRUE(Rejected(client_->Add(NewCallerId("0100", "5550003", "5"), &reply),
                       StatusCode::RESOURCE_EXHAUSTED));
  // A disabled one may still be added, but not enabled.
  v1::CallerId third;
  ASSERT_TRUE(Accepted(client_->Add(Disabled(NewCallerId("0100", "5550003", "5")), &third)));
  v1::UpdateCallerIdRequest enable = NewUpdate(third.id());
  enable.set_status(v1::CallerId::ENABLED);
  EXPECT_TRUE(Rejected(client_->Update(enable, &reply), StatusCode::RESOURCE_EXHAUSTED));
  ASSERT_TRUE(IsOk(client_->Get(third.id(), &reply)));
  EXPECT_EQ(reply.status(), v1::CallerId::DISABLED);

  v1::LicenseUsage usage;
  ASSERT_TRUE(IsOk(client_->Usage("", &usage)));
  EXPECT_EQ(usage.max_active_callerids(), 2u);
  EXPECT_EQ(usage.active_callerids(), 2u);
  EXPECT_EQ(usage.total_callerids(), 3u);
  EXPECT_EQ(usage.available(), 0u);

  // An extension policy sets a lower limit: 0100 may have one enabled CallerID.
  v1::SetExtensionPolicyRequest policy;
  policy.set_extension("0100");
  policy.set_max_active_callerids(1);
  v1::ExtensionPolicy policy_reply;
  ASSERT_TRUE(Accepted(client_->SetPolicy(policy, &policy_reply)));
  v1::UpdateCallerIdRequest disable = NewUpdate(second.id());  // frees a license slot
  disable.set_status(v1::CallerId::DISABLED);
  ASSERT_TRUE(Accepted(client_->Update(disable, &reply)));
  EXPECT_TRUE(Rejected(client_->Update(enable, &reply), StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_TRUE(Rejected(client_->Add(NewCallerId("0100", "5550004"), &reply),
                       StatusCode::RESOURCE_EXHAUSTED));
  // ... while another extension may use the free slot.
  EXPECT_TRUE(Accepted(client_->Add(NewCallerId("0300", "5550005"), &reply)));
}

TEST_F(StatusCodesTest, FailedPrecondition) {
  v1::CallerId added;
  ASSERT_TRUE(Accepted(client_->Add(NewCallerId("0100", "5550001", "5"), &added)));
  v1::CallerId before;
  ASSERT_TRUE(IsOk(client_->Get(added.id(), &before)));

  v1::Recharge recharge;
  EXPECT_TRUE(Rejected(client_->AddCredit(NewCredit(added.id(), "-5.01"), &recharge),
                       StatusCode::FAILED_PRECONDITION));
  EXPECT_TRUE(Rejected(client_->AddCredit(NewCredit(added.id(), "-5.000001", "neg-1"), &recharge),
                       StatusCode::FAILED_PRECONDITION));
  v1::CallerId after;
  ASSERT_TRUE(IsOk(client_->Get(added.id(), &after)));
  EXPECT_EQ(Serialize(before), Serialize(after)) << after.DebugString();

  // Down to exactly zero is allowed; below it is not.
  ASSERT_TRUE(Accepted(client_->AddCredit(NewCredit(added.id(), "-5"), &recharge)));
  EXPECT_EQ(recharge.credit_left(), "0.00");
  EXPECT_TRUE(Rejected(client_->AddCredit(NewCredit(added.id(), "-0.000001"), &recharge),
                       StatusCode::FAILED_PRECONDITION));
  // The request_id of a rejected request was not consumed.
  EXPECT_TRUE(Accepted(client_->AddCredit(NewCredit(added.id(), "2", "neg-1"), &recharge)));
  EXPECT_EQ(recharge.credit_left(), "2.00");
}

// Runs `count` calls of `call(i)` at once, each from its own thread, and returns their
// statuses.
template <typename CallFn>
std::vector<grpc::Status> AllAtOnce(int count, CallFn call) {
  std::vector<grpc::Status> statuses(count);
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&statuses, &call, i] { statuses[i] = call(i); });
  }
  for (std::thread& thread : threads) thread.join();
  return statuses;
}

int CountCode(const std::vector<grpc::Status>& statuses, StatusCode code) {
  int count = 0;
  for (const grpc::Status& status : statuses) count += status.error_code() == code ? 1 : 0;
  return count;
}

TEST_F(StatusCodesTest, LimitsHoldUnderConcurrentAdds) {
  // Eight enabled CallerIDs at once against a license of two: exactly two get in.
  std::vector<grpc::Status> statuses = AllAtOnce(8, [this](int i) {
    Client client(server_);
    v1::CallerId reply;
    return client.Add(NewCallerId("0100", absl::StrCat("555000", i)), &reply);
  });
  EXPECT_EQ(CountCode(statuses, StatusCode::OK), 2);
  EXPECT_EQ(CountCode(statuses, StatusCode::RESOURCE_EXHAUSTED), 6);
  v1::LicenseUsage usage;
  ASSERT_TRUE(IsOk(client_->Usage("", &usage)));
  EXPECT_EQ(usage.active_callerids(), 2u);
  EXPECT_EQ(usage.total_callerids(), 2u);
  EXPECT_EQ(client_->LastSequence(), sequence_ + 2);

  // One number eight times at once: one CallerID, seven ALREADY_EXISTS.
  statuses = AllAtOnce(8, [this](int i) {
    Client client(server_);
    v1::CallerId reply;
    return client.Add(Disabled(NewCallerId("0200", "5559999", absl::StrCat(i))), &reply);
  });
  EXPECT_EQ(CountCode(statuses, StatusCode::OK), 1);
  EXPECT_EQ(CountCode(statuses, StatusCode::ALREADY_EXISTS), 7);
  v1::ListCallerIdsRequest list;
  list.set_extension("0200");
  v1::ListCallerIdsResponse listed;
  ASSERT_TRUE(IsOk(client_->List(list, &listed)));
  EXPECT_EQ(listed.total_size(), 1u);
  EXPECT_EQ(client_->LastSequence(), sequence_ + 3);

  // Eight withdrawals of 2.00 at once from 5.00: two pass, and the credit never goes
  // below zero.
  v1::CallerId funded;
  ASSERT_TRUE(IsOk(client_->Add(Disabled(NewCallerId("0300", "5558888", "5")), &funded)));
  statuses = AllAtOnce(8, [this, &funded](int) {
    Client client(server_);
    v1::Recharge reply;
    return client.AddCredit(NewCredit(funded.id(), "-2"), &reply);
  });
  EXPECT_EQ(CountCode(statuses, StatusCode::OK), 2);
  EXPECT_EQ(CountCode(statuses, StatusCode::FAILED_PRECONDITION), 6);
  v1::CallerId got;
  ASSERT_TRUE(IsOk(client_->Get(funded.id(), &got)));
  EXPECT_EQ(got.available_credit(), "1.00");
  EXPECT_EQ(client_->LastSequence(), sequence_ + 6);
}

// ---------------------------------------------------------------------------------------
// c. Idempotent retries over the wire.

TEST(IdempotencyTest, RetriedRechargeIsAppliedOnce) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start()));
  v1::CallerId callerid;
  v1::Recharge first;
  uint64_t sequence = 0;
  {
    Client client(server);
    ASSERT_TRUE(IsOk(client.Add(NewCallerId("0100", "5550001", "1"), &callerid)));
    sequence = client.LastSequence();

    ASSERT_TRUE(IsOk(client.AddCredit(NewCredit(callerid.id(), "2.50", "retry-1"), &first)));
    EXPECT_EQ(client.LastSequence(), sequence + 1);
    v1::Recharge second;
    ASSERT_TRUE(IsOk(client.AddCredit(NewCredit(callerid.id(), "2.50", "retry-1"), &second)));
    EXPECT_EQ(second.id(), first.id());
    EXPECT_EQ(Serialize(second), Serialize(first)) << first.DebugString() << "\nvs\n"
                                                   << second.DebugString();
    EXPECT_EQ(client.LastSequence(), sequence + 1);

    // After another change, a retry still answers the first answer.
    v1::Recharge other;
    ASSERT_TRUE(IsOk(client.AddCredit(NewCredit(callerid.id(), "1"), &other)));
    v1::Recharge late;
    ASSERT_TRUE(IsOk(client.AddCredit(NewCredit(callerid.id(), "2.50", "retry-1"), &late)));
    EXPECT_EQ(Serialize(late), Serialize(first)) << first.DebugString() << "\nvs\n"
                                                 << late.DebugString();
    EXPECT_EQ(client.LastSequence(), sequence + 2);

    v1::CallerId got;
    ASSERT_TRUE(IsOk(client.Get(callerid.id(), &got)));
    EXPECT_EQ(got.total_credit(), "4.50");
    v1::ListRechargesResponse history;
    ASSERT_TRUE(IsOk(client.Recharges(callerid.id(), &history)));
    EXPECT_EQ(history.recharges_size(), 3);  // the initial credit and two recharges

    // AddCallerId with a request_id: the retry answers the same CallerID.
    v1::AddCallerIdRequest add = NewCallerId("0100", "5550002", "1");
    add.set_request_id("add-retry");
    v1::CallerId added;
    v1::CallerId again;
    ASSERT_TRUE(IsOk(client.Add(add, &added)));
    ASSERT_TRUE(IsOk(client.Add(add, &again)));
    EXPECT_EQ(again.id(), added.id());
    v1::ListCallerIdsRequest list;
    list.set_extension("0100");
    v1::ListCallerIdsResponse listed;
    ASSERT_TRUE(IsOk(client.List(list, &listed)));
    EXPECT_EQ(listed.total_size(), 2u);
    sequence = client.LastSequence();
  }

  // The keys are durable: a retry after a restart still answers the first answer.
  ASSERT_TRUE(IsOk(server.Restart()));
  Client client(server);
  v1::Recharge third;
  ASSERT_TRUE(IsOk(client.AddCredit(NewCredit(callerid.id(), "2.50", "retry-1"), &third)));
  EXPECT_EQ(third.id(), first.id());
  EXPECT_EQ(client.LastSequence(), sequence);
  v1::CallerId got;
  ASSERT_TRUE(IsOk(client.Get(callerid.id(), &got)));
  EXPECT_EQ(got.total_credit(), "4.50");
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

TEST(IdempotencyTest, ConcurrentRetriesAreAppliedOnce) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start()));
  Client client(server);
  v1::CallerId callerid;
  ASSERT_TRUE(IsOk(client.Add(NewCallerId("0100", "5550001", "1"), &callerid)));
  const uint64_t sequence = client.LastSequence();

  constexpr int kThreads = 8;
  std::vector<grpc::Status> statuses(kThreads);
  std::vector<v1::Recharge> replies(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Client own(server);
      statuses[i] = own.AddCredit(NewCredit(callerid.id(), "2", "same-key"), &replies[i]);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(IsOk(statuses[i])) << "thread " << i;
    EXPECT_EQ(replies[i].id(), replies[0].id()) << "thread " << i;
  }
  EXPECT_EQ(client.LastSequence(), sequence + 1);
  v1::CallerId got;
  ASSERT_TRUE(IsOk(client.Get(callerid.id(), &got)));
  EXPECT_EQ(got.total_credit(), "3.00");
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

// ---------------------------------------------------------------------------------------
// d. Rebuild and verify.

TEST(RebuildVerifyTest, RebuildKeepsEveryAnswerAndVerifyFindsTampering) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start()));
  Workload workload;
  Snapshot before;
  uint64_t tampered_recharge = 0;
  {
    Client client(server);
    ASSERT_NO_FATAL_FAILURE(RunWorkload(&client, &workload));
    before = TakeSnapshot(&client, workload);
    v1::ListRechargesResponse history;
    ASSERT_TRUE(IsOk(client.Recharges(workload.ids[1], &history)));
    ASSERT_GE(history.recharges_size(), 2);
    tampered_recharge = history.recharges(1).id();
  }
  ASSERT_EQ(server.Stop(), 0) << server.Log();

  ProcessResult verify = Verify(server);
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  EXPECT_TRUE(absl::StrContains(verify.out, "differences: 0")) << verify.Describe();

  ASSERT_TRUE(IsOk(server.Start({"--rebuild_projections"})));
  {
    Client client(server);
    EXPECT_TRUE(SameAnswers(before, TakeSnapshot(&client, workload)));
  }
  ASSERT_EQ(server.Stop(), 0) << server.Log();
  verify = Verify(server);
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  EXPECT_TRUE(absl::StrContains(verify.out, "differences: 0")) << verify.Describe();

  // Tamper with the stopped data directory: change one CallerID row, delete one recharge.
  const std::string callerid_key = BigEndian64(workload.ids[0]);
  const std::string recharge_key = RechargeKey(workload.ids[1], tampered_recharge);
  {
    StoreOptions options;
    options.path = server.data_dir();
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
    ASSERT_TRUE(IsOk(store.status()));
    std::string value;
    ASSERT_TRUE((*store)
                    ->db()
                    ->Get(rocksdb::ReadOptions(), (*store)->projection(Cf::kCallerIds),
                          callerid_key, &value)
                    .ok());
    store::v1::CallerIdRow row;
    ASSERT_TRUE(row.ParseFromString(value));
    row.set_total_credit_micros(row.total_credit_micros() + 7'000'000);
    row.set_credit_left_micros(row.credit_left_micros() + 7'000'000);
    ASSERT_TRUE((*store)
                    ->db()
                    ->Get(rocksdb::ReadOptions(), (*store)->projection(Cf::kRecharges),
                          recharge_key, &value)
                    .ok())
        << "no recharge row for " << tampered_recharge;
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(
        batch.Put((*store)->projection(Cf::kCallerIds), callerid_key, row.SerializeAsString())
            .ok());
    ASSERT_TRUE(batch.Delete((*store)->projection(Cf::kRecharges), recharge_key).ok());
    ASSERT_TRUE(IsOk((*store)->WriteSynced(&batch)));
  }

  verify = Verify(server);
  EXPECT_EQ(verify.exit_code, 1) << verify.Describe();
  EXPECT_TRUE(absl::StrContains(verify.out, "differences: 2")) << verify.Describe();
  EXPECT_TRUE(absl::StrContains(
      verify.out, absl::StrCat("callerids row \"", absl::CHexEscape(callerid_key), "\"")))
      << verify.Describe();
  EXPECT_TRUE(absl::StrContains(
      verify.out, absl::StrCat("recharges row \"", absl::CHexEscape(recharge_key), "\"")))
      << verify.Describe();

  // A rebuild repairs the projections from the log.
  ASSERT_TRUE(IsOk(server.Start({"--rebuild_projections"})));
  {
    Client client(server);
    EXPECT_TRUE(SameAnswers(before, TakeSnapshot(&client, workload)));
  }
  ASSERT_EQ(server.Stop(), 0) << server.Log();
  verify = Verify(server);
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  EXPECT_TRUE(absl::StrContains(verify.out, "differences: 0")) << verify.Describe();
}

TEST(RebuildVerifyTest, VerifyOfAMissingDirectoryIsAnError) {
  LedgerServer server;  // never started: its data directory does not exist
  ProcessResult verify = Verify(server);
  EXPECT_EQ(verify.exit_code, 2) << verify.Describe();
}

// ---------------------------------------------------------------------------------------
// e. Health and reflection.

void* Tag(intptr_t n) { return reinterpret_cast<void*>(n); }

// Sends one request on grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo (a
// bidirectional stream) through the generic stub and returns the first reply, both as
// serialized bytes: this build has no generated reflection client.
grpc::Status AskReflection(const std::shared_ptr<grpc::Channel>& channel,
                           const std::string& request, std::string* reply) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  context.set_deadline(RpcDeadline());
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &queue);
  // Waits for the operation `tag`, skipping any other; false on failure or time-out.
  auto await = [&](void* tag) {
    while (true) {
      void* got = nullptr;
      bool ok = false;
      grpc::CompletionQueue::NextStatus next = queue.AsyncNext(&got, &ok, RpcDeadline());
      if (next != grpc::CompletionQueue::GOT_EVENT) return false;
      if (got == tag) return ok;
    }
  };
  grpc::ByteBuffer answer;
  call->StartCall(Tag(1));
  bool ok = await(Tag(1));
  if (ok) {
    grpc::Slice slice(request);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, Tag(2));
    ok = await(Tag(2));
  }
  if (ok) {
    call->WritesDone(Tag(3));
    ok = await(Tag(3));
  }
  if (ok) {
    call->Read(&answer, Tag(4));
    ok = await(Tag(4));
  }
  if (!ok) context.TryCancel();
  grpc::Status status;
  call->Finish(&status, Tag(5));
  bool finished = await(Tag(5));
  queue.Shutdown();
  void* ignored_tag = nullptr;
  bool ignored_ok = false;
  while (queue.Next(&ignored_tag, &ignored_ok)) {
  }
  call.reset();
  if (!finished) return grpc::Status(StatusCode::DEADLINE_EXCEEDED, "reflection: no answer");
  if (!status.ok()) return status;
  if (!ok) return grpc::Status(StatusCode::UNKNOWN, "reflection: the stream failed");
  std::vector<grpc::Slice> slices;
  if (!answer.Dump(&slices).ok()) return grpc::Status(StatusCode::INTERNAL, "bad reply");
  reply->clear();
  for (const grpc::Slice& part : slices) {
    reply->append(reinterpret_cast<const char*>(part.begin()), part.size());
  }
  return grpc::Status::OK;
}

// The length-delimited fields numbered `number` of a serialized message.
std::vector<std::string> Fields(const std::string& bytes, int number) {
  google::protobuf::UnknownFieldSet fields;
  std::vector<std::string> found;
  if (!fields.ParseFromString(bytes)) return found;
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& field = fields.field(i);
    if (field.number() == number &&
        field.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      found.push_back(field.length_delimited());
    }
  }
  return found;
}

TEST(HealthTest, ServingAfterStartupAndReflectionIsOn) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start()));
  HealthStatus::ServingStatus health;
  ASSERT_TRUE(IsOk(server.CheckHealth(&health)));
  EXPECT_EQ(health, HealthStatus::SERVING);
  const std::string log = server.Log();
  EXPECT_TRUE(absl::StrContains(
      log, absl::StrCat("listening on ", server.address(), " (port ", server.port(), ")")))
      << log;
  EXPECT_TRUE(absl::StrContains(log, "serving: ")) << log;

  // ServerReflectionRequest{list_services: "*"}: field 7.
  google::protobuf::UnknownFieldSet list_request;
  list_request.AddLengthDelimited(7, "*");
  std::string request;
  ASSERT_TRUE(list_request.SerializeToString(&request));
  std::string reply;
  ASSERT_TRUE(IsOk(AskReflection(server.channel(), request, &reply)));
  // ServerReflectionResponse.list_services_response (6) .service (1) .name (1).
  std::vector<std::string> services;
  for (const std::string& list : Fields(reply, 6)) {
    for (const std::string& service : Fields(list, 1)) {
      for (const std::string& name : Fields(service, 1)) services.push_back(name);
    }
  }
  for (const char* expected :
       {"callbackledger.v1.CallerIds", "callbackledger.v1.Credit", "callbackledger.v1.Events",
        "callbackledger.v1.Calls", "callbackledger.v1.Reports", "grpc.health.v1.Health"}) {
    EXPECT_NE(std::find(services.begin(), services.end(), expected), services.end())
        << expected << " is not listed by reflection";
  }

  // ServerReflectionRequest{file_containing_symbol (4)}: the file that defines CallerIds.
  google::protobuf::UnknownFieldSet symbol_request;
  symbol_request.AddLengthDelimited(4, "callbackledger.v1.CallerIds");
  ASSERT_TRUE(symbol_request.SerializeToString(&request));
  ASSERT_TRUE(IsOk(AskReflection(server.channel(), request, &reply)));
  // .file_descriptor_response (4) .file_descriptor_proto (1, repeated).
  std::vector<std::string> files;
  for (const std::string& response : Fields(reply, 4)) {
    for (const std::string& file : Fields(response, 1)) {
      google::protobuf::FileDescriptorProto proto;
      if (proto.ParseFromString(file)) files.push_back(proto.name());
    }
  }
  EXPECT_NE(std::find(files.begin(), files.end(), "callbackledger/v1/caller_ids.proto"),
            files.end())
      << "reflection did not describe CallerIds; files: " << files.size();

  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

// ---------------------------------------------------------------------------------------
// f. A non-loopback address without --insecure is refused.

TEST(StartupTest, RefusesNonLoopbackWithoutInsecure) {
  LedgerServer server;
  const int port = e2e::PickFreeLoopbackPort();
  ProcessResult run =
      server.RunUntilExit({absl::StrCat("--listen=0.0.0.0:", port)}, {}, std::chrono::seconds(10));
  EXPECT_FALSE(run.timed_out) << "ledgerd started on 0.0.0.0 without --insecure";
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "--insecure")) << run.Describe();
}

TEST(StartupTest, RefusesAnAddressAlreadyInUse) {
  LedgerServer first;
  ASSERT_TRUE(IsOk(first.Start()));
  // A second ledgerd (another data directory) on the same address must not start: with
  // both listening, clients would be spread over two different ledgers.
  LedgerServer second;
  ProcessResult run = second.RunUntilExit({absl::StrCat("--listen=", first.address())}, {},
                                          std::chrono::seconds(5));
  EXPECT_FALSE(run.timed_out) << "a second ledgerd started on " << first.address()
                              << ", which the first one listens on:\n"
                              << run.Describe();
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "cannot listen")) << run.Describe();
  EXPECT_EQ(first.Stop(), 0) << first.Log();
}

// ---------------------------------------------------------------------------------------
// g. Settings from the environment; the command line wins.

TEST(EnvironmentTest, LicenseLimitFromEnvironment) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start({}, {{"LEDGERD_LICENSE_MAX_ACTIVE_CALLERIDS", "1"}})));
  Client client(server);
  v1::LicenseUsage usage;
  ASSERT_TRUE(IsOk(client.Usage("", &usage)));
  EXPECT_EQ(usage.max_active_callerids(), 1u);
  v1::CallerId reply;
  ASSERT_TRUE(IsOk(client.Add(NewCallerId("0100", "5550001"), &reply)));
  EXPECT_TRUE(
      HasCode(client.Add(NewCallerId("0100", "5550002"), &reply), StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_TRUE(IsOk(client.Add(Disabled(NewCallerId("0100", "5550002")), &reply)));
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

TEST(EnvironmentTest, CommandLineOverridesEnvironment) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start({"--license_max_active_callerids=3"},
                                {{"LEDGERD_LICENSE_MAX_ACTIVE_CALLERIDS", "1"}})));
  Client client(server);
  v1::LicenseUsage usage;
  ASSERT_TRUE(IsOk(client.Usage("", &usage)));
  EXPECT_EQ(usage.max_active_callerids(), 3u);
  v1::CallerId reply;
  EXPECT_TRUE(IsOk(client.Add(NewCallerId("0100", "5550001"), &reply)));
  EXPECT_TRUE(IsOk(client.Add(NewCallerId("0100", "5550002"), &reply)));
  EXPECT_TRUE(IsOk(client.Add(NewCallerId("0100", "5550003"), &reply)));
  EXPECT_TRUE(
      HasCode(client.Add(NewCallerId("0100", "5550004"), &reply), StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

TEST(EnvironmentTest, InvalidValueInEnvironmentIsRefused) {
  LedgerServer server;
  ProcessResult run = server.RunUntilExit({}, {{"LEDGERD_LICENSE_MAX_ACTIVE_CALLERIDS", "lots"}});
  EXPECT_FALSE(run.timed_out) << "ledgerd started with an invalid setting";
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "LEDGERD_LICENSE_MAX_ACTIVE_CALLERIDS")) << run.Describe();
}

// ---------------------------------------------------------------------------------------
// h. A data directory keeps its currency.

TEST(StartupTest, RefusesAnotherCurrencyForTheDataDirectory) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start({"--currency=EUR"})));
  v1::CallerId added;
  {
    Client client(server);
    ASSERT_TRUE(IsOk(client.Add(NewCallerId("0100", "5550001", "7"), &added)));
  }
  ASSERT_EQ(server.Stop(), 0) << server.Log();

  ProcessResult run = server.RunUntilExit({"--currency=USD"});
  EXPECT_FALSE(run.timed_out) << "ledgerd started with USD on an EUR data directory";
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "EUR")) << run.Describe();

  // The default currency (USD) is refused too, and so is one from the environment.
  run = server.RunUntilExit({});
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "EUR")) << run.Describe();
  run = server.RunUntilExit({}, {{"LEDGERD_CURRENCY", "GBP"}});
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "EUR")) << run.Describe();

  // With its own currency it starts, its data intact.
  ASSERT_TRUE(IsOk(server.Start({}, {{"LEDGERD_CURRENCY", "EUR"}})));
  Client client(server);
  v1::CallerId got;
  ASSERT_TRUE(IsOk(client.Get(added.id(), &got)));
  EXPECT_EQ(got.total_credit(), "7.00");
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

}  // namespace
}  // namespace callbackledger
