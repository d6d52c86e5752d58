#include "tests/crash/load.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/calls.pb.h"
#include "callbackledger/v1/common.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "tests/crash/operations.h"

namespace callbackledger::crash_test {
namespace {

constexpr char kExt[] = "0003*005";

}  // namespace

using ::absl::StrCat;
using ::google::protobuf::Message;

void Worker::Round(int round, std::shared_ptr<grpc::Channel> channel,
                   const std::atomic<bool>& stop) {
  round_ = round;
  Client client(std::move(channel));
  if (pending_.has_value()) {
    Operation op = *pending_;
    if (!Execute(&client, op)) return;
    ++pending_resolved_;
  }
  for (int i = 0; i < kMaxOpsPerRound && !stop.load(); ++i) {
    if (!Execute(&client, Next())) return;
  }
}

bool Worker::Execute(Client* client, Operation op) {
  Answer answer = client->Send(op);
  if (!answer.status.ok()) {
    if (OutcomeUnknown(answer.status)) {
      pending_ = std::move(op);
      return false;
    }
    pending_.reset();
    const bool expected =
        answer.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
        op.kind == Kind::kAddCredit;  // a withdrawal larger than what is available
    if (!expected) {
      violations_->Add(StrCat("round ", round_, ": ", op.Describe(), " was refused: ",
                              answer.status.error_code(), " ", answer.status.error_message()));
    }
    return true;
  }
  pending_.reset();
  op.reply = std::shared_ptr<const Message>(std::move(answer.reply));
  op.round = round_;
  Apply(op);
  return true;
}

void Worker::Apply(const Operation& op) {
  bool wrote = true;
  switch (op.kind) {
    case Kind::kAddCallerId: {
      const auto& request = static_cast<const v1::AddCallerIdRequest&>(*op.request);
      const auto& reply = static_cast<const v1::CallerId&>(*op.reply);
      callerids_.push_back({reply.id(), request.callback_number()});
      break;
    }
    case Kind::kAddCredit:
      break;
    case Kind::kReserve: {
      const auto& reply = static_cast<const v1::ReserveResponse&>(*op.reply);
      wrote = reply.decision() == v1::ALLOWED;  // a denial writes nothing
      if (wrote) {
        const auto& request = static_cast<const v1::ReserveRequest&>(*op.request);
        open_.push_back(
            {request.reservation_id(), request.has_rate(), Micros(reply.granted_amount())});
      }
      break;
    }
    case Kind::kExtend: {
      const auto& reply = static_cast<const v1::ExtendResponse&>(*op.reply);
      wrote = reply.decision() == v1::ALLOWED;
      const auto& request = static_cast<const v1::ExtendRequest&>(*op.request);
      for (Open& open : open_) {
        if (open.id == request.reservation_id()) open.held = Micros(reply.held_amount());
      }
      break;
    }
    case Kind::kSettle:
    case Kind::kRelease: {
      const std::string& id =
          op.kind == Kind::kSettle
              ? static_cast<const v1::SettleRequest&>(*op.request).reservation_id()
              : static_cast<const v1::ReleaseRequest&>(*op.request).reservation_id();
      open_.erase(std::remove_if(open_.begin(), open_.end(),
                                 [&](const Open& open) { return open.id == id; }),
                  open_.end());
      break;
    }
  }
  if (wrote) journal_->Add(op);
}

int64_t Worker::Draw(int64_t min, int64_t max) {
  return min + static_cast<int64_t>(random_() % static_cast<uint64_t>(max - min + 1));
}

std::string Worker::NewKey() { return StrCat("t", index_, "-", next_key_++); }

template <typename Request>
Operation Worker::Make(Kind kind, std::shared_ptr<Request> request) {
  return Operation{kind, std::move(request), nullptr, 0};
}

Operation Worker::Next() {
  int choice = static_cast<int>(Draw(0, 99));
  if (callerids_.empty() || (choice < 4 && callerids_.size() < kMaxCallerIdsPerThread)) {
    auto request = std::make_shared<v1::AddCallerIdRequest>();
    request->set_extension(kExt);
    request->set_callback_number(StrCat("+4073", index_, 100000 + next_key_));
    request->set_initial_credit(Money(Draw(2000, 10000)));
    request->set_order_no(StrCat("order-", next_key_));
    request->set_request_id(NewKey());
    return Make(Kind::kAddCallerId, request);
  }
  const auto& [callerid_id, number] = callerids_[random_() % callerids_.size()];
  if (choice >= 50 && open_.empty()) choice = 30;
  if (choice < 22 || (choice < 50 && open_.size() >= kMaxOpenPerThread)) {
    auto request = std::make_shared<v1::AddCreditRequest>();
    if (Draw(0, 9) == 0) {
      request->set_extension(kExt);  // by number rather than by id
      request->set_callback_number(number);
    } else {
      request->set_callerid_id(callerid_id);
    }
    request->set_amount(Draw(0, 7) == 0 ? Money(-Draw(1, 300)) : Money(Draw(1, 3000)));
    request->set_description("crash test");
    request->set_request_id(NewKey());
    return Make(Kind::kAddCredit, request);
  }
  if (choice < 50) {
    auto request = std::make_shared<v1::ReserveRequest>();
    request->set_reservation_id(NewKey());
    request->set_extension(kExt);
    request->set_callback_number(number);
    if (Draw(0, 2) == 0) {
      request->mutable_rate()->set_price_per_minute("0.60");
      request->mutable_rate()->set_billing_increment_seconds(60);
      request->set_seconds(static_cast<uint64_t>(Draw(1, 5) * 60));
    } else {
      request->set_amount(Money(Draw(50, 500)));
    }
    request->set_ttl_seconds(86400);  // nothing expires during the test
    request->set_call_id(StrCat("call-", next_key_));
    request->set_destination("0040213100200");
    return Make(Kind::kReserve, request);
  }
  const Open& open = open_[random_() % open_.size()];
  if (choice < 65) {
    auto request = std::make_shared<v1::ExtendRequest>();
    request->set_reservation_id(open.id);
    if (open.rated) {
      request->set_seconds(60);
    } else {
      request->set_amount(Money(Draw(10, 200)));
    }
    request->set_request_id(NewKey());
    return Make(Kind::kExtend, request);
  }
  if (choice < 88) {
    auto request = std::make_shared<v1::SettleRequest>();
    request->set_reservation_id(open.id);
    if (open.rated && Draw(0, 1) == 0) {
      request->set_duration_seconds(static_cast<uint64_t>(Draw(0, 400)));
    } else {
      // Mostly within the hold; sometimes above it (then what is not available is
      // reported uncollected).
      int64_t held_cents = std::max<int64_t>(1, open.held / 10000);
      request->set_cost(Money(Draw(0, held_cents + held_cents / 4)));
    }
    return Make(Kind::kSettle, request);
  }
  auto request = std::make_shared<v1::ReleaseRequest>();
  request->set_reservation_id(open.id);
  return Make(Kind::kRelease, request);
}

}  // namespace callbackledger::crash_test
