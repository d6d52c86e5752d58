// Reserve and Extend (SPEC section 3): what a hold grants, its expiry, retries, and the
// bounds of one call's amounts.
#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/testing/calls_test_base.h"

namespace callbackledger {
namespace {

using ::testing::AnyOf;

// =======================================================================================
// Reserve

TEST_F(CallsTest, ReserveGrantsAtMostWhatIsAvailable) {
  uint64_t id = AddCaller("0791234567", "10");
  v1::ReserveResponse first = ReserveOk(ReserveAmount("r1", "0791234567", "4"));
  EXPECT_EQ(first.reservation_id(), "r1");
  EXPECT_EQ(first.callerid_id(), id);
  EXPECT_EQ(first.granted_amount(), "4.00");
  EXPECT_EQ(first.available_credit(), "6.00");
  EXPECT_FALSE(first.final_grant());

  v1::ReserveResponse second = ReserveOk(ReserveAmount("r2", "0791234567", "10"));
  EXPECT_EQ(second.granted_amount(), "6.00");
  EXPECT_EQ(second.available_credit(), "0.00");
  EXPECT_TRUE(second.final_grant());

  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::ReserveResponse> third = Reserve(ReserveAmount("r3", "0791234567", "1"));
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->decision(), v1::NO_CREDIT);
  EXPECT_EQ(Micros(third->granted_amount()), 0);
  EXPECT_EQ(ledger_->last_sequence(), before);

  v1::CallerId callerid = Get(id);
  EXPECT_EQ(callerid.credit_left(), "10.00");
  EXPECT_EQ(callerid.held_credit(), "10.00");
  EXPECT_EQ(callerid.available_credit(), "0.00");
  EXPECT_EQ(callerid.open_reservations(), 2u);
}

TEST_F(CallsTest, ReserveExactlyTheAvailableCreditIsAFinalGrant) {
  AddCaller("0791234567", "5");
  AddCaller("0791234568", "5");
  v1::ReserveResponse all = ReserveOk(ReserveAmount("r1", "0791234567", "5"));
  EXPECT_EQ(all.granted_amount(), "5.00");
  EXPECT_TRUE(all.final_grant());
  v1::ReserveResponse part = ReserveOk(ReserveAmount("r2", "0791234568", "4.99"));
  EXPECT_EQ(part.granted_amount(), "4.99");
  EXPECT_FALSE(part.final_grant());
}

TEST_F(CallsTest, ReserveWithRateAndSecondsGrantsWholeIncrements) {
  AddCaller("0791234567", "1");
  v1::Rate rate = MakeRate("", "0.60", 30);  // 0.30 per 30 s increment
  // 45 s asked: billed as two increments.
  v1::ReserveResponse first = ReserveOk(ReserveSeconds("r1", "0791234567", rate, 45));
  EXPECT_EQ(first.granted_seconds(), 60u);
  EXPECT_EQ(first.granted_amount(), "0.60");
  EXPECT_EQ(first.available_credit(), "0.40");
  EXPECT_FALSE(first.final_grant());

  // 300 s asked, 0.40 left: one whole increment.
  v1::ReserveResponse second = ReserveOk(ReserveSeconds("r2", "0791234567", rate, 300));
  EXPECT_EQ(second.granted_seconds(), 30u);
  EXPECT_EQ(second.granted_amount(), "0.30");
  EXPECT_EQ(second.available_credit(), "0.10");
  EXPECT_TRUE(second.final_grant());  // 0.10 does not pay for another increment

  // With a connect fee and by the minute.
  AddCaller("0791234568", "2");
  v1::Rate with_fee = MakeRate("0.10", "1.20", 60);
  v1::ReserveResponse third = ReserveOk(ReserveSeconds("r3", "0791234568", with_fee, 600));
  EXPECT_EQ(third.granted_seconds(), 60u);
  EXPECT_EQ(third.granted_amount(), "1.30");
  EXPECT_EQ(third.available_credit(), "0.70");
  EXPECT_TRUE(third.final_grant());

  // Fractional prices stay exact.
  AddCaller("0791234569", "1");
  v1::Rate fractional = MakeRate("", "0.0125", 1);
  v1::ReserveResponse fourth = ReserveOk(ReserveSeconds("r4", "0791234569", fractional, 61));
  EXPECT_EQ(fourth.granted_seconds(), 61u);
  EXPECT_EQ(fourth.granted_amount(), "0.012709");
  EXPECT_EQ(fourth.available_credit(), "0.987291");
}

TEST_F(CallsTest, ReserveNeverGrantsLessThanTheFirstIncrement) {
  uint64_t id = AddCaller("0791234567", "0.20");
  const uint64_t before = ledger_->last_sequence();
  v1::Rate rate = MakeRate("", "0.60", 30);  // first increment 0.30
  absl::StatusOr<v1::ReserveResponse> reply = Reserve(ReserveSeconds("r1", "0791234567", rate, 60));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->decision(), v1::NO_CREDIT);
  EXPECT_EQ(Micros(reply->granted_amount()), 0);
  EXPECT_EQ(reply->granted_seconds(), 0u);

  // The same with an amount and a rate, and with a minimum billed duration.
  v1::ReserveRequest by_amount = ReserveAmount("r2", "0791234567", "0.10");
  *by_amount.mutable_rate() = rate;
  reply = Reserve(by_amount);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->decision(), v1::NO_CREDIT);
  v1::Rate with_minimum = MakeRate("", "0.12", 1, 120);  // the first 120 s cost 0.24
  reply = Reserve(ReserveSeconds("r3", "0791234567", with_minimum, 10));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->decision(), v1::NO_CREDIT);

  EXPECT_EQ(ledger_->last_sequence(), before);
  v1::CallerId callerid = Get(id);
  EXPECT_EQ(callerid.available_credit(), "0.20");
  EXPECT_EQ(Micros(callerid.held_credit()), 0);
  EXPECT_EQ(callerid.open_reservations(), 0u);

  // The ids were not used: after a recharge they reserve normally.
  ASSERT_TRUE(Recharge(id, "1").ok());
  v1::ReserveResponse granted = ReserveOk(ReserveSeconds("r1", "0791234567", rate, 60));
  EXPECT_EQ(granted.granted_amount(), "0.60");
}

TEST_F(CallsTest, UnlimitedCallerIdsGetWhatTheyAsk) {
  uint64_t id = AddUnlimited("0791234567");
  v1::ReserveResponse amount = ReserveOk(ReserveAmount("r1", "0791234567", "1000"));
  EXPECT_EQ(amount.callerid_id(), id);
  EXPECT_EQ(amount.granted_amount(), "1000.00");
  EXPECT_FALSE(amount.final_grant());
  EXPECT_TRUE(amount.available_credit().empty());

  v1::Rate rate = MakeRate("0.10", "1.20", 60);
  v1::ReserveResponse seconds = ReserveOk(ReserveSeconds("r2", "0791234567", rate, 3600));
  EXPECT_EQ(seconds.granted_seconds(), 3600u);
  EXPECT_EQ(seconds.granted_amount(), "72.10");
  EXPECT_FALSE(seconds.final_grant());

  absl::StatusOr<v1::ExtendResponse> extended = Extend(ExtendAmount("r1", "5000"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
  EXPECT_EQ(extended->granted_amount(), "5000.00");
  EXPECT_FALSE(extended->final_grant());

  absl::StatusOr<v1::SettleResponse> settled = Settle(SettleCost("r1", "123.45"));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->cost(), "123.45");
  EXPECT_EQ(Micros(settled->uncollected()), 0);
  v1::CallerId callerid = Get(id);
  EXPECT_TRUE(callerid.unlimited());
  EXPECT_EQ(callerid.open_reservations(), 1u);
}

TEST_F(CallsTest, ReserveExpiresAtNowPlusTtl) {
  AddCaller("0791234567", "10");
  Advance(17);
  v1::ReserveResponse explicit_ttl = ReserveOk(ReserveAmount("r1", "0791234567", "1", 120));
  EXPECT_EQ(TimeMicros(explicit_ttl.expires_at()), Now() + 120 * kSecond);
  Advance(5);
  v1::ReserveResponse default_ttl = ReserveOk(ReserveAmount("r2", "0791234567", "1"));
  EXPECT_EQ(TimeMicros(default_ttl.expires_at()), Now() + int64_t{kDefaultTtl} * kSecond);
  v1::ReserveResponse day = ReserveOk(ReserveAmount("r3", "0791234567", "1", 86400));
  EXPECT_EQ(TimeMicros(day.expires_at()), Now() + 86400 * kSecond);
}

TEST_F(CallsTest, ReservationsOfOneCallerIdShareItsCredit) {
  uint64_t id = AddCaller("0791234567", "10");
  EXPECT_EQ(ReserveOk(ReserveAmount("r1", "0791234567", "3")).granted_amount(), "3.00");
  EXPECT_EQ(ReserveOk(ReserveAmount("r2", "0791234567", "3", 0, "node-2")).granted_amount(),
            "3.00");
  EXPECT_EQ(ReserveOk(ReserveAmount("r3", "0791234567", "3")).granted_amount(), "3.00");
  v1::ReserveResponse last = ReserveOk(ReserveAmount("r4", "0791234567", "3", 0, "node-3"));
  EXPECT_EQ(last.granted_amount(), "1.00");
  EXPECT_TRUE(last.final_grant());
  absl::StatusOr<v1::ReserveResponse> none = Reserve(ReserveAmount("r5", "0791234567", "3"));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->decision(), v1::NO_CREDIT);
  v1::CallerId callerid = Get(id);
  EXPECT_EQ(callerid.held_credit(), "10.00");
  EXPECT_EQ(callerid.available_credit(), "0.00");
  EXPECT_EQ(callerid.open_reservations(), 4u);
}

TEST_F(CallsTest, ConcurrentReservationsNeverHoldMoreThanTheCredit) {
  uint64_t id = AddCaller("0791234567", "10");
  std::vector<std::future<absl::StatusOr<v1::ReserveResponse>>> futures;
  for (int i = 0; i < 12; ++i) {
    futures.push_back(
        Start(&Ledger::Reserve, ReserveAmount(absl::StrCat("r", i), "0791234567", "2")));
  }
  int64_t held = 0;
  int allowed = 0;
  for (auto& future : futures) {
    absl::StatusOr<v1::ReserveResponse> reply = Wait(std::move(future));
    ASSERT_TRUE(reply.ok()) << reply.status();
    if (reply->decision() == v1::ALLOWED) {
      ++allowed;
      held += Micros(reply->granted_amount());
    } else {
      EXPECT_EQ(reply->decision(), v1::NO_CREDIT);
    }
  }
  EXPECT_EQ(allowed, 5);
  EXPECT_EQ(held, 10 * kSecond);
  v1::CallerId callerid = Get(id);
  EXPECT_EQ(Micros(callerid.held_credit()), held);
  EXPECT_EQ(callerid.available_credit(), "0.00");
}

TEST_F(CallsTest, ReserveRetryReturnsTheFirstAnswerAndWritesNothing) {
  uint64_t id = AddCaller("0791234567", "10");
  v1::ReserveRequest request = ReserveAmount("r1", "0791234567", "4", 60);
  v1::ReserveResponse first = ReserveOk(request);
  const uint64_t after_first = ledger_->last_sequence();

  // The state changes in between; the retry still answers as the first time.
  ASSERT_TRUE(Recharge(id, "5").ok());
  Advance(10);
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::ReserveResponse> retry = Reserve(request);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_THAT(*retry, EqualsProto(first));
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(before, after_first + 1);  // only the recharge
  EXPECT_EQ(Get(id).held_credit(), "4.00");

  // The same id with other arguments.
  v1::ReserveRequest other_amount = request;
  other_amount.set_amount("5");
  absl::StatusOr<v1::ReserveResponse> conflict = Reserve(other_amount);
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists) << conflict.status();
  v1::ReserveRequest other_node = request;
  other_node.set_node_id("node-2");
  conflict = Reserve(other_node);
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists) << conflict.status();
  v1::ReserveRequest other_ttl = request;
  other_ttl.set_ttl_seconds(61);
  conflict = Reserve(other_ttl);
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists) << conflict.status();
  EXPECT_EQ(ledger_->last_sequence(), before);

  // A retry after a restart, and after the reservation was settled, still replays.
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_TRUE(Settle(SettleCost("r1", "1")).ok());
  const uint64_t settled = ledger_->last_sequence();
  retry = Reserve(request);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_THAT(*retry, EqualsProto(first));
  EXPECT_EQ(ledger_->last_sequence(), settled);
}

TEST_F(CallsTest, ReserveForADisabledLockedOrUnknownCallerIdIsADecision) {
  uint64_t disabled = AddCaller("0791234567", "10", "", kExt, v1::CallerId::DISABLED);
  uint64_t locked = AddCaller("0791234568", "10", kPin);
  for (uint32_t i = 0; i < kPinMaxAttempts; ++i) Decision("0791234568", kWrongPin);
  ASSERT_TRUE(Get(locked).pin_locked());
  AddCaller("0791234569", "10", "", kOtherExt);
  const uint64_t before = ledger_->last_sequence();

  struct Case {
    std::string number;
    v1::Decision decision;
    uint64_t callerid_id;
  };
  for (const Case& c :
       {Case{"0791234567", v1::DISABLED, disabled}, Case{"0791234568", v1::PIN_LOCKED, locked},
        Case{"0791234569", v1::NOT_AUTHORIZED, 0}, Case{"0790000000", v1::NOT_AUTHORIZED, 0}}) {
    absl::StatusOr<v1::ReserveResponse> reply =
        Reserve(ReserveAmount("r-" + c.number, c.number, "1"));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->decision(), c.decision) << c.number;
    EXPECT_EQ(reply->callerid_id(), c.callerid_id) << c.number;
    EXPECT_EQ(Micros(reply->granted_amount()), 0) << c.number;
  }
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Get(disabled).open_reservations(), 0u);
  EXPECT_EQ(Get(locked).open_reservations(), 0u);

  // Nothing was recorded under those ids.
  ASSERT_TRUE(SetStatus(disabled, v1::CallerId::ENABLED).ok());
  EXPECT_EQ(ReserveOk(ReserveAmount("r-0791234567", "0791234567", "1")).granted_amount(), "1.00");
}

TEST_F(CallsTest, ReserveRejectsMalformedInputAndWritesNothing) {
  AddCaller("0791234567", "10");
  const uint64_t before = ledger_->last_sequence();
  v1::Rate rate = MakeRate("", "0.60", 30);
  std::vector<std::pair<std::string, v1::ReserveRequest>> cases;
  cases.emplace_back("no amount and no seconds", ReserveAmount("r1", "0791234567", ""));
  v1::ReserveRequest seconds_without_rate = ReserveAmount("r1", "0791234567", "");
  seconds_without_rate.set_seconds(60);
  cases.emplace_back("seconds without a rate", seconds_without_rate);
  cases.emplace_back("ttl over a day", ReserveAmount("r1", "0791234567", "1", 86401));
  cases.emplace_back("empty reservation_id", ReserveAmount("", "0791234567", "1"));
  cases.emplace_back("7 decimals", ReserveAmount("r1", "0791234567", "1.0000001"));
  cases.emplace_back("negative amount", ReserveAmount("r1", "0791234567", "-1"));
  cases.emplace_back("zero amount", ReserveAmount("r1", "0791234567", "0"));
  cases.emplace_back("exponent", ReserveAmount("r1", "0791234567", "1e2"));
  v1::ReserveRequest both = ReserveSeconds("r1", "0791234567", rate, 60);
  both.set_amount("1");
  cases.emplace_back("amount and seconds", both);
  cases.emplace_back("rate without price",
                     ReserveSeconds("r1", "0791234567", MakeRate("0.10", "", 60), 60));
  cases.emplace_back("seconds over a day", ReserveSeconds("r1", "0791234567", rate, 86401));
  cases.emplace_back("bad number", ReserveAmount("r1", "07912x4567", "1"));
  cases.emplace_back("space in reservation_id", ReserveAmount("r 1", "0791234567", "1"));
  v1::ReserveRequest no_extension = ReserveAmount("r1", "0791234567", "1");
  no_extension.clear_extension();
  cases.emplace_back("no extension", no_extension);
  for (const auto& [name, request] : cases) {
    absl::StatusOr<v1::ReserveResponse> reply = Reserve(request);
    EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument)
        << name << ": " << (reply.ok() ? reply->ShortDebugString() : reply.status().ToString());
  }
  EXPECT_EQ(ledger_->last_sequence(), before);
}

// =======================================================================================
// Extend

TEST_F(CallsTest, ExtendAddsToTheHoldAndPushesTheExpiry) {
  uint64_t id = AddCaller("0791234567", "10");
  const int64_t opened = Now();
  ReserveOk(ReserveAmount("r1", "0791234567", "2", 60));
  Advance(30);
  absl::StatusOr<v1::ExtendResponse> extended = Extend(ExtendAmount("r1", "3"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
  EXPECT_EQ(extended->reservation_id(), "r1");
  EXPECT_EQ(extended->granted_amount(), "3.00");
  EXPECT_EQ(extended->held_amount(), "5.00");
  EXPECT_EQ(extended->available_credit(), "5.00");
  EXPECT_FALSE(extended->final_grant());
  EXPECT_EQ(TimeMicros(extended->expires_at()), opened + 90 * kSecond);  // its own ttl again
  EXPECT_EQ(Get(id).held_credit(), "5.00");

  // Past the first expiry, not past the pushed one: nothing expires.
  Advance(50);
  absl::StatusOr<uint64_t> expired = Expire();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 0u);

  // A ttl given with the extension.
  extended = Extend(ExtendAmount("r1", "1", "", 600));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
  EXPECT_EQ(extended->held_amount(), "6.00");
  EXPECT_EQ(TimeMicros(extended->expires_at()), Now() + 600 * kSecond);
  v1::CallerId callerid = Get(id);
  EXPECT_EQ(callerid.held_credit(), "6.00");
  EXPECT_EQ(callerid.available_credit(), "4.00");
  EXPECT_EQ(callerid.credit_left(), "10.00");
}

TEST_F(CallsTest, ExtendBySecondsAtTheReservationsRate) {
  AddCaller("0791234567", "1");
  v1::Rate rate = MakeRate("", "0.60", 30);
  ReserveOk(ReserveSeconds("r1", "0791234567", rate, 60));  // 0.60
  v1::ExtendRequest request = ExtendAmount("r1", "");
  request.set_seconds(60);
  absl::StatusOr<v1::ExtendResponse> extended = Extend(request);
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
  EXPECT_EQ(extended->granted_seconds(), 30u);  // 0.40 left pays for one increment
  EXPECT_EQ(extended->granted_amount(), "0.30");
  EXPECT_EQ(extended->held_amount(), "0.90");
  EXPECT_EQ(extended->available_credit(), "0.10");
  EXPECT_TRUE(extended->final_grant());

  // Seconds on a reservation without a rate cannot be priced: refused, nothing written.
  AddCaller("0791234568", "10");
  ReserveOk(ReserveAmount("r2", "0791234568", "1"));
  const uint64_t before = ledger_->last_sequence();
  request.set_reservation_id("r2");
  extended = Extend(request);
  EXPECT_THAT(extended.status().code(),
              AnyOf(absl::StatusCode::kInvalidArgument, absl::StatusCode::kFailedPrecondition))
      << extended.status();
  EXPECT_EQ(ledger_->last_sequence(), before);
}

TEST_F(CallsTest, ExtendWithNothingAvailableIsNoCredit) {
  uint64_t id = AddCaller("0791234567", "5");
  EXPECT_TRUE(ReserveOk(ReserveAmount("r1", "0791234567", "5")).final_grant());
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::ExtendResponse> extended = Extend(ExtendAmount("r1", "1"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::NO_CREDIT);
  EXPECT_EQ(Micros(extended->granted_amount()), 0);
  EXPECT_EQ(extended->held_amount(), "5.00");
  EXPECT_TRUE(extended->final_grant());
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Get(id).held_credit(), "5.00");
}

TEST_F(CallsTest, ExtendGrantsNothingOnceTheCallerIdIsDisabled) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "2"));
  ASSERT_TRUE(SetStatus(id, v1::CallerId::DISABLED).ok());
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::ExtendResponse> extended = Extend(ExtendAmount("r1", "1"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::DISABLED);
  EXPECT_EQ(Micros(extended->granted_amount()), 0);
  EXPECT_EQ(extended->held_amount(), "2.00");
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Get(id).held_credit(), "2.00");

  // The node ends the call at the end of what it holds and settles it.
  absl::StatusOr<v1::SettleResponse> settled = Settle(SettleCost("r1", "1.50"));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->cost(), "1.50");
  EXPECT_EQ(settled->credit_left(), "8.50");
}

TEST_F(CallsTest, ExtendGrantsNothingOnceTheCallerIdIsPinLocked) {
  uint64_t id = AddCaller("0791234567", "10", kPin);
  ReserveOk(ReserveAmount("r1", "0791234567", "2"));
  absl::StatusOr<v1::ExtendResponse> extended = Extend(ExtendAmount("r1", "1"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
  for (uint32_t i = 0; i < kPinMaxAttempts; ++i) Decision("0791234567", kWrongPin);
  ASSERT_TRUE(Get(id).pin_locked());
  const uint64_t before = ledger_->last_sequence();
  extended = Extend(ExtendAmount("r1", "2"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::PIN_LOCKED);
  EXPECT_EQ(Micros(extended->granted_amount()), 0);
  EXPECT_EQ(extended->held_amount(), "3.00");
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Get(id).held_credit(), "3.00");
}

TEST_F(CallsTest, ARechargeDuringACallIsAvailableToTheNextExtend) {
  uint64_t id = AddCaller("0791234567", "5");
  ReserveOk(ReserveAmount("r1", "0791234567", "5"));
  absl::StatusOr<v1::ExtendResponse> extended = Extend(ExtendAmount("r1", "2"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::NO_CREDIT);
  ASSERT_TRUE(Recharge(id, "3").ok());
  extended = Extend(ExtendAmount("r1", "2"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
  EXPECT_EQ(extended->granted_amount(), "2.00");
  EXPECT_EQ(extended->held_amount(), "7.00");
  EXPECT_EQ(extended->available_credit(), "1.00");
  v1::CallerId callerid = Get(id);
  EXPECT_EQ(callerid.credit_left(), "8.00");
  EXPECT_EQ(callerid.held_credit(), "7.00");
}

// SPEC 3: "a recharge during a call is available to the next Extend" - also for a call
// that began while the CallerID was unlimited and that a negative recharge made limited.
TEST_F(CallsTest, ARechargeIsAvailableToTheNextExtendOfACallStartedWhileUnlimited) {
  uint64_t id = AddUnlimited("0791234567");
  ReserveOk(ReserveAmount("r1", "0791234567", "3"));
  absl::StatusOr<v1::Recharge> limited = Recharge(id, "-10");  // limited, nothing left
  ASSERT_TRUE(limited.ok()) << limited.status();
  ASSERT_FALSE(Get(id).unlimited());
  absl::StatusOr<v1::ExtendResponse> extended = Extend(ExtendAmount("r1", "1"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::NO_CREDIT);  // nothing available
  EXPECT_EQ(Micros(extended->granted_amount()), 0);

  ASSERT_TRUE(Recharge(id, "5").ok());
  EXPECT_EQ(Get(id).available_credit(), "5.00");
  extended = Extend(ExtendAmount("r1", "1", "after-recharge"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
  EXPECT_EQ(extended->granted_amount(), "1.00");
  v1::CallerId callerid = Get(id);
  EXPECT_EQ(Micros(callerid.available_credit()) + Micros(callerid.held_credit()),
            Micros(callerid.credit_left()));
  EXPECT_GE(Micros(callerid.available_credit()), 0);

  // Whatever was granted, the settle charges from the credit left, never below zero.
  absl::StatusOr<v1::SettleResponse> settled = Settle(SettleCost("r1", "2"));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->cost(), "2.00");
  EXPECT_EQ(settled->credit_left(), "3.00");
  EXPECT_EQ(Get(id).available_credit(), "3.00");
}

TEST_F(CallsTest, ExtendRetryWithoutRequestIdReplays) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "2"));
  absl::StatusOr<v1::ExtendResponse> first = Extend(ExtendAmount("r1", "1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->held_amount(), "3.00");
  const uint64_t before = ledger_->last_sequence();
  Advance(5);
  absl::StatusOr<v1::ExtendResponse> retry = Extend(ExtendAmount("r1", "1"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_THAT(*retry, EqualsProto(*first));
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Get(id).held_credit(), "3.00");

  // Other arguments make a new extension.
  absl::StatusOr<v1::ExtendResponse> other = Extend(ExtendAmount("r1", "1", "", 120));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->decision(), v1::ALLOWED);
  EXPECT_EQ(other->held_amount(), "4.00");
  EXPECT_EQ(ledger_->last_sequence(), before + 1);
}

TEST_F(CallsTest, ExtendsWithRequestIdsAreTold) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "2"));
  absl::StatusOr<v1::ExtendResponse> first = Extend(ExtendAmount("r1", "1", "x1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->decision(), v1::ALLOWED);
  EXPECT_EQ(first->held_amount(), "3.00");
  Advance(10);
  absl::StatusOr<v1::ExtendResponse> second = Extend(ExtendAmount("r1", "1", "x2"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->decision(), v1::ALLOWED);
  EXPECT_EQ(second->granted_amount(), "1.00");
  EXPECT_EQ(second->held_amount(), "4.00");
  const uint64_t before = ledger_->last_sequence();

  absl::StatusOr<v1::ExtendResponse> retry_first = Extend(ExtendAmount("r1", "1", "x1"));
  ASSERT_TRUE(retry_first.ok()) << retry_first.status();
  EXPECT_THAT(*retry_first, EqualsProto(*first));
  absl::StatusOr<v1::ExtendResponse> retry_second = Extend(ExtendAmount("r1", "1", "x2"));
  ASSERT_TRUE(retry_second.ok()) << retry_second.status();
  EXPECT_THAT(*retry_second, EqualsProto(*second));
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Get(id).held_credit(), "4.00");

  // A request_id reused with other arguments.
  absl::StatusOr<v1::ExtendResponse> conflict = Extend(ExtendAmount("r1", "2", "x1"));
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists) << conflict.status();
  EXPECT_EQ(ledger_->last_sequence(), before);

  // Request ids belong to their reservation.
  ReserveOk(ReserveAmount("r2", "0791234567", "1"));
  absl::StatusOr<v1::ExtendResponse> elsewhere = Extend(ExtendAmount("r2", "1", "x1"));
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
  EXPECT_EQ(elsewhere->decision(), v1::ALLOWED);
  EXPECT_EQ(elsewhere->held_amount(), "2.00");
}

TEST_F(CallsTest, ExtendAClosedOrUnknownReservation) {
  AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "2"));
  ReserveOk(ReserveAmount("r2", "0791234567", "2"));
  ASSERT_TRUE(Settle(SettleCost("r1", "1")).ok());
  ASSERT_TRUE(Release("r2").ok());
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::ExtendResponse> extended = Extend(ExtendAmount("r1", "1"));
  EXPECT_EQ(extended.status().code(), absl::StatusCode::kFailedPrecondition) << extended.status();
  extended = Extend(ExtendAmount("r1", "1", "late-request"));
  EXPECT_EQ(extended.status().code(), absl::StatusCode::kFailedPrecondition) << extended.status();
  extended = Extend(ExtendAmount("r2", "1"));
  EXPECT_EQ(extended.status().code(), absl::StatusCode::kFailedPrecondition) << extended.status();
  extended = Extend(ExtendAmount("nope", "1"));
  EXPECT_EQ(extended.status().code(), absl::StatusCode::kNotFound) << extended.status();
  EXPECT_EQ(ledger_->last_sequence(), before);
}

TEST_F(CallsTest, ExtendAfterExpiryIsExpired) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "2", 60));
  Advance(61);
  const uint64_t before = ledger_->last_sequence();
  // Past its expiry, before the ledger released it.
  absl::StatusOr<v1::ExtendResponse> extended = Extend(ExtendAmount("r1", "1"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::EXPIRED);
  EXPECT_EQ(Micros(extended->granted_amount()), 0);
  EXPECT_EQ(ledger_->last_sequence(), before);
  // And after.
  absl::StatusOr<uint64_t> expired = Expire();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 1u);
  extended = Extend(ExtendAmount("r1", "2"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::EXPIRED);
  EXPECT_EQ(Micros(extended->granted_amount()), 0);
  EXPECT_EQ(Get(id).available_credit(), "10.00");
}

TEST_F(CallsTest, ExtendRejectsMalformedInput) {
  AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "2"));
  const uint64_t before = ledger_->last_sequence();
  for (const v1::ExtendRequest& request :
       {ExtendAmount("", "1"), ExtendAmount("r1", "-1"), ExtendAmount("r1", "1.0000001"),
        ExtendAmount("r1", "1", "", 86401), ExtendAmount("r1", "1", "bad id")}) {
    absl::StatusOr<v1::ExtendResponse> extended = Extend(request);
    EXPECT_EQ(extended.status().code(), absl::StatusCode::kInvalidArgument)
        << request.ShortDebugString() << ": " << extended.status();
  }
  EXPECT_EQ(ledger_->last_sequence(), before);
}

// One call's amounts are bounded by the price of a day-long call at the highest rate
// (1441000000), so that no hold, not even an unlimited CallerID's, can overflow.
TEST_F(CallsTest, OneCallAmountsAreBounded) {
  AddUnlimited("0791234567");
  const std::string most = "1441000000";
  const std::string above = "1441000000.000001";
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::ReserveResponse> refused = Reserve(ReserveAmount("r0", "0791234567", above));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr("amount: at most 1441000000"));
  EXPECT_EQ(Reserve(ReserveAmount("r0", "0791234567", "9223372036854.775807")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger_->last_sequence(), before);

  ReserveOk(ReserveAmount("r1", "0791234567", most));
  const uint64_t reserved = ledger_->last_sequence();
  EXPECT_EQ(Extend(ExtendAmount("r1", above)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Settle(SettleCost("r1", above)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger_->last_sequence(), reserved);
  absl::StatusOr<v1::ExtendResponse> extended = Extend(ExtendAmount("r1", most));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->held_amount(), "2882000000.00");
}

TEST_F(CallsTest, AnUnlimitedHoldCannotOverflow) {
  AddUnlimited("0791234567");
  const std::string most = "1441000000";
  ReserveOk(ReserveAmount("r1", "0791234567", most));
  absl::StatusOr<v1::ExtendResponse> extended;
  int extends = 0;
  for (; extends < 10000; ++extends) {  // 6,400 grants of the most reach int64's limit
    extended = Extend(ExtendAmount("r1", most, absl::StrCat("x", extends)));
    if (!extended.ok()) break;
  }
  EXPECT_EQ(extended.status().code(), absl::StatusCode::kFailedPrecondition) << extended.status();
  EXPECT_THAT(std::string(extended.status().message()), ::testing::HasSubstr("already holds"));
  EXPECT_GT(extends, 6000);
  const uint64_t refused_at = ledger_->last_sequence();
  EXPECT_EQ(Extend(ExtendAmount("r1", most, "again")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ledger_->last_sequence(), refused_at);
  // The hold is still whole: settling it charges nothing beyond the cost.
  absl::StatusOr<v1::SettleResponse> settled = Settle(SettleCost("r1", "5"));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->cost(), "5.00");
}

}  // namespace
}  // namespace callbackledger
