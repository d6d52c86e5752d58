// End to end: the status codes of bad input (a rejection writes nothing and the server
// keeps serving), limits under concurrent adds, and idempotent retries over the wire.
// Every RPC carries a deadline; every wait is bounded.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/e2e_client.h"
#include "tests/server_harness.h"

namespace callbackledger {
namespace e2e {
namespace {

using grpc::StatusCode;
using HealthStatus = grpc::health::v1::HealthCheckResponse;

// ---------------------------------------------------------------------------------------
// Status codes for bad input; a rejection writes nothing and the server keeps serving.

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
// Idempotent retries over the wire.

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

}  // namespace
}  // namespace e2e
}  // namespace callbackledger
