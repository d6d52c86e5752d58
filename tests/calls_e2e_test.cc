// End-to-end tests of the call-credit protocol against the real ledgerd: PBX nodes
// (through the client library PBX nodes link) making concurrent calls for one CallerID,
// a node that crashes and leaves holds behind, holds surviving a server crash, node binding
// and the deadline of a write.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "callbackledger/v1/calls.grpc.pb.h"
#include "callbackledger/v1/reports.grpc.pb.h"
#include "clients/pbx_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/money.h"
#include "ledger/testing/write_ahead_log.h"
#include "tests/server_harness.h"

namespace callbackledger {
namespace {

using e2e::LedgerServer;

constexpr auto kDeadline = std::chrono::seconds(5);

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + kDeadline;
}

v1::CallerId AddCallerId(LedgerServer& server, const std::string& number,
                         const std::string& credit) {
  v1::AddCallerIdRequest request;
  request.set_extension("0003*005");
  request.set_callback_number(number);
  request.set_initial_credit(credit);
  v1::CallerId reply;
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  grpc::Status status = server.caller_ids()->AddCallerId(&context, request, &reply);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return reply;
}

v1::CallerId GetCallerId(LedgerServer& server, uint64_t id) {
  v1::GetCallerIdRequest request;
  request.set_callerid_id(id);
  v1::CallerId reply;
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  grpc::Status status = server.caller_ids()->GetCallerId(&context, request, &reply);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return reply;
}

int64_t Micros(const std::string& money) {
  absl::StatusOr<int64_t> parsed = ParseMoney("money", money);
  EXPECT_TRUE(parsed.ok()) << money;
  return parsed.ok() ? *parsed : -1;
}

v1::Rate PerMinute(const std::string& price) {
  v1::Rate rate;
  rate.set_price_per_minute(price);
  rate.set_billing_increment_seconds(60);
  return rate;
}

PbxClientOptions Node(const std::string& node_id) {
  PbxClientOptions options;
  options.node_id = node_id;
  options.attempt_timeout = std::chrono::milliseconds(3000);
  return options;
}

// Two nodes call for the same CallerID at once until its credit runs out: every grant is
// within what is left, and the balance at the end is exactly the credit minus every cost
// the settles reported.
TEST(CallsEndToEnd, TwoNodesShareOneCreditUntilItRunsOut) {
  LedgerServer server;
  ASSERT_TRUE(server.Start().ok());
  v1::CallerId callerid = AddCallerId(server, "+40721000111", "10.00");

  std::atomic<int64_t> charged_micros{0};
  std::atomic<int> calls{0};
  std::atomic<int> failures{0};
  auto node = [&](const std::string& node_id) {
    PbxClient client(server.channel(), Node(node_id));
    for (int i = 0; i < 60; ++i) {  // bounded: the credit pays for at most 16 minutes
      v1::ReserveRequest reserve;
      reserve.set_reservation_id(absl::StrCat(node_id, "-call-", i));
      reserve.set_extension("0003*005");
      reserve.set_callback_number("+40721000111");
      *reserve.mutable_rate() = PerMinute("0.60");
      reserve.set_seconds(120);
      reserve.set_ttl_seconds(60);
      reserve.set_destination("0040213100200");
      CallResult<v1::ReserveResponse> reserved = client.Reserve(reserve);
      if (!reserved.ok()) {
        ++failures;
        return;
      }
      if (reserved.reply.decision() == v1::NO_CREDIT) return;
      if (reserved.reply.decision() != v1::ALLOWED) {
        ++failures;
        return;
      }
      // The call lasts as long as the grant allows, minus a few seconds on odd calls.
      uint64_t duration = reserved.reply.granted_seconds() - (i % 2 == 1 ? 7 : 0);
      v1::SettleRequest settle;
      settle.set_reservation_id(reserve.reservation_id());
      settle.set_duration_seconds(duration);
      CallResult<v1::SettleResponse> settled = client.Settle(settle);
      if (!settled.ok() || Micros(settled.reply.uncollected()) != 0) {
        ++failures;
        return;
      }
      // A retry of the settle is answered the same, and charges nothing more.
      CallResult<v1::SettleResponse> again = client.Settle(settle);
      if (!again.ok() || again.reply.SerializeAsString() != settled.reply.SerializeAsString()) {
        ++failures;
        return;
      }
      charged_micros += Micros(settled.reply.cost());
      ++calls;
    }
  };
  std::thread a(node, "pbx-a");
  std::thread b(node, "pbx-b");
  a.join();
  b.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(calls.load(), 1);
  v1::CallerId after = GetCallerId(server, callerid.id());
  // 10.00 pays for 16 minutes at 0.60: exactly 9.60 charged, 0.40 left, nothing held.
  EXPECT_EQ(charged_micros.load(), 9600000);
  EXPECT_EQ(after.credit_left(), "0.40");
  EXPECT_EQ(after.available_credit(), "0.40");
  EXPECT_EQ(after.open_reservations(), 0u);

  auto reports = v1::Reports::NewStub(server.channel());
  v1::GetCostReportRequest request;
  request.set_callerid_id(callerid.id());
  v1::GetCostReportResponse report;
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  ASSERT_TRUE(reports->GetCostReport(&context, request, &report).ok());
  EXPECT_EQ(report.total_cost(), "9.60");
  EXPECT_EQ(report.total_calls(), static_cast<uint64_t>(calls.load()));
}

// A node that crashes leaves its holds behind; the ledger releases them at their expiry,
// and a settle that comes afterwards is charged from what is available and marked late.
TEST(CallsEndToEnd, HoldsOfACrashedNodeExpireAndFreeTheCredit) {
  LedgerServer server;
  ASSERT_TRUE(server.Start().ok());
  v1::CallerId callerid = AddCallerId(server, "+40721000222", "5.00");
  PbxClient client(server.channel(), Node("pbx-crashing"));
  v1::ReserveRequest reserve;
  reserve.set_reservation_id("lost-call");
  reserve.set_extension("0003*005");
  reserve.set_callback_number("+40721000222");
  reserve.set_amount("3.00");
  reserve.set_ttl_seconds(1);
  CallResult<v1::ReserveResponse> reserved = client.Reserve(reserve);
  ASSERT_TRUE(reserved.ok());
  ASSERT_EQ(reserved.reply.decision(), v1::ALLOWED);
  EXPECT_EQ(GetCallerId(server, callerid.id()).available_credit(), "2.00");

  // The node says nothing more. Within a few seconds the ledger frees the hold by itself.
  std::string available;
  for (int i = 0; i < 100 && available != "5.00"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    available = GetCallerId(server, callerid.id()).available_credit();
  }
  EXPECT_EQ(available, "5.00");

  v1::ReadEventsRequest read;
  read.set_from_sequence(1);
  v1::ReadEventsResponse events;
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  ASSERT_TRUE(server.events()->ReadEvents(&context, read, &events).ok());
  ASSERT_FALSE(events.events().empty());
  const v1::Event& last = events.events(events.events_size() - 1);
  ASSERT_TRUE(last.has_reservation_released());
  EXPECT_EQ(last.reservation_released().reason(), v1::ReservationReleased::EXPIRED);
  EXPECT_EQ(last.reservation_released().reservation_id(), "lost-call");

  // The node comes back and settles the call after all.
  v1::SettleRequest settle;
  settle.set_reservation_id("lost-call");
  settle.set_cost("1.25");
  CallResult<v1::SettleResponse> settled = client.Settle(settle);
  ASSERT_TRUE(settled.ok()) << settled.status.error_message();
  EXPECT_TRUE(settled.reply.late());
  EXPECT_EQ(settled.reply.cost(), "1.25");
  EXPECT_EQ(settled.reply.credit_left(), "3.75");
}

// Holds survive a crash of the ledger itself; a node that restarts syncs away its orphans.
TEST(CallsEndToEnd, HoldsSurviveKillNineAndSyncReleasesOrphans) {
  LedgerServer server;
  ASSERT_TRUE(server.Start().ok());
  v1::CallerId callerid = AddCallerId(server, "+40721000333", "8.00");
  {
    PbxClient client(server.channel(), Node("pbx-sync"));
    for (const char* id : {"live-1", "orphan-1", "orphan-2"}) {
      v1::ReserveRequest reserve;
      reserve.set_reservation_id(id);
      reserve.set_extension("0003*005");
      reserve.set_callback_number("+40721000333");
      reserve.set_amount("2.00");
      reserve.set_ttl_seconds(3600);
      CallResult<v1::ReserveResponse> reserved = client.Reserve(reserve);
      ASSERT_TRUE(reserved.ok());
      ASSERT_EQ(reserved.reply.decision(), v1::ALLOWED);
    }
  }
  EXPECT_EQ(server.Kill(), 128 + 9);
  ASSERT_TRUE(server.Start().ok());
  v1::CallerId after_crash = GetCallerId(server, callerid.id());
  EXPECT_EQ(after_crash.available_credit(), "2.00");
  EXPECT_EQ(after_crash.held_credit(), "6.00");
  EXPECT_EQ(after_crash.open_reservations(), 3u);

  PbxClient client(server.channel(), Node("pbx-sync"));
  v1::SyncReservationsRequest sync;
  sync.add_reservation_ids("live-1");
  CallResult<v1::SyncReservationsResponse> synced = client.SyncReservations(sync);
  ASSERT_TRUE(synced.ok());
  EXPECT_THAT(synced.reply.released_reservation_ids(),
              ::testing::UnorderedElementsAre("orphan-1", "orphan-2"));
  EXPECT_EQ(synced.reply.released_amount(), "4.00");
  v1::CallerId after_sync = GetCallerId(server, callerid.id());
  EXPECT_EQ(after_sync.available_credit(), "6.00");
  EXPECT_EQ(after_sync.open_reservations(), 1u);
}

// Kubernetes-style probes can ask about each service, not only the server as a whole.
TEST(CallsEndToEnd, HealthAnswersForEveryService) {
  LedgerServer server;
  ASSERT_TRUE(server.Start().ok());
  for (const char* service :
       {"", "callbackledger.v1.CallerIds", "callbackledger.v1.Credit", "callbackledger.v1.Calls",
        "callbackledger.v1.Reports", "callbackledger.v1.Events"}) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::Status status = server.health()->Check(&context, request, &response);
    ASSERT_TRUE(status.ok()) << service << ": " << status.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
}

// The sequence of the last event in the log.
uint64_t LastSequence(LedgerServer& server) {
  v1::ReadEventsRequest read;
  read.set_from_sequence(1);
  read.set_page_size(1000);
  v1::ReadEventsResponse events;
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  grpc::Status status = server.events()->ReadEvents(&context, read, &events);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return events.events().empty() ? 0 : events.events(events.events_size() - 1).sequence();
}

// A PBX node may end only the calls it opened: another node is refused and nothing is
// written, while the node that opened the reservation goes on as usual.
TEST(CallsEndToEnd, ANodeCannotTouchAnotherNodesReservation) {
  LedgerServer server;
  ASSERT_TRUE(server.Start().ok());
  v1::CallerId callerid = AddCallerId(server, "+40721000444", "9.00");
  PbxClient node_a(server.channel(), Node("pbx-a"));
  PbxClient node_b(server.channel(), Node("pbx-b"));
  v1::ReserveRequest reserve;
  reserve.set_reservation_id("call-a");
  reserve.set_extension("0003*005");
  reserve.set_callback_number("+40721000444");
  reserve.set_amount("3.00");
  CallResult<v1::ReserveResponse> reserved = node_a.Reserve(reserve);
  ASSERT_TRUE(reserved.ok()) << reserved.status.error_message();
  ASSERT_EQ(reserved.reply.decision(), v1::ALLOWED);
  const uint64_t before = LastSequence(server);

  v1::ExtendRequest extend;
  extend.set_reservation_id("call-a");
  extend.set_amount("1.00");
  v1::SettleRequest settle;
  settle.set_reservation_id("call-a");
  settle.set_cost("2.00");
  v1::ReleaseRequest release;
  release.set_reservation_id("call-a");
  const std::string expected = "reservation call-a belongs to node pbx-a, not pbx-b";
  for (const grpc::Status& status : {node_b.Extend(extend).status, node_b.Settle(settle).status,
                                     node_b.Release(release).status}) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
    EXPECT_EQ(status.error_message(), expected);
  }
  EXPECT_EQ(LastSequence(server), before);
  EXPECT_EQ(GetCallerId(server, callerid.id()).held_credit(), "3.00");

  CallResult<v1::SettleResponse> settled = node_a.Settle(settle);
  ASSERT_TRUE(settled.ok()) << settled.status.error_message();
  EXPECT_EQ(settled.reply.credit_left(), "7.00");
}

// A write whose caller's deadline has passed is answered DEADLINE_EXCEEDED, never applied;
// a Calls write without a deadline gets ledgerd's --calls_deadline_ms and is applied.
TEST(CallsEndToEnd, AWriteAfterItsDeadlineIsNotApplied) {
  LedgerServer server;
  ASSERT_TRUE(server.Start({"--calls_deadline_ms=5000"}).ok());
  AddCallerId(server, "+40721000555", "9.00");
  std::unique_ptr<v1::Calls::Stub> calls = v1::Calls::NewStub(server.channel());
  v1::ReserveRequest reserve;
  reserve.set_reservation_id("late-call");
  reserve.set_extension("0003*005");
  reserve.set_callback_number("+40721000555");
  reserve.set_amount("3.00");
  reserve.set_node_id("pbx-a");
  const uint64_t before = LastSequence(server);
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() - std::chrono::seconds(1));
    v1::ReserveResponse reply;
    grpc::Status status = calls->Reserve(&context, reserve, &reply);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  }
  EXPECT_EQ(LastSequence(server), before);
  {
    grpc::ClientContext context;  // no deadline: the server's default applies
    v1::ReserveResponse reply;
    grpc::Status status = calls->Reserve(&context, reserve, &reply);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(reply.decision(), v1::ALLOWED);
  }
  EXPECT_EQ(LastSequence(server), before + 1);
}

TEST(CallsEndToEnd, ANegativeCallsDeadlineIsRefused) {
  LedgerServer server;
  e2e::ProcessResult run = server.RunUntilExit({"--calls_deadline_ms=-1"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_THAT(run.err, ::testing::HasSubstr("--calls_deadline_ms: must be 0 (no limit) or more"));
}

TEST(CallsEndToEnd, CommitterThreadsOtherThanOneOrTwoAreRefused) {
  for (const char* flag : {"--committer_threads=0", "--committer_threads=3"}) {
    LedgerServer server;
    e2e::ProcessResult run = server.RunUntilExit({flag});
    EXPECT_EQ(run.exit_code, 2) << run.Describe();
    EXPECT_THAT(run.err, ::testing::HasSubstr("--committer_threads: must be 1 or 2"));
  }
}

TEST(CallsEndToEnd, StorageSizesOutsideTheirRangeAreRefused) {
  for (const char* name : {"max_wal_mib", "block_cache_mib"}) {
    for (const char* value : {"0", "65537"}) {
      LedgerServer server;
      e2e::ProcessResult run = server.RunUntilExit({absl::StrCat("--", name, "=", value)});
      EXPECT_EQ(run.exit_code, 2) << run.Describe();
      EXPECT_THAT(run.err, ::testing::HasSubstr(absl::StrCat("--", name,
                                                             ": must be between 1 "
                                                             "and 65536, not ",
                                                             value)));
    }
  }
}

// The live write-ahead log runs a chunk of zeros ahead of its end (ledger/wal_zero_ahead.h)
// unless --wal_zero_ahead_mib=0 (or LEDGERD_WAL_ZERO_AHEAD_MIB=0); a kill -9 then leaves a log
// ending in zeros, and the next start finds every acknowledged write.
TEST(CallsEndToEnd, TheWriteAheadLogIsZeroedAheadAndAKillNineLosesNothing) {
  LedgerServer server;
  ASSERT_TRUE(server.Start().ok());
  v1::CallerId first = AddCallerId(server, "+40721000401", "5.00");
  EXPECT_GE(testing::WriteAheadLogBytes(server.data_dir()), uintmax_t{1} << 20)
      << "1 MiB of zeros ahead by default";
  EXPECT_EQ(server.Kill(), 128 + 9);
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(GetCallerId(server, first.id()).available_credit(), "5.00");

  LedgerServer plain;
  ASSERT_TRUE(plain.Start({}, {{"LEDGERD_WAL_ZERO_AHEAD_MIB", "0"}}).ok());
  v1::CallerId second = AddCallerId(plain, "+40721000402", "6.00");
  EXPECT_LT(testing::WriteAheadLogBytes(plain.data_dir()), uintmax_t{64} << 10)
      << "no zeros: the log is what was written";
  EXPECT_EQ(plain.Kill(), 128 + 9);
  ASSERT_TRUE(plain.Start({"--wal_zero_ahead_mib=0"}).ok());
  EXPECT_EQ(GetCallerId(plain, second.id()).available_credit(), "6.00");

  e2e::ProcessResult run = LedgerServer().RunUntilExit({"--wal_zero_ahead_mib=1025"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_THAT(run.err,
              ::testing::HasSubstr("--wal_zero_ahead_mib: must be between 0 and 1024, not 1025"));
}

}  // namespace
}  // namespace callbackledger
