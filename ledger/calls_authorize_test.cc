// Authorize (SPEC section 3): who may call, PIN checks and lockout, and how long a call
// the credit allows.
#include <cstdint>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/testing/calls_test_base.h"

namespace callbackledger {
namespace {

using ::testing::AnyOf;

// =======================================================================================
// Authorize

TEST_F(CallsTest, AuthorizeUnknownNumberOrOtherExtensionIsNotAuthorized) {
  AddCaller("0791234567", "10", "", kOtherExt);
  const uint64_t before = ledger_->last_sequence();

  absl::StatusOr<v1::AuthorizeResponse> unknown = Authorize("0799999999");
  ASSERT_TRUE(unknown.ok()) << unknown.status();  // a denial is an OK answer
  EXPECT_EQ(unknown->decision(), v1::NOT_AUTHORIZED);
  EXPECT_EQ(unknown->callerid_id(), 0u);

  absl::StatusOr<v1::AuthorizeResponse> other = Authorize("0791234567");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->decision(), v1::NOT_AUTHORIZED);
  EXPECT_EQ(other->callerid_id(), 0u);
  EXPECT_EQ(ledger_->last_sequence(), before);

  absl::StatusOr<v1::AuthorizeResponse> own = Authorize("0791234567", "", nullptr, kOtherExt);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->decision(), v1::ALLOWED);
}

TEST_F(CallsTest, AuthorizeDisabledCallerId) {
  uint64_t disabled = AddCaller("0791234567", "10", kPin, kExt, v1::CallerId::DISABLED);
  uint64_t enabled = AddCaller("0791234568", "10");
  ASSERT_TRUE(SetStatus(enabled, v1::CallerId::DISABLED).ok());
  const uint64_t before = ledger_->last_sequence();

  absl::StatusOr<v1::AuthorizeResponse> reply = Authorize("0791234567", kPin);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->decision(), v1::DISABLED);
  EXPECT_EQ(reply->callerid_id(), disabled);
  // A wrong PIN on a disabled CallerID is not counted.
  EXPECT_EQ(Decision("0791234567", kWrongPin), v1::DISABLED);
  EXPECT_EQ(Decision("0791234568"), v1::DISABLED);
  EXPECT_EQ(ledger_->last_sequence(), before);

  ASSERT_TRUE(SetStatus(enabled, v1::CallerId::ENABLED).ok());
  EXPECT_EQ(Decision("0791234568"), v1::ALLOWED);
}

TEST_F(CallsTest, AuthorizePinRequiredWrongPinAndRightPin) {
  uint64_t id = AddCaller("0791234567", "10", kPin);
  absl::StatusOr<v1::AuthorizeResponse> none = Authorize("0791234567");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->decision(), v1::PIN_REQUIRED);
  EXPECT_EQ(none->callerid_id(), id);

  absl::StatusOr<v1::AuthorizeResponse> wrong = Authorize("0791234567", kWrongPin);
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  EXPECT_EQ(wrong->decision(), v1::WRONG_PIN);
  EXPECT_EQ(wrong->callerid_id(), id);

  absl::StatusOr<v1::AuthorizeResponse> right = Authorize("0791234567", kPin);
  ASSERT_TRUE(right.ok()) << right.status();
  EXPECT_EQ(right->decision(), v1::ALLOWED);
  EXPECT_EQ(right->callerid_id(), id);
  EXPECT_EQ(right->available_credit(), "10.00");
  EXPECT_FALSE(Get(id).pin_locked());
}

TEST_F(CallsTest, ConsecutiveWrongPinsLockUntilAnOperatorResets) {
  uint64_t id = AddCaller("0791234567", "10", kPin);
  for (uint32_t i = 1; i < kPinMaxAttempts; ++i) {
    EXPECT_EQ(Decision("0791234567", kWrongPin), v1::WRONG_PIN) << "attempt " << i;
  }
  EXPECT_FALSE(Get(id).pin_locked());
  EXPECT_THAT(Decision("0791234567", kWrongPin), AnyOf(v1::WRONG_PIN, v1::PIN_LOCKED));
  EXPECT_TRUE(Get(id).pin_locked());

  // Locked: even the right PIN is refused, and so are reservations (nothing written).
  EXPECT_EQ(Decision("0791234567", kPin), v1::PIN_LOCKED);
  EXPECT_EQ(Decision("0791234567"), v1::PIN_LOCKED);
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::ReserveResponse> reserve = Reserve(ReserveAmount("r1", "0791234567", "1"));
  ASSERT_TRUE(reserve.ok()) << reserve.status();
  EXPECT_EQ(reserve->decision(), v1::PIN_LOCKED);
  EXPECT_EQ(ledger_->last_sequence(), before);

  // The lock survives a restart.
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_TRUE(Get(id).pin_locked());
  EXPECT_EQ(Decision("0791234567", kPin), v1::PIN_LOCKED);

  // An operator resets it; the count starts again from zero.
  absl::StatusOr<v1::CallerId> reset = ResetPinLock(id);
  ASSERT_TRUE(reset.ok()) << reset.status();
  EXPECT_FALSE(reset->pin_locked());
  EXPECT_EQ(Decision("0791234567", kPin), v1::ALLOWED);
  for (uint32_t i = 1; i < kPinMaxAttempts; ++i) {
    EXPECT_EQ(Decision("0791234567", kWrongPin), v1::WRONG_PIN) << "attempt " << i;
  }
  EXPECT_EQ(Decision("0791234567", kPin), v1::ALLOWED);
  EXPECT_FALSE(Get(id).pin_locked());
}

TEST_F(CallsTest, ResetPinLockClearsTheCountOfWrongPins) {
  uint64_t id = AddCaller("0791234567", "10", kPin);
  for (uint32_t i = 0; i < kPinMaxAttempts; ++i) Decision("0791234567", kWrongPin);
  ASSERT_TRUE(Get(id).pin_locked());
  ASSERT_TRUE(ResetPinLock(id).ok());
  // Wrong PINs after the reset: the lock needs the full count again.
  for (uint32_t i = 1; i < kPinMaxAttempts; ++i) {
    EXPECT_EQ(Decision("0791234567", kWrongPin), v1::WRONG_PIN) << "attempt " << i;
  }
  EXPECT_FALSE(Get(id).pin_locked());
  Decision("0791234567", kWrongPin);
  EXPECT_TRUE(Get(id).pin_locked());
}

TEST_F(CallsTest, RightPinBetweenWrongOnesResetsTheCount) {
  uint64_t id = AddCaller("0791234567", "10", kPin);
  for (int round = 0; round < 3; ++round) {
    for (uint32_t i = 1; i < kPinMaxAttempts; ++i) {
      EXPECT_EQ(Decision("0791234567", kWrongPin), v1::WRONG_PIN) << round << "/" << i;
    }
    EXPECT_EQ(Decision("0791234567", kPin), v1::ALLOWED) << round;
  }
  EXPECT_FALSE(Get(id).pin_locked());
  // The count survives a restart too: two wrong, restart, one wrong locks.
  for (uint32_t i = 1; i < kPinMaxAttempts; ++i) Decision("0791234567", kWrongPin);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  Decision("0791234567", kWrongPin);
  EXPECT_TRUE(Get(id).pin_locked());
}

TEST_F(CallsTest, AuthorizeNoCreditWithNothingLeft) {
  uint64_t id = AddCaller("0791234567", "0");
  absl::StatusOr<v1::AuthorizeResponse> reply = Authorize("0791234567");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->decision(), v1::NO_CREDIT);
  EXPECT_EQ(reply->callerid_id(), id);
  EXPECT_EQ(Micros(reply->available_credit()), 0);

  // Credit entirely held by an open reservation is not available either.
  AddCaller("0791234568", "5");
  ReserveOk(ReserveAmount("r1", "0791234568", "5"));
  EXPECT_EQ(Decision("0791234568"), v1::NO_CREDIT);
}

TEST_F(CallsTest, AuthorizeNoCreditBelowTheExtensionsMinimum) {
  AddCaller("0791234567", "3");
  AddCaller("0791234568", "5");
  AddCaller("0791234569", "3", "", kOtherExt);
  ASSERT_TRUE(SetMinCredit(kExt, "5").ok());
  EXPECT_EQ(Decision("0791234567"), v1::NO_CREDIT);
  EXPECT_EQ(Decision("0791234568"), v1::ALLOWED);
  absl::StatusOr<v1::AuthorizeResponse> other = Authorize("0791234569", "", nullptr, kOtherExt);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->decision(), v1::ALLOWED);  // the policy is the extension's own

  // Reserve follows the same rule and holds nothing.
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::ReserveResponse> reserve = Reserve(ReserveAmount("r1", "0791234567", "1"));
  ASSERT_TRUE(reserve.ok()) << reserve.status();
  EXPECT_EQ(reserve->decision(), v1::NO_CREDIT);
  EXPECT_EQ(ledger_->last_sequence(), before);
}

TEST_F(CallsTest, AuthorizeNoCreditWhenTheFirstIncrementIsUnaffordable) {
  AddCaller("0791234567", "1");
  v1::Rate rate = MakeRate("0.50", "1.20", 60);  // the first minute costs 1.70
  absl::StatusOr<v1::AuthorizeResponse> reply = Authorize("0791234567", "", &rate);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->decision(), v1::NO_CREDIT);
  EXPECT_EQ(reply->max_duration_seconds(), 0u);
  EXPECT_EQ(reply->available_credit(), "1.00");

  v1::Rate cheaper = MakeRate("", "0.60", 60);
  reply = Authorize("0791234567", "", &cheaper);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->decision(), v1::ALLOWED);
  EXPECT_EQ(reply->max_duration_seconds(), 60u);
}

TEST_F(CallsTest, AuthorizeAllowedWithAvailableCreditAndLongestCall) {
  uint64_t id = AddCaller("0791234567", "10");
  absl::StatusOr<v1::AuthorizeResponse> plain = Authorize("0791234567");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->decision(), v1::ALLOWED);
  EXPECT_EQ(plain->callerid_id(), id);
  EXPECT_EQ(plain->available_credit(), "10.00");
  EXPECT_FALSE(plain->unlimited());
  EXPECT_EQ(plain->max_duration_seconds(), 0u);  // no rate given

  v1::Rate by_second = MakeRate("", "1.20", 1);
  absl::StatusOr<v1::AuthorizeResponse> rated = Authorize("0791234567", "", &by_second);
  ASSERT_TRUE(rated.ok()) << rated.status();
  EXPECT_EQ(rated->max_duration_seconds(), 500u);
  v1::Rate by_minute = MakeRate("0.10", "1.20", 60);
  rated = Authorize("0791234567", "", &by_minute);
  ASSERT_TRUE(rated.ok()) << rated.status();
  EXPECT_EQ(rated->max_duration_seconds(), 480u);  // 9.90 / 1.20 = 8.25 minutes

  // What open reservations hold is not available.
  ReserveOk(ReserveAmount("r1", "0791234567", "4"));
  rated = Authorize("0791234567", "", &by_second);
  ASSERT_TRUE(rated.ok()) << rated.status();
  EXPECT_EQ(rated->decision(), v1::ALLOWED);
  EXPECT_EQ(rated->available_credit(), "6.00");
  EXPECT_EQ(rated->max_duration_seconds(), 300u);

  // Unlimited: allowed, no credit numbers, a day at any rate.
  uint64_t unlimited = AddUnlimited("0791234568");
  absl::StatusOr<v1::AuthorizeResponse> unlimited_reply = Authorize("0791234568", "", &by_minute);
  ASSERT_TRUE(unlimited_reply.ok()) << unlimited_reply.status();
  EXPECT_EQ(unlimited_reply->decision(), v1::ALLOWED);
  EXPECT_EQ(unlimited_reply->callerid_id(), unlimited);
  EXPECT_TRUE(unlimited_reply->unlimited());
  EXPECT_TRUE(unlimited_reply->available_credit().empty());
  EXPECT_EQ(unlimited_reply->max_duration_seconds(), 86400u);
}

TEST_F(CallsTest, AuthorizeRejectsMalformedInput) {
  AddCaller("0791234567", "10");
  v1::Rate no_price = MakeRate("0.10", "", 60);
  absl::StatusOr<v1::AuthorizeResponse> reply = Authorize("0791234567", "", &no_price);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument) << reply.status();
  reply = Authorize("not-a-number");
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument) << reply.status();
  reply = Authorize("0791234567", "12a4");
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument) << reply.status();
}

}  // namespace
}  // namespace callbackledger
