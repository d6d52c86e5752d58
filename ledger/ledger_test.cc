// Tests of the ledger's operator commands (SPEC section 2) through the public Ledger
// facade that cut across them: idempotency of request_ids, that every rejected call writes
// nothing, and how money is shown. A real RocksDB store in a fresh temporary directory, a
// fake clock, small limits. CallerIDs and credit have files of their own.
#include "ledger/ledger.h"

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "callbackledger/v1/events.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/clock.h"
#include "ledger/store.h"
#include "ledger/testing/ledger_test_base.h"
#include "ledger/testing/messages.h"
#include "projections/rows.h"

namespace callbackledger {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using testing::EqualsProto;
using testing::ExpectInvalid;
using testing::kExt;
using testing::kOtherExt;
using testing::LedgerTest;
using testing::Message;

// ---------------------------------------------------------------------------------------
// Idempotency

TEST_F(LedgerTest, AddCallerIdRetryReturnsTheFirstAnswer) {
  v1::AddCallerIdRequest request = AddRequest("5550001", "7.5");
  request.set_pin("1234");
  request.set_request_id("req-add-1");
  absl::StatusOr<v1::CallerId> first = Add(request);
  ASSERT_TRUE(first.ok()) << first.status();
  uint64_t after_first = ledger_->last_sequence();
  clock_.AdvanceMicros(1000000);

  absl::StatusOr<v1::CallerId> retry = Add(request);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_THAT(*retry, EqualsProto(*first));
  EXPECT_EQ(ledger_->last_sequence(), after_first);
  EXPECT_EQ(Usage().total_callerids(), 1u);

  // The same key with other arguments is a reuse, not a retry.
  for (auto change : std::vector<std::function<void(v1::AddCallerIdRequest*)>>{
           [](v1::AddCallerIdRequest* r) { r->set_callback_number("5550002"); },
           [](v1::AddCallerIdRequest* r) { r->set_pin("4321"); },
           [](v1::AddCallerIdRequest* r) { r->clear_pin(); },
           [](v1::AddCallerIdRequest* r) { r->set_initial_credit("7.6"); },
           [](v1::AddCallerIdRequest* r) { r->set_order_no("other"); },
           [](v1::AddCallerIdRequest* r) { r->set_status(v1::CallerId::DISABLED); },
           [](v1::AddCallerIdRequest* r) { r->set_extension(kOtherExt); }}) {
    v1::AddCallerIdRequest other = request;
    change(&other);
    absl::StatusOr<v1::CallerId> reused = Add(other);
    EXPECT_EQ(reused.status().code(), absl::StatusCode::kAlreadyExists) << reused.status();
    EXPECT_THAT(Message(reused.status()), Not(HasSubstr("1234")));
  }
  EXPECT_EQ(ledger_->last_sequence(), after_first);

  // "7.50" is the same amount as "7.5".
  v1::AddCallerIdRequest same_amount = request;
  same_amount.set_initial_credit("7.50");
  absl::StatusOr<v1::CallerId> same = Add(same_amount);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->id(), first->id());

  // Without a request_id it is a new request: the number is taken.
  request.clear_request_id();
  EXPECT_EQ(Add(request).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ledger_->last_sequence(), after_first);
}

TEST_F(LedgerTest, AddCallerIdRetryAtTheLicenseLimitReturnsTheFirstAnswer) {
  ASSERT_NO_FATAL_FAILURE(ReopenWithLicense(1));
  v1::AddCallerIdRequest request = AddRequest("5550001");
  request.set_request_id("only-one");
  absl::StatusOr<v1::CallerId> first = Add(request);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<v1::CallerId> retry = Add(request);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->id(), first->id());
  EXPECT_EQ(ledger_->last_sequence(), 1u);
}

TEST_F(LedgerTest, AddCreditRetryAppliesTheCreditOnce) {
  uint64_t a = AddOk("5550001", "10");
  v1::AddCreditRequest request = CreditRequest(a, "2.5");
  request.set_request_id("pay-1");
  request.set_order_no("ORD-7");
  absl::StatusOr<v1::Recharge> first = Credit(request);
  ASSERT_TRUE(first.ok()) << first.status();
  uint64_t after_first = ledger_->last_sequence();
  EXPECT_EQ(first->request_id(), "pay-1");

  absl::StatusOr<v1::Recharge> retry = Credit(request);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->id(), first->id());
  EXPECT_THAT(*retry, EqualsProto(*first));
  EXPECT_EQ(ledger_->last_sequence(), after_first);
  EXPECT_EQ(Get(a)->total_credit(), "12.50");
  EXPECT_EQ(Recharges(a)->recharges_size(), 2);

  for (auto change : std::vector<std::function<void(v1::AddCreditRequest*)>>{
           [](v1::AddCreditRequest* r) { r->set_amount("2.51"); },
           [](v1::AddCreditRequest* r) { r->set_order_no("ORD-8"); },
           [](v1::AddCreditRequest* r) { r->set_description("other"); },
           [](v1::AddCreditRequest* r) { r->set_callerid_id(r->callerid_id() + 1); }}) {
    v1::AddCreditRequest other = request;
    change(&other);
    EXPECT_EQ(Credit(other).status().code(), absl::StatusCode::kAlreadyExists);
  }
  EXPECT_EQ(ledger_->last_sequence(), after_first);
  EXPECT_EQ(Get(a)->total_credit(), "12.50");

  // A request that was refused wrote nothing, its key included: it may be used again.
  v1::AddCreditRequest refused = CreditRequest(a, "-100");
  refused.set_request_id("pay-2");
  EXPECT_EQ(Credit(refused).status().code(), absl::StatusCode::kFailedPrecondition);
  refused.set_amount("1");
  EXPECT_TRUE(Credit(refused).ok());
  EXPECT_EQ(Get(a)->total_credit(), "13.50");
}

TEST_F(LedgerTest, RequestIdsAreScopedByRpc) {
  v1::AddCallerIdRequest add = AddRequest("5550001", "1");
  add.set_request_id("shared-key");
  absl::StatusOr<v1::CallerId> added = Add(add);
  ASSERT_TRUE(added.ok());
  v1::AddCreditRequest credit = CreditRequest(added->id(), "1");
  credit.set_request_id("shared-key");
  absl::StatusOr<v1::Recharge> recharge = Credit(credit);
  ASSERT_TRUE(recharge.ok()) << recharge.status();
  EXPECT_EQ(Get(added->id())->total_credit(), "2.00");
}

TEST_F(LedgerTest, RequestIdMustBeWellFormed) {
  v1::AddCallerIdRequest add = AddRequest("5550001");
  add.set_request_id(std::string(129, 'r'));
  ExpectInvalid(Add(add).status(), "request_id");
  add.set_request_id("tab\there");
  ExpectInvalid(Add(add).status(), "request_id");
  add.set_request_id(std::string(128, 'r'));
  uint64_t a = AddOk(add);
  v1::AddCreditRequest credit = CreditRequest(a, "1");
  credit.set_request_id("caf\xc3\xa9");
  ExpectInvalid(Credit(credit).status(), "request_id");
  EXPECT_EQ(ledger_->last_sequence(), 1u);
}

TEST_F(LedgerTest, RequestIdsSurviveARestart) {
  v1::AddCallerIdRequest add = AddRequest("5550001", "10");
  add.set_pin("24682468");
  add.set_request_id("add-r");
  absl::StatusOr<v1::CallerId> added = Add(add);
  ASSERT_TRUE(added.ok()) << added.status();
  v1::AddCreditRequest credit = CreditRequest(added->id(), "5");
  credit.set_request_id("credit-r");
  absl::StatusOr<v1::Recharge> recharge = Credit(credit);
  ASSERT_TRUE(recharge.ok()) << recharge.status();
  uint64_t last = ledger_->last_sequence();

  clock_.AdvanceMicros(3600000000);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  absl::StatusOr<v1::CallerId> added_again = Add(add);
  ASSERT_TRUE(added_again.ok()) << added_again.status();
  EXPECT_THAT(*added_again, EqualsProto(*added));
  absl::StatusOr<v1::Recharge> recharge_again = Credit(credit);
  ASSERT_TRUE(recharge_again.ok()) << recharge_again.status();
  EXPECT_THAT(*recharge_again, EqualsProto(*recharge));
  EXPECT_EQ(ledger_->last_sequence(), last);
  EXPECT_EQ(Get(added->id())->total_credit(), "15.00");

  add.set_callback_number("5550002");
  EXPECT_EQ(Add(add).status().code(), absl::StatusCode::kAlreadyExists);
  credit.set_amount("6");
  EXPECT_EQ(Credit(credit).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ledger_->last_sequence(), last);

  // And after a rebuild of the projections from the log.
  options_.rebuild_projections = true;
  ASSERT_NO_FATAL_FAILURE(Reopen());
  credit.set_amount("5");
  recharge_again = Credit(credit);
  ASSERT_TRUE(recharge_again.ok()) << recharge_again.status();
  EXPECT_EQ(recharge_again->id(), recharge->id());
  EXPECT_EQ(ledger_->last_sequence(), last);
}

// Idempotency keys are read from their rows when a request_id comes, not at start: a damaged
// row refuses the one request that needs it, with DATA_LOSS naming the key, and writes
// nothing; the ledger starts and serves every other request.
TEST_F(LedgerTest, AnUndecodableIdempotencyRowRefusesOnlyTheRequestThatReadsIt) {
  uint64_t id = AddOk("5550001", "10");
  v1::AddCreditRequest credit = CreditRequest(id, "5");
  credit.set_request_id("credit-r");
  ASSERT_TRUE(Credit(credit).ok());
  ledger_.reset();
  {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStore();
    ASSERT_TRUE(store.ok()) << store.status();
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(
        batch.Put((*store)->projection(Cf::kIdempotency), "AddCredit/credit-r", "\xff\xff").ok());
    ASSERT_TRUE((*store)->WriteSynced(&batch).ok());
  }
  ASSERT_NO_FATAL_FAILURE(Open());
  const uint64_t last = ledger_->last_sequence();

  absl::StatusOr<v1::Recharge> retried = Credit(credit);
  EXPECT_EQ(retried.status().code(), absl::StatusCode::kDataLoss) << retried.status();
  EXPECT_EQ(Message(retried.status()),
            "the idempotency row of key \"AddCredit/credit-r\" cannot be decoded");
  EXPECT_EQ(ledger_->last_sequence(), last);
  EXPECT_EQ(Get(id)->total_credit(), "15.00");

  credit.set_request_id("credit-s");
  ASSERT_TRUE(Credit(credit).ok());
  EXPECT_EQ(Get(id)->total_credit(), "20.00");
}

// ---------------------------------------------------------------------------------------
// Every rejected call leaves the log unchanged.

TEST_F(LedgerTest, EveryRejectedCallWritesNothing) {
  ASSERT_NO_FATAL_FAILURE(ReopenWithLicense(3));
  uint64_t limited = AddOk("5550001", "5");
  v1::AddCallerIdRequest unlimited_request = AddRequest("5550002");
  unlimited_request.set_unlimited(true);
  uint64_t unlimited = AddOk(unlimited_request);
  v1::AddCallerIdRequest disabled_request = AddRequest("5550003");
  disabled_request.set_status(v1::CallerId::DISABLED);
  uint64_t disabled = AddOk(disabled_request);
  AddOk("5550004");  // the license is full now
  v1::AddCallerIdRequest keyed = AddRequest("5550005");
  keyed.set_status(v1::CallerId::DISABLED);
  keyed.set_request_id("k1");
  AddOk(keyed);
  ASSERT_TRUE(SetPolicy(kOtherExt, 1).ok());
  const std::string before_snapshot = Snapshot();

  using Code = absl::StatusCode;
  auto add = [this](std::function<void(v1::AddCallerIdRequest*)> change) {
    return [this, change]() {
      v1::AddCallerIdRequest request = AddRequest("5559999", "1");
      request.set_status(v1::CallerId::DISABLED);
      change(&request);
      return Add(request).status();
    };
  };
  auto update = [this](uint64_t id, std::function<void(v1::UpdateCallerIdRequest*)> change) {
    return [this, id, change]() {
      v1::UpdateCallerIdRequest request;
      request.set_callerid_id(id);
      change(&request);
      return Update(request).status();
    };
  };
  auto credit =
      [this](
          uint64_t id, std::string amount,
          std::function<void(v1::AddCreditRequest*)> change = [](v1::AddCreditRequest*) {}) {
        return [this, id, amount, change]() {
          v1::AddCreditRequest request = CreditRequest(id, amount);
          change(&request);
          return Credit(request).status();
        };
      };
  auto remove = [this](std::vector<uint64_t> ids) {
    return [this, ids]() { return Remove(ids).status(); };
  };
  struct BadCall {
    std::string name;
    std::function<absl::Status()> call;
    Code code;
  };
  const std::vector<BadCall> cases = {
      {"add: short number", add([](auto* r) { r->set_callback_number("12"); }),
       Code::kInvalidArgument},
      {"add: long number", add([](auto* r) { r->set_callback_number(std::string(21, '5')); }),
       Code::kInvalidArgument},
      {"add: letters", add([](auto* r) { r->set_callback_number("55a55"); }),
       Code::kInvalidArgument},
      {"add: empty number", add([](auto* r) { r->set_callback_number(""); }),
       Code::kInvalidArgument},
      {"add: taken number", add([](auto* r) { r->set_callback_number("5550001"); }),
       Code::kAlreadyExists},
      {"add: short pin", add([](auto* r) { r->set_pin("123"); }), Code::kInvalidArgument},
      {"add: long pin", add([](auto* r) { r->set_pin(std::string(13, '1')); }),
       Code::kInvalidArgument},
      {"add: non-numeric pin", add([](auto* r) { r->set_pin("abcd"); }), Code::kInvalidArgument},
      {"add: 7 decimals", add([](auto* r) { r->set_initial_credit("0.0000001"); }),
       Code::kInvalidArgument},
      {"add: out of range", add([](auto* r) { r->set_initial_credit("9223372036855"); }),
       Code::kInvalidArgument},
      {"add: exponent", add([](auto* r) { r->set_initial_credit("1e2"); }), Code::kInvalidArgument},
      {"add: negative credit", add([](auto* r) { r->set_initial_credit("-1"); }),
       Code::kInvalidArgument},
      {"add: credit and unlimited", add([](auto* r) { r->set_unlimited(true); }),
       Code::kInvalidArgument},
      {"add: empty extension", add([](auto* r) { r->set_extension(""); }), Code::kInvalidArgument},
      {"add: long extension", add([](auto* r) { r->set_extension(std::string(33, '1')); }),
       Code::kInvalidArgument},
      {"add: long order_no", add([](auto* r) { r->set_order_no(std::string(65, 'o')); }),
       Code::kInvalidArgument},
      {"add: bad status", add([](auto* r) { r->set_status(static_cast<v1::CallerId::Status>(3)); }),
       Code::kInvalidArgument},
      {"add: long request_id", add([](auto* r) { r->set_request_id(std::string(129, 'r')); }),
       Code::kInvalidArgument},
      {"add: reused request_id", add([](auto* r) { r->set_request_id("k1"); }),
       Code::kAlreadyExists},
      {"add: license", add([](auto* r) { r->set_status(v1::CallerId::ENABLED); }),
       Code::kResourceExhausted},
      {"update: unknown id", update(99, [](auto* r) { r->set_order_no("x"); }), Code::kNotFound},
      {"update: no id", update(0, [](auto* r) { r->set_order_no("x"); }), Code::kInvalidArgument},
      {"update: nothing", update(limited, [](auto*) {}), Code::kInvalidArgument},
      {"update: bad number", update(limited, [](auto* r) { r->set_callback_number("1"); }),
       Code::kInvalidArgument},
      {"update: taken number", update(limited, [](auto* r) { r->set_callback_number("5550002"); }),
       Code::kAlreadyExists},
      {"update: bad pin", update(limited, [](auto* r) { r->set_pin("12x4"); }),
       Code::kInvalidArgument},
      {"update: unspecified status",
       update(limited, [](auto* r) { r->set_status(v1::CallerId::STATUS_UNSPECIFIED); }),
       Code::kInvalidArgument},
      {"update: long order_no",
       update(limited, [](auto* r) { r->set_order_no(std::string(65, 'o')); }),
       Code::kInvalidArgument},
      {"update: enable over license",
       update(disabled, [](auto* r) { r->set_status(v1::CallerId::ENABLED); }),
       Code::kResourceExhausted},
      {"update: id and alias differ",
       update(limited,
              [unlimited](auto* r) {
                r->set_id(unlimited);
                r->set_order_no("x");
              }),
       Code::kInvalidArgument},
      {"remove: unknown", remove({limited, 99}), Code::kNotFound},
      {"remove: none", remove({}), Code::kInvalidArgument},
      {"remove: zero", remove({0}), Code::kInvalidArgument},
      {"credit: zero", credit(limited, "0"), Code::kInvalidArgument},
      {"credit: empty", credit(limited, ""), Code::kInvalidArgument},
      {"credit: 7 decimals", credit(limited, "1.0000001"), Code::kInvalidArgument},
      {"credit: out of range", credit(limited, "9223372036855"), Code::kInvalidArgument},
      {"credit: out of range negative", credit(limited, "-9223372036855"), Code::kInvalidArgument},
      {"credit: exponent", credit(limited, "1e1"), Code::kInvalidArgument},
      {"credit: text", credit(limited, "ten"), Code::kInvalidArgument},
      {"credit: below zero", credit(limited, "-5.01"), Code::kFailedPrecondition},
      {"credit: unknown id", credit(99, "1"), Code::kNotFound},
      {"credit: unknown number",
       credit(0, "1",
              [](auto* r) {
                r->set_extension(kExt);
                r->set_callback_number("5558888");
              }),
       Code::kNotFound},
      {"credit: long description",
       credit(unlimited, "1", [](auto* r) { r->set_description(std::string(257, 'd')); }),
       Code::kInvalidArgument},
      {"credit: long order_no",
       credit(unlimited, "1", [](auto* r) { r->set_order_no(std::string(65, 'o')); }),
       Code::kInvalidArgument},
      {"credit: control character",
       credit(unlimited, "1", [](auto* r) { r->set_description("a\x07"); }),
       Code::kInvalidArgument},
  };
  for (const BadCall& bad : cases) {
    SCOPED_TRACE(bad.name);
    uint64_t before = ledger_->last_sequence();
    absl::Status status = bad.call();
    EXPECT_EQ(status.code(), bad.code) << status;
    EXPECT_EQ(ledger_->last_sequence(), before);
  }
  EXPECT_EQ(Snapshot(), before_snapshot);

  // And still after a restart: nothing of the refusals reached the log.
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Snapshot(), before_snapshot);
}

TEST_F(LedgerTest, WritesAfterShutdownAreUnavailable) {
  AddOk("5550001");
  ledger_->Shutdown();
  EXPECT_FALSE(ledger_->WriteHealth().ok());
  EXPECT_EQ(Add(AddRequest("5550002")).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Credit(1, "1").status().code(), absl::StatusCode::kUnavailable);
  ledger_->Shutdown();  // idempotent
}

// ---------------------------------------------------------------------------------------
// Money formatting

TEST_F(LedgerTest, MoneyIsShownWithTheConfiguredDecimalsAndNeverRounded) {
  uint64_t a = AddOk("5550001", "10.5");
  EXPECT_EQ(Get(a)->total_credit(), "10.50");
  absl::StatusOr<v1::Recharge> recharge = Credit(a, "0.0125");
  ASSERT_TRUE(recharge.ok());
  EXPECT_EQ(recharge->amount(), "0.0125");
  EXPECT_EQ(recharge->credit_left(), "10.5125");
  recharge = Credit(a, "-0.000001");
  ASSERT_TRUE(recharge.ok());
  EXPECT_EQ(recharge->amount(), "-0.000001");
  EXPECT_EQ(recharge->credit_left(), "10.512499");
  EXPECT_EQ(Get(a)->available_credit(), "10.512499");
  recharge = Credit(a, "-0.512499");
  ASSERT_TRUE(recharge.ok());
  EXPECT_EQ(recharge->credit_left(), "10.00");

  options_.decimals = 0;
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Get(a)->total_credit(), "10");
  recharge = Credit(a, "0.5");
  ASSERT_TRUE(recharge.ok());
  EXPECT_EQ(recharge->amount(), "0.5");
  EXPECT_EQ(recharge->credit_left(), "10.5");

  options_.decimals = 3;
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Get(a)->total_credit(), "10.500");
  absl::StatusOr<v1::ListRechargesResponse> history = Recharges(a);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->recharges_size(), 5);
  EXPECT_EQ(history->recharges(0).amount(), "0.500");
  EXPECT_EQ(history->recharges(2).amount(), "-0.000001");
  EXPECT_EQ(history->recharges(3).amount(), "0.0125");
  EXPECT_EQ(history->recharges(4).amount(), "10.500");
}

}  // namespace
}  // namespace callbackledger
