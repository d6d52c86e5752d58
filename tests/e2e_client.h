// What the end-to-end tests share to talk to a running ledgerd: unary calls with a
// deadline, status assertions that name the gRPC code, the stubs of one server start
// (Client), and the requests most tests build.
#ifndef CALLBACKLEDGER_TESTS_E2E_CLIENT_H_
#define CALLBACKLEDGER_TESTS_E2E_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "callbackledger/v1/caller_ids.grpc.pb.h"
#include "callbackledger/v1/credit.grpc.pb.h"
#include "callbackledger/v1/events.grpc.pb.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/server_harness.h"

namespace callbackledger {
namespace e2e {

constexpr std::chrono::seconds kRpcTimeout(5);
constexpr uint64_t kNoSequence = ~uint64_t{0};

// Now + kRpcTimeout.
std::chrono::system_clock::time_point RpcDeadline();

// Calls a unary RPC of a generated stub with a deadline.
template <typename Stub, typename Request, typename Response>
grpc::Status Call(Stub* stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                  const Request& request, Response* response) {
  grpc::ClientContext context;
  context.set_deadline(RpcDeadline());
  return (stub->*method)(&context, request, response);
}

// "CODE: message".
std::string Describe(const grpc::Status& status);

::testing::AssertionResult IsOk(const grpc::Status& status);
::testing::AssertionResult IsOk(const absl::Status& status);
::testing::AssertionResult HasCode(const grpc::Status& status, grpc::StatusCode code);

// The stubs of one server start.
class Client {
 public:
  explicit Client(const LedgerServer& server);

  grpc::Status Add(const v1::AddCallerIdRequest& request, v1::CallerId* reply);
  grpc::Status Update(const v1::UpdateCallerIdRequest& request, v1::CallerId* reply);
  grpc::Status Remove(const v1::RemoveCallerIdsRequest& request,
                      v1::RemoveCallerIdsResponse* reply);
  grpc::Status Get(uint64_t id, v1::CallerId* reply);
  grpc::Status List(const v1::ListCallerIdsRequest& request, v1::ListCallerIdsResponse* reply);
  grpc::Status SetPolicy(const v1::SetExtensionPolicyRequest& request, v1::ExtensionPolicy* reply);
  grpc::Status Usage(const std::string& extension, v1::LicenseUsage* reply);
  grpc::Status AddCredit(const v1::AddCreditRequest& request, v1::Recharge* reply);
  // ListRecharges, one page of up to 1,000.
  grpc::Status Recharges(uint64_t id, v1::ListRechargesResponse* reply);
  // ReadEvents from `from`, one page of up to 1,000.
  grpc::Status ReadEvents(uint64_t from, v1::ReadEventsResponse* reply);

  // ReadEvents' last_sequence, or kNoSequence (and a test failure) when the call fails.
  uint64_t LastSequence();

 private:
  std::unique_ptr<v1::CallerIds::Stub> caller_ids_;
  std::unique_ptr<v1::Credit::Stub> credit_;
  std::unique_ptr<v1::Events::Stub> events_;
};

// The message's deterministic serialization, to compare answers byte for byte.
std::string Serialize(const google::protobuf::Message& message);

// Requests.
v1::AddCallerIdRequest NewCallerId(const std::string& extension, const std::string& number,
                                   const std::string& initial_credit = "");
v1::AddCallerIdRequest Disabled(v1::AddCallerIdRequest request);
v1::AddCreditRequest NewCredit(uint64_t id, const std::string& amount,
                               const std::string& request_id = "");
v1::UpdateCallerIdRequest NewUpdate(uint64_t id);

}  // namespace e2e
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_TESTS_E2E_CLIENT_H_
