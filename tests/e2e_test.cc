// End-to-end tests: the real ledgerd binary on a loopback port and a temporary data
// directory, driven over gRPC with the generated stubs, and ledgerctl on the data it
// leaves behind: persistence across SIGTERM, kill -9 and restarts, and rebuild and verify
// of the projections. Status codes and idempotent retries are in
// status_codes_e2e_test.cc; start-up, health, reflection and settings in
// startup_e2e_test.cc. Every RPC carries a deadline; every wait is bounded.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/store/v1/store.pb.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ledger/store.h"
#include "projections/rows.h"
#include "tests/e2e_client.h"
#include "tests/server_harness.h"

namespace callbackledger {
namespace e2e {
namespace {

using grpc::StatusCode;

// ---------------------------------------------------------------------------------------
// Snapshots of every read answer, to compare a server with itself across restarts.

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
// Persistence across restarts.

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
// Rebuild and verify.

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

}  // namespace
}  // namespace e2e
}  // namespace callbackledger
