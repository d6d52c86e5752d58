// Settle and Release (SPEC section 3): how a hold ends, what it charges, and that money is
// conserved through a mixed scenario (SyncReservations and expiry are in
// calls_expiry_test.cc).
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/testing/calls_test_base.h"

namespace callbackledger {
namespace {

using ::testing::AnyOf;

// =======================================================================================
// Settle

TEST_F(CallsTest, SettleByCostChargesItAndReleasesTheRest) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "5"));
  absl::StatusOr<v1::SettleResponse> settled = Settle(SettleCost("r1", "3.25", 95));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->reservation_id(), "r1");
  EXPECT_EQ(settled->callerid_id(), id);
  EXPECT_EQ(settled->cost(), "3.25");
  EXPECT_EQ(Micros(settled->uncollected()), 0);
  EXPECT_FALSE(settled->late());
  EXPECT_EQ(settled->credit_left(), "6.75");
  EXPECT_EQ(settled->available_credit(), "6.75");
  v1::CallerId callerid = Get(id);
  EXPECT_EQ(callerid.total_credit(), "10.00");
  EXPECT_EQ(callerid.credit_left(), "6.75");
  EXPECT_EQ(Micros(callerid.held_credit()), 0);
  EXPECT_EQ(callerid.available_credit(), "6.75");
  EXPECT_EQ(callerid.open_reservations(), 0u);

  // A cost above the hold but within the available credit is charged in full.
  ReserveOk(ReserveAmount("r2", "0791234567", "1"));
  settled = Settle(SettleCost("r2", "2.5"));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->cost(), "2.50");
  EXPECT_EQ(Micros(settled->uncollected()), 0);
  EXPECT_EQ(settled->credit_left(), "4.25");
  // A call that cost nothing.
  ReserveOk(ReserveAmount("r3", "0791234567", "1"));
  settled = Settle(SettleCost("r3", "0"));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(Micros(settled->cost()), 0);
  EXPECT_EQ(settled->credit_left(), "4.25");
}

TEST_F(CallsTest, SettleByDurationAtTheReservationsRate) {
  uint64_t id = AddCaller("0791234567", "10");
  v1::Rate rate = MakeRate("0.10", "1.20", 60);
  EXPECT_EQ(ReserveOk(ReserveSeconds("r1", "0791234567", rate, 300)).granted_amount(), "6.10");
  absl::StatusOr<v1::SettleResponse> settled = Settle(SettleDuration("r1", 61));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->cost(), "2.50");  // 0.10 + two minutes
  EXPECT_EQ(settled->credit_left(), "7.50");
  EXPECT_EQ(Get(id).available_credit(), "7.50");

  // Exact micros, rounded up: 61 s at 0.0125 a minute.
  AddCaller("0791234568", "1");
  v1::Rate fractional = MakeRate("", "0.0125", 1);
  ReserveOk(ReserveSeconds("r2", "0791234568", fractional, 600));
  settled = Settle(SettleDuration("r2", 61));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->cost(), "0.012709");
  EXPECT_EQ(settled->credit_left(), "0.987291");

  // The minimum applies to a short call; a call that never connected costs nothing.
  AddCaller("0791234569", "10");
  v1::Rate with_minimum = MakeRate("", "0.60", 1, 60);
  ReserveOk(ReserveSeconds("r3", "0791234569", with_minimum, 300));
  settled = Settle(SettleDuration("r3", 10));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->cost(), "0.60");
  ReserveOk(ReserveSeconds("r4", "0791234569", with_minimum, 300));
  settled = Settle(SettleDuration("r4", 0));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(Micros(settled->cost()), 0);
  EXPECT_EQ(settled->credit_left(), "9.40");
}

TEST_F(CallsTest, SettleAboveTheHoldChargesWhatIsAvailableAndReportsTheRest) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "4"));
  ReserveOk(ReserveAmount("r2", "0791234567", "3"));
  // r1's hold (4) and the available credit (3) pay 7 of the 9; r2 keeps its hold.
  absl::StatusOr<v1::SettleResponse> settled = Settle(SettleCost("r1", "9"));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->cost(), "7.00");
  EXPECT_EQ(settled->uncollected(), "2.00");
  EXPECT_EQ(settled->credit_left(), "3.00");
  EXPECT_EQ(settled->available_credit(), "0.00");
  v1::CallerId callerid = Get(id);
  EXPECT_EQ(callerid.credit_left(), "3.00");
  EXPECT_EQ(callerid.held_credit(), "3.00");
  EXPECT_EQ(callerid.available_credit(), "0.00");

  settled = Settle(SettleCost("r2", "5"));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->cost(), "3.00");
  EXPECT_EQ(settled->uncollected(), "2.00");
  EXPECT_EQ(settled->credit_left(), "0.00");
  EXPECT_EQ(settled->available_credit(), "0.00");
  callerid = Get(id);
  EXPECT_EQ(callerid.credit_left(), "0.00");
  EXPECT_EQ(callerid.available_credit(), "0.00");
  EXPECT_EQ(callerid.total_credit(), "10.00");
}

TEST_F(CallsTest, LateSettleAfterExpiryChargesTheAvailableCredit) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "4", 60));
  Advance(61);
  absl::StatusOr<uint64_t> expired = Expire();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 1u);
  EXPECT_EQ(Get(id).available_credit(), "10.00");

  absl::StatusOr<v1::SettleResponse> settled = Settle(SettleCost("r1", "3"));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_TRUE(settled->late());
  EXPECT_EQ(settled->cost(), "3.00");
  EXPECT_EQ(Micros(settled->uncollected()), 0);
  EXPECT_EQ(settled->credit_left(), "7.00");
  EXPECT_EQ(settled->available_credit(), "7.00");

  // Late and above what is available: what is left is charged, the rest uncollected.
  ReserveOk(ReserveAmount("r2", "0791234567", "2", 60));
  Advance(61);
  ASSERT_TRUE(Expire().ok());
  ReserveOk(ReserveAmount("r3", "0791234567", "5"));  // holds 5 of the 7
  settled = Settle(SettleCost("r2", "4"));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_TRUE(settled->late());
  EXPECT_EQ(settled->cost(), "2.00");
  EXPECT_EQ(settled->uncollected(), "2.00");
  EXPECT_EQ(settled->credit_left(), "5.00");
  EXPECT_EQ(settled->available_credit(), "0.00");
  v1::CallerId callerid = Get(id);
  EXPECT_EQ(callerid.held_credit(), "5.00");
  EXPECT_EQ(callerid.available_credit(), "0.00");
}

// An expired reservation leaves memory; its row in closed_reservations is what a late Settle
// reads, after a restart and after a rebuild of the projections as well.
TEST_F(CallsTest, AnExpiredReservationSettlesLateAfterARestartAndAfterARebuild) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "4", 60));
  ReserveOk(ReserveAmount("r2", "0791234567", "2", 60));
  Advance(61);
  absl::StatusOr<uint64_t> expired = Expire();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 2u);
  EXPECT_EQ(ledger_->open_reservations(), 0u);

  ASSERT_NO_FATAL_FAILURE(Reopen());
  absl::StatusOr<v1::SettleResponse> first = Settle(SettleCost("r1", "3"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->late());
  EXPECT_EQ(first->credit_left(), "7.00");

  ledger_.reset();
  options_.rebuild_projections = true;
  ASSERT_NO_FATAL_FAILURE(Open());
  options_.rebuild_projections = false;
  absl::StatusOr<v1::SettleResponse> second = Settle(SettleCost("r2", "1"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->late());
  EXPECT_EQ(second->credit_left(), "6.00");
  absl::StatusOr<v1::SettleResponse> again = Settle(SettleCost("r1", "3"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(*again, EqualsProto(*first));
  EXPECT_EQ(Get(id).credit_left(), "6.00");
  EXPECT_EQ(Get(id).open_reservations(), 0u);
  ExpectProjectionsVerify();
}

TEST_F(CallsTest, SettlePastTheExpiryBeforeTheLedgerReleasedItIsLate) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "4", 60));
  Advance(90);
  absl::StatusOr<v1::SettleResponse> settled = Settle(SettleCost("r1", "3"));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_TRUE(settled->late());
  EXPECT_EQ(settled->cost(), "3.00");
  EXPECT_EQ(settled->credit_left(), "7.00");
  EXPECT_EQ(Get(id).available_credit(), "7.00");
  absl::StatusOr<uint64_t> expired = Expire();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 0u);  // settled: nothing left to expire
}

TEST_F(CallsTest, SettleRetryReturnsTheFirstAnswerAndWritesNothing) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "5"));
  absl::StatusOr<v1::SettleResponse> first = Settle(SettleCost("r1", "3", 120));
  ASSERT_TRUE(first.ok()) << first.status();
  const uint64_t before = ledger_->last_sequence();
  Advance(30);
  absl::StatusOr<v1::SettleResponse> retry = Settle(SettleCost("r1", "3", 120));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_THAT(*retry, EqualsProto(*first));
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Get(id).credit_left(), "7.00");

  for (const v1::SettleRequest& other :
       {SettleCost("r1", "4", 120), SettleCost("r1", "3", 121), SettleCost("r1", "3")}) {
    absl::StatusOr<v1::SettleResponse> conflict = Settle(other);
    EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists)
        << other.ShortDebugString() << ": " << conflict.status();
  }
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Get(id).credit_left(), "7.00");

  // Still after a restart.
  ASSERT_NO_FATAL_FAILURE(Reopen());
  retry = Settle(SettleCost("r1", "3", 120));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_THAT(*retry, EqualsProto(*first));
  EXPECT_EQ(ledger_->last_sequence(), before);
}

TEST_F(CallsTest, SettleAReleasedOrUnknownReservation) {
  AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "5"));
  ASSERT_TRUE(Release("r1").ok());
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::SettleResponse> settled = Settle(SettleCost("r1", "1"));
  EXPECT_EQ(settled.status().code(), absl::StatusCode::kFailedPrecondition) << settled.status();
  settled = Settle(SettleCost("nope", "1"));
  EXPECT_EQ(settled.status().code(), absl::StatusCode::kNotFound) << settled.status();
  EXPECT_EQ(ledger_->last_sequence(), before);
}

TEST_F(CallsTest, SettleRejectsMalformedInput) {
  AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "5"));
  const uint64_t before = ledger_->last_sequence();
  v1::SettleRequest bad_time = SettleCost("r1", "1");
  bad_time.mutable_started_at()->set_seconds(-5);
  for (const v1::SettleRequest& request :
       {SettleCost("", "1"), SettleCost("r1", "-1"), SettleCost("r1", "1.0000001"),
        SettleCost("r1", "1e1"), SettleDuration("r1", 86401), bad_time}) {
    absl::StatusOr<v1::SettleResponse> settled = Settle(request);
    EXPECT_EQ(settled.status().code(), absl::StatusCode::kInvalidArgument)
        << request.ShortDebugString() << ": " << settled.status();
  }
  EXPECT_EQ(ledger_->last_sequence(), before);
}

// =======================================================================================
// Release

TEST_F(CallsTest, ReleaseFreesTheHoldAndChargesNothing) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "4"));
  ASSERT_TRUE(Extend(ExtendAmount("r1", "1")).ok());
  absl::StatusOr<v1::ReleaseResponse> released = Release("r1");
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->reservation_id(), "r1");
  EXPECT_EQ(released->released_amount(), "5.00");
  EXPECT_EQ(released->available_credit(), "10.00");
  v1::CallerId callerid = Get(id);
  EXPECT_EQ(callerid.credit_left(), "10.00");
  EXPECT_EQ(Micros(callerid.held_credit()), 0);
  EXPECT_EQ(callerid.open_reservations(), 0u);

  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::ReleaseResponse> retry = Release("r1");
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_THAT(*retry, EqualsProto(*released));
  EXPECT_EQ(ledger_->last_sequence(), before);
  absl::StatusOr<v1::ReleaseResponse> conflict = Release("r1", "");  // an administrator
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists) << conflict.status();
  absl::StatusOr<v1::ReleaseResponse> unknown = Release("nope");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
  EXPECT_EQ(ledger_->last_sequence(), before);
}

TEST_F(CallsTest, ReleaseAfterSettleIsFailedPrecondition) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "4"));
  ASSERT_TRUE(Settle(SettleCost("r1", "1")).ok());
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::ReleaseResponse> released = Release("r1");
  EXPECT_EQ(released.status().code(), absl::StatusCode::kFailedPrecondition) << released.status();
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Get(id).credit_left(), "9.00");
}

// Settled and released reservations leave the in-memory state, and idempotency keys are
// never kept there; their stored rows answer every later call on them, in the same run,
// after a restart and after a rebuild.
TEST_F(CallsTest, ClosedReservationsAnswerAsBeforeAfterARestartAndARebuild) {
  uint64_t id = AddCaller("0791234567", "20");
  const v1::ReserveRequest reserve_settled = ReserveAmount("settled", "0791234567", "5");
  const v1::ReserveResponse reserved = ReserveOk(reserve_settled);
  ReserveOk(ReserveAmount("released", "0791234567", "4"));
  ReserveOk(ReserveAmount("open", "0791234567", "3"));
  // Extends with a request_id, on the one that will settle and on the one left open.
  v1::ExtendRequest extend_settled = ExtendAmount("settled", "1");
  extend_settled.set_request_id("x-settled");
  v1::ExtendRequest extend_open = ExtendAmount("open", "1");
  extend_open.set_request_id("x-open");
  absl::StatusOr<v1::ExtendResponse> extended_settled = Extend(extend_settled);
  ASSERT_TRUE(extended_settled.ok()) << extended_settled.status();
  absl::StatusOr<v1::ExtendResponse> extended_open = Extend(extend_open);
  ASSERT_TRUE(extended_open.ok()) << extended_open.status();
  absl::StatusOr<v1::SettleResponse> settled = Settle(SettleCost("settled", "2", 60));
  ASSERT_TRUE(settled.ok()) << settled.status();
  absl::StatusOr<v1::ReleaseResponse> released = Release("released");
  ASSERT_TRUE(released.ok()) << released.status();
  const uint64_t before = ledger_->last_sequence();

  auto expect_same_answers = [&](const std::string& when) {
    SCOPED_TRACE(when);
    absl::StatusOr<v1::ReserveResponse> reserve = Reserve(reserve_settled);
    ASSERT_TRUE(reserve.ok()) << reserve.status();
    EXPECT_THAT(*reserve, EqualsProto(reserved));
    absl::StatusOr<v1::ReserveResponse> reused =
        Reserve(ReserveAmount("settled", "0791234567", "6"));
    EXPECT_EQ(reused.status().code(), absl::StatusCode::kAlreadyExists) << reused.status();
    absl::StatusOr<v1::SettleResponse> settle = Settle(SettleCost("settled", "2", 60));
    ASSERT_TRUE(settle.ok()) << settle.status();
    EXPECT_THAT(*settle, EqualsProto(*settled));
    absl::StatusOr<v1::ReleaseResponse> release = Release("released");
    ASSERT_TRUE(release.ok()) << release.status();
    EXPECT_THAT(*release, EqualsProto(*released));
    EXPECT_EQ(Settle(SettleCost("settled", "3", 60)).status().code(),
              absl::StatusCode::kAlreadyExists);
    EXPECT_EQ(Settle(SettleCost("released", "1")).status().code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(Release("settled").status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(Extend(ExtendAmount("settled", "1")).status().code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(Extend(ExtendAmount("released", "1")).status().code(),
              absl::StatusCode::kFailedPrecondition);
    for (const auto& [request, first] : {std::make_pair(extend_settled, *extended_settled),
                                         std::make_pair(extend_open, *extended_open)}) {
      absl::StatusOr<v1::ExtendResponse> extend = Extend(request);
      ASSERT_TRUE(extend.ok()) << request.request_id() << ": " << extend.status();
      EXPECT_THAT(*extend, EqualsProto(first));
      v1::ExtendRequest other = request;
      other.set_amount("2");
      EXPECT_EQ(Extend(other).status().code(), absl::StatusCode::kAlreadyExists)
          << request.request_id();
    }
    EXPECT_EQ(ledger_->last_sequence(), before);
    v1::CallerId callerid = Get(id);
    EXPECT_EQ(callerid.credit_left(), "18.00");
    EXPECT_EQ(callerid.held_credit(), "4.00");
    EXPECT_EQ(callerid.open_reservations(), 1u);
  };
  expect_same_answers("in the same run");
  ASSERT_NO_FATAL_FAILURE(Reopen());
  expect_same_answers("after a restart");
  ledger_.reset();
  options_.rebuild_projections = true;
  ASSERT_NO_FATAL_FAILURE(Open());
  options_.rebuild_projections = false;
  expect_same_answers("after a rebuild of the projections");

  // The one left open still closes, and then answers from its row as well.
  absl::StatusOr<v1::SettleResponse> last = Settle(SettleCost("open", "1"));
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  absl::StatusOr<v1::SettleResponse> again = Settle(SettleCost("open", "1"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(*again, EqualsProto(*last));
  EXPECT_EQ(Get(id).credit_left(), "17.00");
  ExpectProjectionsVerify();
}

// =======================================================================================
// Money conservation

struct Hold {
  uint64_t callerid_id = 0;
  int64_t held = 0;
  int64_t expires_at = 0;
  std::string node_id;
};

struct Account {
  std::string number;
  int64_t recharges = 0;  // initial credit included
  int64_t charged = 0;
};

TEST_F(CallsTest, MoneyIsConservedThroughAMixedScenario) {
  std::map<uint64_t, Account> accounts;
  std::vector<uint64_t> limited;
  for (int i = 0; i < 4; ++i) {
    std::string number = absl::StrCat("079123456", i);
    std::string credit = absl::StrCat(5 * (i + 1), ".", 25 * i);
    uint64_t id = AddCaller(number, credit);
    accounts[id] = Account{number, Micros(credit), 0};
    limited.push_back(id);
  }
  AddUnlimited("0799999999");
  std::map<std::string, Hold> open;  // reservation_id -> what it holds
  std::vector<std::string> closed;
  const std::vector<v1::Rate> rates = {MakeRate("", "0.60", 30), MakeRate("0.10", "1.20", 60),
                                       MakeRate("", "0.0125", 1), MakeRate("0.05", "2", 6, 60)};
  std::mt19937_64 random(42);
  auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
  auto money = [&](int64_t max_cents) {
    int64_t cents = static_cast<int64_t>(random() % static_cast<uint64_t>(max_cents)) + 1;
    return absl::StrCat(cents / 100, ".", cents % 100 < 10 ? "0" : "", cents % 100);
  };
  auto any_open = [&]() -> std::string {
    if (open.empty()) return "";
    auto it = open.begin();
    std::advance(it, pick(open.size()));
    return it->first;
  };

  auto check = [&](int step) {
    std::map<uint64_t, int64_t> held;
    for (const auto& [id, hold] : open) held[hold.callerid_id] += hold.held;
    for (uint64_t id : limited) {
      const Account& account = accounts[id];
      v1::CallerId callerid = Get(id);
      ASSERT_EQ(Micros(callerid.total_credit()), account.recharges) << "step " << step;
      ASSERT_EQ(Micros(callerid.credit_left()), account.recharges - account.charged)
          << "step " << step;
      ASSERT_EQ(Micros(callerid.held_credit()), held[id]) << "step " << step;
      ASSERT_EQ(Micros(callerid.available_credit()),
                Micros(callerid.credit_left()) - Micros(callerid.held_credit()))
          << "step " << step;
      ASSERT_GE(Micros(callerid.available_credit()), 0) << "step " << step;
      ASSERT_GE(Micros(callerid.credit_left()), 0) << "step " << step;
    }
  };

  int next_reservation = 0;
  std::map<std::string, int> seen;  // what the scenario went through
  for (int step = 0; step < 240; ++step) {
    size_t action = pick(10);
    if (action <= 2) {  // reserve, by amount or by rate and seconds
      uint64_t id = limited[pick(limited.size())];
      bool unlimited = pick(8) == 0;
      std::string number = unlimited ? "0799999999" : accounts[id].number;
      std::string rid = absl::StrCat("m", next_reservation++);
      std::string node = absl::StrCat("node-", pick(3));
      uint32_t ttl = static_cast<uint32_t>(30 + pick(300));
      v1::ReserveRequest request =
          pick(2) == 0 ? ReserveAmount(rid, number, money(400), ttl, node)
                       : ReserveSeconds(rid, number, rates[pick(rates.size())], 1 + pick(900), ttl);
      request.set_node_id(node);
      absl::StatusOr<v1::ReserveResponse> reply = Reserve(request);
      ASSERT_TRUE(reply.ok()) << reply.status();
      if (reply->decision() == v1::ALLOWED) {
        Hold hold;
        hold.callerid_id = unlimited ? 0 : id;
        hold.held = unlimited ? 0 : Micros(reply->granted_amount());
        hold.expires_at = TimeMicros(reply->expires_at());
        hold.node_id = node;
        open[rid] = hold;
        ++seen["reserved"];
        if (reply->final_grant()) ++seen["final grant"];
      } else {
        ASSERT_EQ(reply->decision(), v1::NO_CREDIT);
        ++seen["reserve: no credit"];
      }
    } else if (action == 3) {  // extend, by amount or with a request id
      std::string rid = any_open();
      if (rid.empty()) continue;
      v1::ExtendRequest request =
          ExtendAmount(rid, money(200), pick(2) == 0 ? absl::StrCat("x", step) : "");
      request.set_node_id(open[rid].node_id);  // the node that opened it
      absl::StatusOr<v1::ExtendResponse> reply = Extend(request);
      ASSERT_TRUE(reply.ok()) << reply.status();
      if (reply->decision() == v1::ALLOWED) {
        open[rid].held = open[rid].callerid_id == 0 ? 0 : Micros(reply->held_amount());
        open[rid].expires_at = TimeMicros(reply->expires_at());
        ++seen["extended"];
      } else {
        ASSERT_THAT(reply->decision(), AnyOf(v1::NO_CREDIT, v1::EXPIRED));
        ++seen["extend denied"];
      }
    } else if (action <= 5) {  // settle, by cost or by duration, sometimes above the hold
      std::string rid = any_open();
      if (rid.empty()) continue;
      v1::SettleRequest request =
          pick(3) == 0 ? SettleDuration(rid, pick(1200)) : SettleCost(rid, money(900));
      request.set_node_id(open[rid].node_id);
      absl::StatusOr<v1::SettleResponse> reply = Settle(request);
      if (!reply.ok()) {
        // Settling by duration a reservation without a rate.
        ASSERT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition) << reply.status();
        continue;
      }
      if (open[rid].callerid_id != 0)
        accounts[open[rid].callerid_id].charged += Micros(reply->cost());
      ASSERT_GE(Micros(reply->uncollected()), 0);
      ++seen["settled"];
      if (Micros(reply->uncollected()) > 0) ++seen["uncollected"];
      if (reply->late()) ++seen["late"];
      open.erase(rid);
      closed.push_back(rid);
    } else if (action == 6) {  // release
      std::string rid = any_open();
      if (rid.empty()) continue;
      absl::StatusOr<v1::ReleaseResponse> reply = Release(rid, open[rid].node_id);
      ASSERT_TRUE(reply.ok()) << reply.status();
      ++seen["released"];
      open.erase(rid);
      closed.push_back(rid);
    } else if (action == 7) {  // a recharge, now and then a negative one
      uint64_t id = limited[pick(limited.size())];
      std::string amount = pick(4) == 0 ? "-" + money(300) : money(1000);
      absl::StatusOr<v1::Recharge> reply = Recharge(id, amount);
      if (reply.ok()) {
        accounts[id].recharges += Micros(amount);
        ++seen["recharged"];
      } else {
        ASSERT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition) << reply.status();
      }
    } else if (action == 8) {  // time passes; what is due expires
      Advance(static_cast<int64_t>(pick(120)));
      absl::StatusOr<uint64_t> expired = Expire();
      ASSERT_TRUE(expired.ok()) << expired.status();
      uint64_t due = 0;
      for (auto it = open.begin(); it != open.end();) {
        if (it->second.expires_at <= Now()) {
          ++due;
          closed.push_back(it->first);
          it = open.erase(it);
        } else {
          ++it;
        }
      }
      ASSERT_EQ(*expired, due) << "step " << step;
      seen["expired"] += static_cast<int>(due);
    } else {  // a node resyncs, keeping about half of its calls
      std::string node = absl::StrCat("node-", pick(3));
      std::vector<std::string> keep;
      std::set<std::string> dropped;
      for (const auto& [rid, hold] : open) {
        if (hold.node_id != node) continue;
        if (pick(2) == 0) {
          keep.push_back(rid);
        } else {
          dropped.insert(rid);
        }
      }
      absl::StatusOr<v1::SyncReservationsResponse> reply = Sync(node, keep);
      ASSERT_TRUE(reply.ok()) << reply.status();
      std::set<std::string> released(reply->released_reservation_ids().begin(),
                                     reply->released_reservation_ids().end());
      ASSERT_EQ(released, dropped) << "step " << step;
      seen["orphaned"] += static_cast<int>(dropped.size());
      for (const std::string& rid : dropped) {
        open.erase(rid);
        closed.push_back(rid);
      }
    }
    ASSERT_NO_FATAL_FAILURE(check(step));
    if (step == 120) {
      ASSERT_NO_FATAL_FAILURE(Reopen());
      ASSERT_NO_FATAL_FAILURE(check(step));
    }
  }
  EXPECT_GT(closed.size(), 20u);
  for (const char* what :
       {"reserved", "reserve: no credit", "final grant", "extended", "extend denied", "settled",
        "uncollected", "released", "recharged", "expired", "orphaned"}) {
    EXPECT_GT(seen[what], 0) << what;
  }

  // Late settles of some released reservations charge from what is available.
  for (size_t i = 0; i < closed.size() && i < 10; ++i) {
    absl::StatusOr<v1::SettleResponse> reply = Settle(SettleCost(closed[i], "0.01"));
    if (!reply.ok()) continue;  // settled already, or released by the node
    uint64_t id = reply->callerid_id();
    if (accounts.count(id) != 0) accounts[id].charged += Micros(reply->cost());
    EXPECT_TRUE(reply->late());
    ++seen["late"];
  }
  EXPECT_GT(seen["late"], 0);
  ASSERT_NO_FATAL_FAILURE(check(1000));

  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsVerify());
}

}  // namespace
}  // namespace callbackledger
