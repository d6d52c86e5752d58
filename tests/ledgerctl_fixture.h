// What the ledgerctl tests share: a started ledgerd with stubs, ledgerctl pointed at it,
// and helpers to seed the ledger and read files back. Every wait is bounded; the server
// listens on 127.0.0.1 only.
#ifndef CALLBACKLEDGER_TESTS_LEDGERCTL_FIXTURE_H_
#define CALLBACKLEDGER_TESTS_LEDGERCTL_FIXTURE_H_

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "callbackledger/v1/calls.grpc.pb.h"
#include "callbackledger/v1/reports.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/server_harness.h"

#ifndef LEDGERCTL_READBACK_SCRIPT
#error "LEDGERCTL_READBACK_SCRIPT must name tests/ledgerctl_test.py"
#endif

namespace callbackledger::ledgerctl_test {

using e2e::LedgerServer;
using e2e::ProcessResult;

inline constexpr char kExtension[] = "0003*005";
inline constexpr char kTrickyOrderNo[] = "ORD, \"A\" – ünïcode";
// Debian's Python, which has python3-openpyxl (the python3 on PATH may not).
inline constexpr char kPython[] = "/usr/bin/python3";

inline std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(5);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

inline std::string Json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &json, options).ok());
  return json;
}

// A started server with stubs, and ledgerctl pointed at it.
class LedgerctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start({"--license_max_active_callerids=5"}).ok());
    caller_ids_ = server_.caller_ids();
    credit_ = server_.credit();
    events_ = server_.events();
  }

  // ledgerctl --server ADDRESS args...
  ProcessResult Ctl(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--server", server_.address()};
    all.insert(all.end(), args.begin(), args.end());
    return e2e::RunLedgerctl(all);
  }

  v1::CallerId Add(const std::string& extension, const std::string& number,
                   const std::string& credit = "10.50", const std::string& order_no = "",
                   v1::CallerId::Status status = v1::CallerId::ENABLED, bool unlimited = false) {
    v1::AddCallerIdRequest request;
    request.set_extension(extension);
    request.set_callback_number(number);
    if (!unlimited) request.set_initial_credit(credit);
    request.set_unlimited(unlimited);
    request.set_order_no(order_no);
    request.set_status(status);
    v1::CallerId reply;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::Status rpc = caller_ids_->AddCallerId(&context, request, &reply);
    EXPECT_TRUE(rpc.ok()) << rpc.error_message();
    return reply;
  }

  v1::CallerId Get(uint64_t id, grpc::Status* status = nullptr) {
    v1::GetCallerIdRequest request;
    request.set_callerid_id(id);
    v1::CallerId reply;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::Status rpc = caller_ids_->GetCallerId(&context, request, &reply);
    if (status != nullptr) *status = rpc;
    return reply;
  }

  std::vector<v1::CallerId> List(const std::string& extension) {
    v1::ListCallerIdsRequest request;
    request.set_extension(extension);
    request.set_page_size(1000);
    v1::ListCallerIdsResponse reply;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    EXPECT_TRUE(caller_ids_->ListCallerIds(&context, request, &reply).ok());
    return {reply.caller_ids().begin(), reply.caller_ids().end()};
  }

  uint64_t LastSequence() {
    v1::ReadEventsRequest request;
    request.set_from_sequence(1);
    request.set_page_size(1);
    v1::ReadEventsResponse reply;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    EXPECT_TRUE(events_->ReadEvents(&context, request, &reply).ok());
    return reply.last_sequence();
  }

  // Reserves and settles a call of `seconds` at 0.60 a minute.
  void SettledCall(const std::string& number, const std::string& reservation_id, int seconds) {
    std::unique_ptr<v1::Calls::Stub> calls = v1::Calls::NewStub(server_.channel());
    v1::ReserveRequest reserve;
    reserve.set_reservation_id(reservation_id);
    reserve.set_extension(kExtension);
    reserve.set_callback_number(number);
    reserve.set_seconds(300);
    reserve.mutable_rate()->set_price_per_minute("0.60");
    reserve.mutable_rate()->set_billing_increment_seconds(60);
    reserve.set_node_id("pbx-1");
    reserve.set_call_id(reservation_id);
    reserve.set_destination("0040213100200");
    v1::ReserveResponse reserved;
    {
      grpc::ClientContext context;
      context.set_deadline(Deadline());
      grpc::Status rpc = calls->Reserve(&context, reserve, &reserved);
      ASSERT_TRUE(rpc.ok()) << rpc.error_message();
      ASSERT_EQ(reserved.decision(), v1::ALLOWED);
    }
    v1::SettleRequest settle;
    settle.set_reservation_id(reservation_id);
    settle.set_duration_seconds(seconds);
    settle.set_node_id("pbx-1");
    v1::SettleResponse settled;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::Status rpc = calls->Settle(&context, settle, &settled);
    ASSERT_TRUE(rpc.ok()) << rpc.error_message();
  }

  // Runs the independent readers on a CSV and a workbook against the expected rows.
  void ReadBack(const std::vector<std::string>& expected_rows, const std::string& csv,
                const std::string& xlsx) {
    const std::string expected = server_.dir() + "/expected.json";
    WriteFile(expected, absl::StrCat("[", absl::StrJoin(expected_rows, ",\n"), "]"));
    ProcessResult read = e2e::RunProcess({kPython, LEDGERCTL_READBACK_SCRIPT, expected, csv, xlsx});
    EXPECT_EQ(read.exit_code, 0) << read.Describe();
    EXPECT_THAT(read.out, ::testing::HasSubstr("OK:"));
  }

  LedgerServer server_;
  std::unique_ptr<v1::CallerIds::Stub> caller_ids_;
  std::unique_ptr<v1::Credit::Stub> credit_;
  std::unique_ptr<v1::Events::Stub> events_;
};

#define EXPECT_EXIT_CODE(result, code) EXPECT_EQ((result).exit_code, (code)) << (result).Describe()

}  // namespace callbackledger::ledgerctl_test

#endif  // CALLBACKLEDGER_TESTS_LEDGERCTL_FIXTURE_H_
