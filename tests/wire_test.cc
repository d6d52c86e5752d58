// Bad input at the wire: every RPC of the five services, sent malformed requests through
// the real ledgerd — missing and unknown fields, empty and huge strings, invalid UTF-8,
// negative and huge page sizes, foreign page tokens, amounts that overflow, unknown enum
// values, out-of-range seconds, garbage and truncated bytes, oversized messages, expired
// deadlines. Each row checks the status code, that the message names what is wrong, and
// that the event log did not move; then the server must still serve every service.
//
// What gRPC does with bytes that are not a valid request: the request is parsed before any
// server code runs, and the C++ callback API answers a parse failure (garbage, truncation,
// invalid UTF-8 in a proto3 string field) UNIMPLEMENTED with an empty message, which ledgerd's
// parse-error interceptor answers INVALID_ARGUMENT as SPEC wants for malformed input. A message
// above the server's receive limit (1 MiB, --max_request_bytes) is answered RESOURCE_EXHAUSTED.
// Unknown fields, and fields sent with another wire type than the schema's, are kept aside by
// protobuf: the call behaves as if they were absent. An out-of-range enum value reaches the ledger,
// which refuses it.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/calls.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/server_harness.h"
#include "tests/wire_call.h"
#include "tests/wire_table.h"

namespace callbackledger {
namespace {

using e2e::CallRaw;
using e2e::LengthField;
using e2e::VarintField;
using e2e::WireSetup;
using grpc::StatusCode;

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

std::string Method(const std::string& rpc) { return absl::StrCat("/callbackledger.v1.", rpc); }

class WireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status started = server_.Start();
    ASSERT_TRUE(started.ok()) << started;
    calls_ = v1::Calls::NewStub(server_.channel());
    v1::CallerId first;
    v1::CallerId second;
    ASSERT_TRUE(AddCallerId("5550001", &first).ok());
    ASSERT_TRUE(AddCallerId("5550002", &second).ok());
    setup_.callerid_id = first.id();
    for (const char* amount : {"5", "-1"}) {
      v1::AddCreditRequest credit;
      credit.set_callerid_id(first.id());
      credit.set_amount(amount);
      v1::Recharge recharge;
      grpc::ClientContext context;
      context.set_deadline(Deadline());
      ASSERT_TRUE(server_.credit()->AddCredit(&context, credit, &recharge).ok());
    }
    v1::ReserveRequest reserve;
    reserve.set_reservation_id("r-1");
    reserve.set_extension("0100");
    reserve.set_callback_number("5550001");
    reserve.set_amount("2");
    reserve.set_ttl_seconds(3600);
    reserve.set_node_id("node-1");
    v1::ReserveResponse reserved;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    ASSERT_TRUE(calls_->Reserve(&context, reserve, &reserved).ok());
    ASSERT_EQ(reserved.decision(), v1::ALLOWED);
    setup_.reservation_id = reserve.reservation_id();
    ReadPageTokens();
  }

  grpc::Status AddCallerId(const std::string& number, v1::CallerId* added) {
    v1::AddCallerIdRequest request;
    request.set_extension("0100");
    request.set_callback_number(number);
    request.set_initial_credit("10");
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    return server_.caller_ids()->AddCallerId(&context, request, added);
  }

  void ReadPageTokens() {
    v1::ListCallerIdsRequest list;
    list.set_page_size(1);
    v1::ListCallerIdsResponse listed;
    grpc::ClientContext list_context;
    list_context.set_deadline(Deadline());
    ASSERT_TRUE(server_.caller_ids()->ListCallerIds(&list_context, list, &listed).ok());
    setup_.callerids_page_token = listed.next_page_token();
    ASSERT_FALSE(setup_.callerids_page_token.empty());
    v1::ListRechargesRequest recharges;
    recharges.set_callerid_id(setup_.callerid_id);
    recharges.set_page_size(1);
    v1::ListRechargesResponse page;
    grpc::ClientContext recharges_context;
    recharges_context.set_deadline(Deadline());
    ASSERT_TRUE(server_.credit()->ListRecharges(&recharges_context, recharges, &page).ok());
    setup_.recharges_page_token = page.next_page_token();
    ASSERT_FALSE(setup_.recharges_page_token.empty());
  }

  // The sequence number of the last event in the log.
  uint64_t LastSequence() {
    v1::ReadEventsRequest request;
    request.set_page_size(1);
    v1::ReadEventsResponse response;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::Status status = server_.events()->ReadEvents(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.last_sequence();
  }

  // A valid call of every service succeeds, a write moves the log by one event, and
  // health is SERVING.
  void ExpectStillServes();

  e2e::LedgerServer server_;
  std::unique_ptr<v1::Calls::Stub> calls_;
  WireSetup setup_;
};

void WireTest::ExpectStillServes() {
  ASSERT_TRUE(server_.running()) << server_.Log();
  const uint64_t before = LastSequence();
  std::string reply;
  grpc::Status status = CallRaw(server_.channel(), Method("CallerIds/GetCallerId"),
                                VarintField(1, setup_.callerid_id), Deadline(), &reply);
  EXPECT_TRUE(status.ok()) << "GetCallerId: " << status.error_message();
  v1::AuthorizeRequest authorize;
  authorize.set_extension("0100");
  authorize.set_callback_number("5550001");
  v1::AuthorizeResponse allowed;
  status = CallRaw(server_.channel(), Method("Calls/Authorize"), authorize.SerializeAsString(),
                   Deadline(), &reply);
  EXPECT_TRUE(status.ok() && allowed.ParseFromString(reply) && allowed.decision() == v1::ALLOWED)
      << "Authorize: " << status.error_message() << " " << allowed.ShortDebugString();
  status = CallRaw(server_.channel(), Method("Reports/GetCostReport"), LengthField(1, "0100"),
                   Deadline(), &reply);
  EXPECT_TRUE(status.ok()) << "GetCostReport: " << status.error_message();
  v1::Event first;
  status = CallRaw(server_.channel(), Method("Events/WatchEvents"), VarintField(1, 1), Deadline(),
                   &reply, /*server_stream=*/true);
  EXPECT_TRUE(first.ParseFromString(reply) && first.sequence() == 1)
      << "WatchEvents: " << status.error_message();
  v1::AddCreditRequest credit;
  credit.set_callerid_id(setup_.callerid_id);
  credit.set_amount("1");
  status = CallRaw(server_.channel(), Method("Credit/AddCredit"), credit.SerializeAsString(),
                   Deadline(), &reply);
  EXPECT_TRUE(status.ok()) << "AddCredit: " << status.error_message();
  EXPECT_EQ(LastSequence(), before + 1) << "the one valid write is the only new event";
  grpc::health::v1::HealthCheckResponse::ServingStatus health;
  ASSERT_TRUE(server_.CheckHealth(&health).ok());
  EXPECT_EQ(health, grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(WireTest, MalformedRequestsGetTheDocumentedCodeAndWriteNothing) {
  const uint64_t sequence = LastSequence();
  ASSERT_GT(sequence, 0u);
  for (const e2e::Row& row : e2e::MalformedRequests(setup_)) {
    SCOPED_TRACE(absl::StrCat(row.rpc, ": ", row.what));
    grpc::Status status = CallRaw(server_.channel(), Method(row.rpc), row.request, Deadline());
    EXPECT_EQ(status.error_code(), row.code) << status.error_message();
    EXPECT_TRUE(absl::StrContains(status.error_message(), row.names))
        << "\"" << status.error_message() << "\" does not name " << row.names;
    EXPECT_EQ(LastSequence(), sequence) << "the rejected call wrote";
  }
  ExpectStillServes();
}

// Unknown field numbers, and known numbers with another wire type, are set aside by the
// parser: the call does exactly what it does without them.
TEST_F(WireTest, UnknownFieldsAreIgnored) {
  const std::string unknown = VarintField(99, 7) + LengthField(100, "\xff\xfe not UTF-8") +
                              VarintField(536870911, 1);  // the largest field number
  const uint64_t sequence = LastSequence();
  v1::AddCreditRequest credit;
  credit.set_callerid_id(setup_.callerid_id);
  credit.set_amount("2.5");
  std::string reply;
  grpc::Status status =
      CallRaw(server_.channel(), Method("Credit/AddCredit"),
              credit.SerializeAsString() + unknown + LengthField(1, "7"), Deadline(), &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::Recharge recharge;
  ASSERT_TRUE(recharge.ParseFromString(reply));
  EXPECT_EQ(recharge.callerid_id(), setup_.callerid_id);
  EXPECT_EQ(recharge.amount(), "2.50");
  EXPECT_EQ(LastSequence(), sequence + 1);

  // A field the schema knows, sent with another wire type, is as good as absent.
  status = CallRaw(server_.channel(), Method("Credit/AddCredit"),
                   LengthField(1, "7") + LengthField(2, "1") + unknown, Deadline(), &reply);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "callerid_id")) << status.error_message();

  status = CallRaw(server_.channel(), Method("CallerIds/GetCallerId"),
                   VarintField(1, setup_.callerid_id) + unknown, Deadline(), &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::CallerId got;
  ASSERT_TRUE(got.ParseFromString(reply));
  EXPECT_EQ(got.id(), setup_.callerid_id);
  EXPECT_EQ(LastSequence(), sequence + 1);
  ExpectStillServes();
}

// A call whose deadline has already passed is answered DEADLINE_EXCEEDED and writes
// nothing, not even a moment later.
TEST_F(WireTest, ExpiredDeadlinesWriteNothing) {
  const uint64_t sequence = LastSequence();
  v1::AddCallerIdRequest add;
  add.set_extension("0100");
  add.set_callback_number("5550009");
  const std::vector<std::pair<std::string, std::string>> writes = {
      {"CallerIds/AddCallerId", add.SerializeAsString()},
      {"CallerIds/UpdateCallerId",
       VarintField(1, setup_.callerid_id) + VarintField(5, v1::CallerId::DISABLED)},
      {"CallerIds/RemoveCallerIds", VarintField(1, setup_.callerid_id + 1)},
      {"CallerIds/SetExtensionPolicy", LengthField(1, "0100") + VarintField(2, 5)},
      {"Credit/AddCredit", VarintField(1, setup_.callerid_id) + LengthField(2, "3")},
      {"Calls/Extend", LengthField(1, setup_.reservation_id) + LengthField(2, "1")},
      {"Calls/Settle", LengthField(1, setup_.reservation_id) + LengthField(2, "1")},
      {"Calls/Release", LengthField(1, setup_.reservation_id)},
      {"Calls/SyncReservations", LengthField(1, "node-1")},
  };
  const auto past = std::chrono::system_clock::now() - std::chrono::seconds(1);
  for (const auto& [rpc, request] : writes) {
    grpc::Status status = CallRaw(server_.channel(), Method(rpc), request, past);
    EXPECT_EQ(status.error_code(), StatusCode::DEADLINE_EXCEEDED) << rpc;
  }
  EXPECT_EQ(LastSequence(), sequence);
  // A request that did reach the server would be in the log after one more round trip
  // through the single writer; give it a moment too.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(LastSequence(), sequence);
  ExpectStillServes();
  EXPECT_EQ(LastSequence(), sequence + 1);
}

}  // namespace
}  // namespace callbackledger
