#include "tests/e2e_client.h"

#include "absl/strings/str_cat.h"
#include "clients/channel.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace callbackledger {
namespace e2e {

std::chrono::system_clock::time_point RpcDeadline() {
  return std::chrono::system_clock::now() + kRpcTimeout;
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(StatusCodeName(status.error_code()), ": ", status.error_message());
}

::testing::AssertionResult IsOk(const grpc::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "RPC failed with " << Describe(status);
}

::testing::AssertionResult HasCode(const grpc::Status& status, grpc::StatusCode code) {
  if (status.error_code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected " << StatusCodeName(code) << ", got "
                                       << (status.ok() ? "OK" : Describe(status));
}

::testing::AssertionResult IsOk(const absl::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.ToString();
}

Client::Client(const LedgerServer& server)
    : caller_ids_(server.caller_ids()), credit_(server.credit()), events_(server.events()) {}

grpc::Status Client::Add(const v1::AddCallerIdRequest& request, v1::CallerId* reply) {
  return Call(caller_ids_.get(), &v1::CallerIds::Stub::AddCallerId, request, reply);
}

grpc::Status Client::Update(const v1::UpdateCallerIdRequest& request, v1::CallerId* reply) {
  return Call(caller_ids_.get(), &v1::CallerIds::Stub::UpdateCallerId, request, reply);
}

grpc::Status Client::Remove(const v1::RemoveCallerIdsRequest& request,
                            v1::RemoveCallerIdsResponse* reply) {
  return Call(caller_ids_.get(), &v1::CallerIds::Stub::RemoveCallerIds, request, reply);
}

grpc::Status Client::Get(uint64_t id, v1::CallerId* reply) {
  v1::GetCallerIdRequest request;
  request.set_callerid_id(id);
  return Call(caller_ids_.get(), &v1::CallerIds::Stub::GetCallerId, request, reply);
}

grpc::Status Client::List(const v1::ListCallerIdsRequest& request,
                          v1::ListCallerIdsResponse* reply) {
  return Call(caller_ids_.get(), &v1::CallerIds::Stub::ListCallerIds, request, reply);
}

grpc::Status Client::SetPolicy(const v1::SetExtensionPolicyRequest& request,
                               v1::ExtensionPolicy* reply) {
  return Call(caller_ids_.get(), &v1::CallerIds::Stub::SetExtensionPolicy, request, reply);
}

grpc::Status Client::Usage(const std::string& extension, v1::LicenseUsage* reply) {
  v1::GetLicenseUsageRequest request;
  request.set_extension(extension);
  return Call(caller_ids_.get(), &v1::CallerIds::Stub::GetLicenseUsage, request, reply);
}

grpc::Status Client::AddCredit(const v1::AddCreditRequest& request, v1::Recharge* reply) {
  return Call(credit_.get(), &v1::Credit::Stub::AddCredit, request, reply);
}

grpc::Status Client::Recharges(uint64_t id, v1::ListRechargesResponse* reply) {
  v1::ListRechargesRequest request;
  request.set_callerid_id(id);
  request.set_page_size(1000);
  return Call(credit_.get(), &v1::Credit::Stub::ListRecharges, request, reply);
}

grpc::Status Client::ReadEvents(uint64_t from, v1::ReadEventsResponse* reply) {
  v1::ReadEventsRequest request;
  request.set_from_sequence(from);
  request.set_page_size(1000);
  return Call(events_.get(), &v1::Events::Stub::ReadEvents, request, reply);
}

uint64_t Client::LastSequence() {
  v1::ReadEventsResponse reply;
  grpc::Status status = ReadEvents(1, &reply);
  EXPECT_TRUE(IsOk(status)) << "ReadEvents";
  return status.ok() ? reply.last_sequence() : kNoSequence;
}

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

v1::AddCallerIdRequest NewCallerId(const std::string& extension, const std::string& number,
                                   const std::string& initial_credit) {
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
                               const std::string& request_id) {
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

}  // namespace e2e
}  // namespace callbackledger
