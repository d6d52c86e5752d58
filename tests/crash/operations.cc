#include "tests/crash/operations.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/calls.pb.h"
#include "callbackledger/v1/common.pb.h"
#include "clients/pbx_client.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "ledger/money.h"

namespace callbackledger::crash_test {
namespace {

constexpr auto kRpcTimeout = std::chrono::seconds(3);

}  // namespace

using ::absl::StrCat;

int64_t Micros(const std::string& money) {
  if (money.empty()) return 0;
  absl::StatusOr<int64_t> parsed = ParseMoney("money", money);
  return parsed.ok() ? *parsed : INT64_MIN;
}

std::string Money(int64_t cents) {
  std::string sign = cents < 0 ? "-" : "";
  cents = cents < 0 ? -cents : cents;
  return StrCat(sign, cents / 100, ".", cents % 100 < 10 ? "0" : "", cents % 100);
}

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kAddCallerId:
      return "AddCallerId";
    case Kind::kAddCredit:
      return "AddCredit";
    case Kind::kReserve:
      return "Reserve";
    case Kind::kExtend:
      return "Extend";
    case Kind::kSettle:
      return "Settle";
    case Kind::kRelease:
      return "Release";
  }
  return "?";
}

Client::Client(std::shared_ptr<grpc::Channel> channel)
    : caller_ids_(v1::CallerIds::NewStub(channel)),
      credit_(v1::Credit::NewStub(channel)),
      events_(v1::Events::NewStub(channel)),
      pbx_(channel, PbxOptions()) {}

PbxClientOptions Client::PbxOptions() {
  PbxClientOptions options;
  options.node_id = "crash-node";
  options.attempt_timeout = std::chrono::milliseconds(3000);
  options.max_attempts = 2;
  options.initial_backoff = std::chrono::milliseconds(20);
  return options;
}

template <typename Reply, typename Fn>
Answer Client::Unary(Fn call) {
  auto reply = std::make_unique<Reply>();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
  grpc::Status status = call(&context, reply.get());
  return Answer{status, std::move(reply)};
}

template <typename Reply>
Answer Client::Pbx(CallResult<Reply> result) {
  return Answer{result.status, std::make_unique<Reply>(std::move(result.reply))};
}

Answer Client::Send(const Operation& op) {
  switch (op.kind) {
    case Kind::kAddCallerId:
      return Unary<v1::CallerId>([&](grpc::ClientContext* context, v1::CallerId* reply) {
        return caller_ids_->AddCallerId(
            context, static_cast<const v1::AddCallerIdRequest&>(*op.request), reply);
      });
    case Kind::kAddCredit:
      return Unary<v1::Recharge>([&](grpc::ClientContext* context, v1::Recharge* reply) {
        return credit_->AddCredit(context, static_cast<const v1::AddCreditRequest&>(*op.request),
                                  reply);
      });
    case Kind::kReserve:
      return Pbx(pbx_.Reserve(static_cast<const v1::ReserveRequest&>(*op.request)));
    case Kind::kExtend:
      return Pbx(pbx_.Extend(static_cast<const v1::ExtendRequest&>(*op.request)));
    case Kind::kSettle:
      return Pbx(pbx_.Settle(static_cast<const v1::SettleRequest&>(*op.request)));
    case Kind::kRelease:
      return Pbx(pbx_.Release(static_cast<const v1::ReleaseRequest&>(*op.request)));
  }
  return Answer{grpc::Status(grpc::StatusCode::INTERNAL, "unknown kind"), nullptr};
}

grpc::Status Client::ReadEvents(uint64_t from, v1::ReadEventsResponse* page) {
  v1::ReadEventsRequest request;
  request.set_from_sequence(from);
  request.set_page_size(1000);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
  return events_->ReadEvents(&context, request, page);
}

grpc::Status Client::GetCallerId(uint64_t id, v1::CallerId* callerid) {
  v1::GetCallerIdRequest request;
  request.set_callerid_id(id);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
  return caller_ids_->GetCallerId(&context, request, callerid);
}

std::optional<uint64_t> Client::LastSequence() {
  v1::ReadEventsResponse page;
  v1::ReadEventsRequest request;
  request.set_from_sequence(UINT64_MAX / 2);
  request.set_page_size(1);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
  if (!events_->ReadEvents(&context, request, &page).ok()) return std::nullopt;
  return page.last_sequence();
}

bool OutcomeUnknown(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::ABORTED:
      return true;
    default:
      return false;
  }
}

}  // namespace callbackledger::crash_test
