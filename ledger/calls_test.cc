// Tests of the call-credit protocol (SPEC section 3) through the public Ledger facade:
// Authorize with PIN lockout, Reserve, Extend, Settle, Release, SyncReservations, expiry
// and the cost report, on a real RocksDB store in a fresh temporary directory with a fake
// clock and no expiry thread (expiry happens only when a test calls ExpireDue).
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/calls.pb.h"
#include "callbackledger/v1/common.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "callbackledger/v1/events.pb.h"
#include "callbackledger/v1/reports.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "ledger/money.h"
#include "ledger/replay.h"
#include "ledger/store.h"
#include "ledger/testing/ledger_fixture.h"
#include "projections/state.h"

namespace callbackledger {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr int64_t kStartMicros = 1700000000000000;  // 2023-11-14T22:13:20Z
constexpr int64_t kSecond = 1000000;
constexpr char kActor[] = "pbx-node-1";
constexpr char kExt[] = "0003*005";
constexpr char kOtherExt[] = "0003*006";
constexpr char kNode[] = "node-1";
constexpr uint32_t kPinMaxAttempts = 3;
constexpr uint32_t kDefaultTtl = 300;
constexpr char kPin[] = "1234";
constexpr char kWrongPin[] = "9999";

// Compares two messages field by field and prints the differences.
MATCHER_P(EqualsProto, expected, "") {
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(expected, arg)) return true;
  *result_listener << "differs: " << diff;
  return false;
}

// Money text as micros; a sentinel that matches nothing real when it does not parse.
int64_t Micros(const std::string& money) {
  absl::StatusOr<int64_t> micros = ParseMoney("money", money);
  return micros.ok() ? *micros : std::numeric_limits<int64_t>::min();
}

int64_t TimeMicros(const google::protobuf::Timestamp& timestamp) { return ToUnixMicros(timestamp); }

v1::Rate MakeRate(const std::string& fee, const std::string& price, uint32_t increment,
                  uint32_t minimum = 0) {
  v1::Rate rate;
  rate.set_connect_fee(fee);
  rate.set_price_per_minute(price);
  rate.set_billing_increment_seconds(increment);
  rate.set_minimum_billed_seconds(minimum);
  return rate;
}

class CallsTest : public testing::LedgerFixture {
 protected:
  CallsTest() : LedgerFixture("calls_test", kActor, kStartMicros) {}

  void Configure(LedgerOptions* options) override {
    options->pin_max_attempts = kPinMaxAttempts;
    options->default_ttl_seconds = kDefaultTtl;
    options->expiry_poll_milliseconds = 0;
  }

  absl::StatusOr<uint64_t> Expire() {
    auto promise = std::make_shared<std::promise<absl::StatusOr<uint64_t>>>();
    std::future<absl::StatusOr<uint64_t>> future = promise->get_future();
    ledger_->ExpireDue(
        [promise](absl::StatusOr<uint64_t> count) { promise->set_value(std::move(count)); });
    return Wait(std::move(future));
  }

  void Advance(int64_t seconds) { clock_.AdvanceMicros(seconds * kSecond); }
  int64_t Now() { return clock_.NowMicros(); }

  // ---- operator calls

  uint64_t AddCaller(const std::string& number, const std::string& credit,
                     const std::string& pin = "", const std::string& extension = kExt,
                     v1::CallerId::Status status = v1::CallerId::ENABLED) {
    v1::AddCallerIdRequest request;
    request.set_extension(extension);
    request.set_callback_number(number);
    request.set_initial_credit(credit);
    request.set_pin(pin);
    request.set_status(status);
    absl::StatusOr<v1::CallerId> added = Call(&Ledger::AddCallerId, request);
    EXPECT_TRUE(added.ok()) << added.status();
    return added.ok() ? added->id() : 0;
  }

  uint64_t AddUnlimited(const std::string& number, const std::string& extension = kExt) {
    v1::AddCallerIdRequest request;
    request.set_extension(extension);
    request.set_callback_number(number);
    request.set_unlimited(true);
    absl::StatusOr<v1::CallerId> added = Call(&Ledger::AddCallerId, request);
    EXPECT_TRUE(added.ok()) << added.status();
    return added.ok() ? added->id() : 0;
  }

  v1::CallerId Get(uint64_t id) {
    v1::GetCallerIdRequest request;
    request.set_callerid_id(id);
    absl::StatusOr<v1::CallerId> callerid = ledger_->GetCallerId(request);
    EXPECT_TRUE(callerid.ok()) << callerid.status();
    return callerid.ok() ? *callerid : v1::CallerId();
  }

  absl::StatusOr<v1::CallerId> SetStatus(uint64_t id, v1::CallerId::Status status) {
    v1::UpdateCallerIdRequest request;
    request.set_callerid_id(id);
    request.set_status(status);
    return Call(&Ledger::UpdateCallerId, request);
  }

  absl::StatusOr<v1::CallerId> ResetPinLock(uint64_t id) {
    v1::UpdateCallerIdRequest request;
    request.set_callerid_id(id);
    request.set_reset_pin_lock(true);
    return Call(&Ledger::UpdateCallerId, request);
  }

  absl::StatusOr<v1::Recharge> Recharge(uint64_t id, const std::string& amount) {
    v1::AddCreditRequest request;
    request.set_callerid_id(id);
    request.set_amount(amount);
    return Call(&Ledger::AddCredit, request);
  }

  absl::Status Remove(uint64_t id) {
    v1::RemoveCallerIdsRequest request;
    request.add_callerid_ids(id);
    return Call(&Ledger::RemoveCallerIds, request).status();
  }

  absl::StatusOr<v1::ExtensionPolicy> SetMinCredit(const std::string& extension,
                                                   const std::string& min_credit) {
    v1::SetExtensionPolicyRequest request;
    request.set_extension(extension);
    request.set_min_credit_to_call(min_credit);
    return Call(&Ledger::SetExtensionPolicy, request);
  }

  // ---- PBX node calls

  absl::StatusOr<v1::AuthorizeResponse> Authorize(const std::string& number,
                                                  const std::string& pin = "",
                                                  const v1::Rate* rate = nullptr,
                                                  const std::string& extension = kExt) {
    v1::AuthorizeRequest request;
    request.set_extension(extension);
    request.set_callback_number(number);
    request.set_pin(pin);
    if (rate != nullptr) *request.mutable_rate() = *rate;
    return Call(&Ledger::Authorize, request);
  }

  // The decision of an Authorize that must answer OK.
  v1::Decision Decision(const std::string& number, const std::string& pin = "") {
    absl::StatusOr<v1::AuthorizeResponse> reply = Authorize(number, pin);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? reply->decision() : v1::DECISION_UNSPECIFIED;
  }

  static v1::ReserveRequest ReserveAmount(const std::string& reservation_id,
                                          const std::string& number, const std::string& amount,
                                          uint32_t ttl_seconds = 0,
                                          const std::string& node_id = kNode) {
    v1::ReserveRequest request;
    request.set_reservation_id(reservation_id);
    request.set_extension(kExt);
    request.set_callback_number(number);
    request.set_amount(amount);
    request.set_ttl_seconds(ttl_seconds);
    request.set_call_id("call-" + reservation_id);
    request.set_node_id(node_id);
    request.set_destination("0041441234567");
    return request;
  }

  static v1::ReserveRequest ReserveSeconds(const std::string& reservation_id,
                                           const std::string& number, const v1::Rate& rate,
                                           uint64_t seconds, uint32_t ttl_seconds = 0) {
    v1::ReserveRequest request = ReserveAmount(reservation_id, number, "", ttl_seconds);
    *request.mutable_rate() = rate;
    request.set_seconds(seconds);
    return request;
  }

  absl::StatusOr<v1::ReserveResponse> Reserve(const v1::ReserveRequest& request) {
    return Call(&Ledger::Reserve, request);
  }

  // A Reserve that must be granted.
  v1::ReserveResponse ReserveOk(const v1::ReserveRequest& request) {
    absl::StatusOr<v1::ReserveResponse> reply = Reserve(request);
    EXPECT_TRUE(reply.ok()) << reply.status();
    if (!reply.ok()) return v1::ReserveResponse();
    EXPECT_EQ(reply->decision(), v1::ALLOWED) << reply->ShortDebugString();
    return *reply;
  }

  static v1::ExtendRequest ExtendAmount(const std::string& reservation_id,
                                        const std::string& amount,
                                        const std::string& request_id = "",
                                        uint32_t ttl_seconds = 0) {
    v1::ExtendRequest request;
    request.set_reservation_id(reservation_id);
    request.set_amount(amount);
    request.set_request_id(request_id);
    request.set_ttl_seconds(ttl_seconds);
    request.set_node_id(kNode);
    return request;
  }

  absl::StatusOr<v1::ExtendResponse> Extend(const v1::ExtendRequest& request) {
    return Call(&Ledger::Extend, request);
  }

  static v1::SettleRequest SettleCost(const std::string& reservation_id, const std::string& cost,
                                      uint64_t duration_seconds = 0) {
    v1::SettleRequest request;
    request.set_reservation_id(reservation_id);
    request.set_cost(cost);
    request.set_duration_seconds(duration_seconds);
    request.set_node_id(kNode);
    return request;
  }

  static v1::SettleRequest SettleDuration(const std::string& reservation_id,
                                          uint64_t duration_seconds) {
    return SettleCost(reservation_id, "", duration_seconds);
  }

  absl::StatusOr<v1::SettleResponse> Settle(const v1::SettleRequest& request) {
    return Call(&Ledger::Settle, request);
  }

  absl::StatusOr<v1::ReleaseResponse> Release(const std::string& reservation_id,
                                              const std::string& node_id = kNode) {
    v1::ReleaseRequest request;
    request.set_reservation_id(reservation_id);
    request.set_node_id(node_id);
    return Call(&Ledger::Release, request);
  }

  absl::StatusOr<v1::SyncReservationsResponse> Sync(const std::string& node_id,
                                                    const std::vector<std::string>& keep) {
    v1::SyncReservationsRequest request;
    request.set_node_id(node_id);
    for (const std::string& id : keep) request.add_reservation_ids(id);
    return Call(&Ledger::SyncReservations, request);
  }

  absl::StatusOr<v1::GetCostReportResponse> Report(const v1::GetCostReportRequest& request) {
    return ledger_->GetCostReport(request);
  }

  std::vector<v1::Event> EventsFrom(uint64_t from_sequence) {
    v1::ReadEventsRequest request;
    request.set_from_sequence(from_sequence);
    request.set_page_size(1000);
    absl::StatusOr<v1::ReadEventsResponse> read = ledger_->ReadEvents(request);
    EXPECT_TRUE(read.ok()) << read.status();
    if (!read.ok()) return {};
    return std::vector<v1::Event>(read->events().begin(), read->events().end());
  }
};

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

// =======================================================================================
// SyncReservations

TEST_F(CallsTest, SyncReleasesTheNodesOrphansOnly) {
  uint64_t id = AddCaller("0791234567", "20");
  ReserveOk(ReserveAmount("r1", "0791234567", "2"));
  ReserveOk(ReserveAmount("r2", "0791234567", "3"));
  ReserveOk(ReserveAmount("r3", "0791234567", "4"));
  ReserveOk(ReserveAmount("r4", "0791234567", "5", 0, "node-2"));
  ReserveOk(ReserveAmount("r5", "0791234567", "1"));
  ASSERT_TRUE(Settle(SettleCost("r5", "1")).ok());  // closed: not the sync's business
  const uint64_t before = ledger_->last_sequence();

  absl::StatusOr<v1::SyncReservationsResponse> synced = Sync(kNode, {"r2", "gone-already"});
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_THAT(synced->released_reservation_ids(), UnorderedElementsAre("r1", "r3"));
  EXPECT_EQ(synced->released_amount(), "6.00");
  EXPECT_EQ(ledger_->last_sequence(), before + 2);
  v1::CallerId callerid = Get(id);
  EXPECT_EQ(callerid.held_credit(), "8.00");  // r2 and r4
  EXPECT_EQ(callerid.open_reservations(), 2u);
  EXPECT_EQ(callerid.credit_left(), "19.00");

  // The kept reservation and the other node's go on.
  absl::StatusOr<v1::ExtendResponse> extended = Extend(ExtendAmount("r2", "1"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
  v1::ExtendRequest other_node = ExtendAmount("r4", "1");
  other_node.set_node_id("node-2");
  extended = Extend(other_node);
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
  // A released orphan grants nothing more.
  extended = Extend(ExtendAmount("r1", "1"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_NE(extended->decision(), v1::ALLOWED);
  EXPECT_EQ(Micros(extended->granted_amount()), 0);

  // Nothing more to release.
  const uint64_t after = ledger_->last_sequence();
  synced = Sync(kNode, {"r2"});
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_THAT(synced->released_reservation_ids(), IsEmpty());
  EXPECT_EQ(ledger_->last_sequence(), after);

  // A node with no live calls at all.
  synced = Sync("node-2", {});
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_THAT(synced->released_reservation_ids(), ElementsAre("r4"));
  EXPECT_EQ(synced->released_amount(), "6.00");
  EXPECT_EQ(Get(id).held_credit(), "4.00");
}

TEST_F(CallsTest, SyncRejectsMalformedInput) {
  absl::StatusOr<v1::SyncReservationsResponse> synced = Sync("", {"r1"});
  EXPECT_EQ(synced.status().code(), absl::StatusCode::kInvalidArgument) << synced.status();
  synced = Sync(kNode, {""});
  EXPECT_EQ(synced.status().code(), absl::StatusCode::kInvalidArgument) << synced.status();
}

// =======================================================================================
// Expiry

TEST_F(CallsTest, ExpireDueReleasesHoldsPastTheirExpiry) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "2", 60));
  ReserveOk(ReserveAmount("r2", "0791234567", "3", 600));
  uint64_t before = ledger_->last_sequence();
  absl::StatusOr<uint64_t> expired = Expire();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 0u);
  EXPECT_EQ(ledger_->last_sequence(), before);

  Advance(61);
  expired = Expire();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 1u);
  EXPECT_EQ(ledger_->last_sequence(), before + 1);
  std::vector<v1::Event> events = EventsFrom(before + 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reservation_released().reservation_id(), "r1");
  EXPECT_EQ(events[0].reservation_released().reason(), v1::ReservationReleased::EXPIRED);
  EXPECT_EQ(events[0].reservation_released().released_micros(), 2 * kSecond);
  v1::CallerId callerid = Get(id);
  EXPECT_EQ(callerid.held_credit(), "3.00");
  EXPECT_EQ(callerid.available_credit(), "7.00");
  EXPECT_EQ(callerid.open_reservations(), 1u);

  before = ledger_->last_sequence();
  expired = Expire();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 0u);
  EXPECT_EQ(ledger_->last_sequence(), before);

  Advance(600);
  expired = Expire();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 1u);
  callerid = Get(id);
  EXPECT_EQ(Micros(callerid.held_credit()), 0);
  EXPECT_EQ(callerid.available_credit(), "10.00");
  EXPECT_EQ(callerid.credit_left(), "10.00");  // nothing charged
  EXPECT_EQ(callerid.open_reservations(), 0u);

  // An expired reservation's release is a no-op decision, not a second release.
  absl::StatusOr<v1::ReleaseResponse> released = Release("r1");
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(Micros(released->released_amount()), 0);
  EXPECT_EQ(Get(id).available_credit(), "10.00");
}

TEST_F(CallsTest, OpenHoldsAndTheirExpirySurviveARestart) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "4", 120));
  ReserveOk(ReserveAmount("r2", "0791234567", "1", 3600));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  v1::CallerId callerid = Get(id);
  EXPECT_EQ(callerid.held_credit(), "5.00");
  EXPECT_EQ(callerid.available_credit(), "5.00");
  EXPECT_EQ(callerid.open_reservations(), 2u);

  Advance(100);
  absl::StatusOr<uint64_t> expired = Expire();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 0u);
  Advance(21);
  expired = Expire();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 1u);
  EXPECT_EQ(Get(id).held_credit(), "1.00");

  ASSERT_NO_FATAL_FAILURE(Reopen());
  absl::StatusOr<v1::ExtendResponse> extended = Extend(ExtendAmount("r2", "1"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
  EXPECT_EQ(extended->held_amount(), "2.00");
  extended = Extend(ExtendAmount("r1", "1"));
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::EXPIRED);
}

TEST_F(CallsTest, ACallerIdWithAnOpenReservationCannotBeRemoved) {
  uint64_t id = AddCaller("0791234567", "10");
  ReserveOk(ReserveAmount("r1", "0791234567", "4"));
  const uint64_t before = ledger_->last_sequence();
  absl::Status removed = Remove(id);
  EXPECT_EQ(removed.code(), absl::StatusCode::kFailedPrecondition) << removed;
  EXPECT_EQ(ledger_->last_sequence(), before);
  ASSERT_TRUE(Settle(SettleCost("r1", "2")).ok());
  removed = Remove(id);
  EXPECT_TRUE(removed.ok()) << removed;

  // The same after a release and after an expiry.
  uint64_t released = AddCaller("0791234568", "10");
  ReserveOk(ReserveAmount("r2", "0791234568", "4", 60));
  ReserveOk(ReserveAmount("r3", "0791234568", "4", 60));
  EXPECT_EQ(Remove(released).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Release("r2").ok());
  EXPECT_EQ(Remove(released).code(), absl::StatusCode::kFailedPrecondition);
  Advance(61);
  ASSERT_TRUE(Expire().ok());
  removed = Remove(released);
  EXPECT_TRUE(removed.ok()) << removed;
}

// =======================================================================================
// GetCostReport

class CostReportTest : public CallsTest {
 protected:
  // Reserves and settles one call that started at `started`, on its own.
  v1::SettleResponse MakeCall(const std::string& reservation_id, const std::string& number,
                              const std::string& extension, const std::string& cost,
                              uint64_t duration_seconds, int64_t started,
                              const std::string& destination = "0041440000000") {
    v1::ReserveRequest reserve = ReserveAmount(reservation_id, number, "1");
    reserve.set_extension(extension);
    reserve.set_destination(destination);
    ReserveOk(reserve);
    v1::SettleRequest settle = SettleCost(reservation_id, cost, duration_seconds);
    *settle.mutable_started_at() = FromUnixMicros(started);
    absl::StatusOr<v1::SettleResponse> settled = Settle(settle);
    EXPECT_TRUE(settled.ok()) << settled.status();
    return settled.ok() ? *settled : v1::SettleResponse();
  }

  static v1::GetCostReportRequest ByExtension(const std::string& extension) {
    v1::GetCostReportRequest request;
    request.set_extension(extension);
    return request;
  }
  static v1::GetCostReportRequest ByCallerId(uint64_t id) {
    v1::GetCostReportRequest request;
    request.set_callerid_id(id);
    return request;
  }

  static std::vector<std::string> Ids(const v1::GetCostReportResponse& report) {
    std::vector<std::string> ids;
    for (const v1::CallRecord& call : report.calls()) ids.push_back(call.reservation_id());
    return ids;
  }
};

TEST_F(CostReportTest, ByExtensionAndByCallerId) {
  const int64_t t = kStartMicros - 3600 * kSecond;
  uint64_t a = AddCaller("0791234567", "100");
  uint64_t b = AddCaller("0791234568", "100");
  uint64_t c = AddCaller("0791234569", "100", "", kOtherExt);
  MakeCall("a1", "0791234567", kExt, "1", 60, t, "0041441111111");
  MakeCall("a2", "0791234567", kExt, "2.50", 150, t + 120 * kSecond);
  MakeCall("b1", "0791234568", kExt, "0.75", 30, t + 60 * kSecond);
  MakeCall("c1", "0791234569", kOtherExt, "5", 300, t + 30 * kSecond);
  // Reserved and released or still open: not calls.
  ReserveOk(ReserveAmount("open", "0791234567", "1"));
  ReserveOk(ReserveAmount("released", "0791234567", "1"));
  ASSERT_TRUE(Release("released").ok());

  absl::StatusOr<v1::GetCostReportResponse> report = Report(ByExtension(kExt));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("a1", "b1", "a2"));  // by start time
  EXPECT_EQ(report->total_calls(), 3u);
  EXPECT_EQ(report->total_cost(), "4.25");
  EXPECT_EQ(report->total_duration_seconds(), 240u);
  EXPECT_EQ(Micros(report->total_uncollected()), 0);
  EXPECT_TRUE(report->next_page_token().empty());
  const v1::CallRecord& first = report->calls(0);
  EXPECT_EQ(first.callerid_id(), a);
  EXPECT_EQ(first.callback_number(), "0791234567");
  EXPECT_EQ(first.extension(), kExt);
  EXPECT_EQ(first.destination(), "0041441111111");
  EXPECT_EQ(TimeMicros(first.started_at()), t);
  EXPECT_EQ(first.duration_seconds(), 60u);
  EXPECT_EQ(first.cost(), "1.00");
  EXPECT_EQ(Micros(first.uncollected()), 0);
  EXPECT_EQ(first.node_id(), kNode);
  EXPECT_EQ(first.call_id(), "call-a1");
  EXPECT_FALSE(first.late());

  report = Report(ByCallerId(a));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("a1", "a2"));
  EXPECT_EQ(report->total_calls(), 2u);
  EXPECT_EQ(report->total_cost(), "3.50");
  EXPECT_EQ(report->total_duration_seconds(), 210u);
  report = Report(ByCallerId(b));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("b1"));
  report = Report(ByExtension(kOtherExt));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("c1"));
  EXPECT_EQ(report->calls(0).callerid_id(), c);
  EXPECT_EQ(report->total_cost(), "5.00");

  // An extension and a CallerID of another extension; unknown; neither given.
  v1::GetCostReportRequest mismatch = ByCallerId(c);
  mismatch.set_extension(kExt);
  EXPECT_EQ(Report(mismatch).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Report(ByCallerId(999)).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Report(v1::GetCostReportRequest()).status().code(), absl::StatusCode::kInvalidArgument);
  report = Report(ByExtension("0009*999"));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->total_calls(), 0u);
  EXPECT_THAT(Ids(*report), IsEmpty());
}

TEST_F(CostReportTest, StartsAtTheReservationWhenTheNodeGivesNoStartTime) {
  AddCaller("0791234567", "10");
  Advance(42);
  const int64_t opened = Now();
  ReserveOk(ReserveAmount("r1", "0791234567", "1"));
  Advance(100);
  ASSERT_TRUE(Settle(SettleCost("r1", "0.50", 100)).ok());
  absl::StatusOr<v1::GetCostReportResponse> report = Report(ByExtension(kExt));
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->calls_size(), 1);
  EXPECT_EQ(TimeMicros(report->calls(0).started_at()), opened);
  EXPECT_EQ(report->calls(0).destination(), "0041441234567");  // the reservation's
}

TEST_F(CostReportTest, LateAndUncollectedCallsAreReported) {
  uint64_t id = AddCaller("0791234567", "1");
  ReserveOk(ReserveAmount("r1", "0791234567", "1", 60));
  Advance(61);
  ASSERT_TRUE(Expire().ok());
  v1::SettleRequest settle = SettleCost("r1", "1.50", 90);
  absl::StatusOr<v1::SettleResponse> settled = Settle(settle);
  ASSERT_TRUE(settled.ok()) << settled.status();
  absl::StatusOr<v1::GetCostReportResponse> report = Report(ByCallerId(id));
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->calls_size(), 1);
  EXPECT_TRUE(report->calls(0).late());
  EXPECT_EQ(report->calls(0).cost(), "1.00");
  EXPECT_EQ(report->calls(0).uncollected(), "0.50");
  EXPECT_EQ(report->total_cost(), "1.00");
  EXPECT_EQ(report->total_uncollected(), "0.50");
}

TEST_F(CostReportTest, TimeRangeIsStartInclusiveEndExclusive) {
  const int64_t t = kStartMicros - 3600 * kSecond;
  uint64_t a = AddCaller("0791234567", "100");
  uint64_t poor = AddCaller("0791234568", "1");
  MakeCall("m0", "0791234567", kExt, "1", 10, t);
  MakeCall("m1", "0791234568", kExt, "1.50", 20, t + 60 * kSecond);  // 0.50 uncollected
  MakeCall("m2", "0791234567", kExt, "3", 30, t + 120 * kSecond);
  MakeCall("m3", "0791234567", kExt, "4", 40, t + 180 * kSecond);

  v1::GetCostReportRequest request = ByExtension(kExt);
  *request.mutable_start_time() = FromUnixMicros(t + 60 * kSecond);
  *request.mutable_end_time() = FromUnixMicros(t + 180 * kSecond);
  absl::StatusOr<v1::GetCostReportResponse> report = Report(request);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("m1", "m2"));
  EXPECT_EQ(report->total_calls(), 2u);
  EXPECT_EQ(report->total_cost(), "4.00");
  EXPECT_EQ(report->total_uncollected(), "0.50");
  EXPECT_EQ(report->total_duration_seconds(), 50u);

  v1::GetCostReportRequest from = ByExtension(kExt);
  *from.mutable_start_time() = FromUnixMicros(t + 61 * kSecond);
  report = Report(from);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("m2", "m3"));
  EXPECT_EQ(report->total_cost(), "7.00");

  v1::GetCostReportRequest until = ByCallerId(a);
  *until.mutable_end_time() = FromUnixMicros(t + 120 * kSecond);
  report = Report(until);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("m0"));
  EXPECT_EQ(report->total_calls(), 1u);

  v1::GetCostReportRequest only_poor = ByCallerId(poor);
  *only_poor.mutable_start_time() = FromUnixMicros(t);
  *only_poor.mutable_end_time() = FromUnixMicros(t + 60 * kSecond);
  report = Report(only_poor);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), IsEmpty());
  EXPECT_EQ(report->total_calls(), 0u);

  v1::GetCostReportRequest backwards = ByExtension(kExt);
  *backwards.mutable_start_time() = FromUnixMicros(t + 60 * kSecond);
  *backwards.mutable_end_time() = FromUnixMicros(t);
  EXPECT_EQ(Report(backwards).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CostReportTest, PagesCoverEveryCallOnceWithTotalsOverTheWholeRange) {
  const int64_t t = kStartMicros - 3600 * kSecond;
  uint64_t a = AddCaller("0791234567", "100");
  AddCaller("0791234568", "100");
  std::set<std::string> expected;
  int64_t total_cost = 0;
  for (int i = 0; i < 7; ++i) {
    std::string id = absl::StrCat("p", i);
    // Out of start order, and two calls (p0 and p4) starting at the same time.
    int64_t started = t + ((i * 5) % 7 % 6) * 60 * kSecond;
    MakeCall(id, i % 2 == 0 ? "0791234567" : "0791234568", kExt, absl::StrCat(i + 1), 10 * i,
             started);
    expected.insert(id);
    total_cost += (i + 1) * kSecond;
  }
  for (int page_size : {1, 3, 7, 100}) {
    v1::GetCostReportRequest request = ByExtension(kExt);
    request.set_page_size(page_size);
    std::vector<std::string> seen;
    int64_t previous_start = 0;
    int pages = 0;
    while (true) {
      absl::StatusOr<v1::GetCostReportResponse> report = Report(request);
      ASSERT_TRUE(report.ok()) << report.status();
      ++pages;
      ASSERT_LE(report->calls_size(), page_size);
      EXPECT_EQ(report->total_calls(), 7u);
      EXPECT_EQ(Micros(report->total_cost()), total_cost);
      EXPECT_EQ(report->total_duration_seconds(), 210u);
      for (const v1::CallRecord& call : report->calls()) {
        EXPECT_GE(TimeMicros(call.started_at()), previous_start);
        previous_start = TimeMicros(call.started_at());
        seen.push_back(call.reservation_id());
      }
      if (report->next_page_token().empty()) break;
      ASSERT_LT(pages, 20) << "paging does not end";
      request.set_page_token(report->next_page_token());
    }
    EXPECT_EQ(seen.size(), 7u) << "page_size " << page_size;
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), expected)
        << "page_size " << page_size;
    EXPECT_EQ(pages, (7 + page_size - 1) / page_size) << "page_size " << page_size;
  }

  // Paging one CallerID's report.
  v1::GetCostReportRequest request = ByCallerId(a);
  request.set_page_size(2);
  std::vector<std::string> seen;
  while (true) {
    absl::StatusOr<v1::GetCostReportResponse> report = Report(request);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->total_calls(), 4u);
    for (const v1::CallRecord& call : report->calls()) seen.push_back(call.reservation_id());
    if (report->next_page_token().empty()) break;
    ASSERT_LT(seen.size(), 10u);
    request.set_page_token(report->next_page_token());
  }
  EXPECT_THAT(seen, UnorderedElementsAre("p0", "p2", "p4", "p6"));

  // A token of another report, or a made-up one, is refused.
  v1::GetCostReportRequest first = ByExtension(kExt);
  first.set_page_size(1);
  absl::StatusOr<v1::GetCostReportResponse> page = Report(first);
  ASSERT_TRUE(page.ok()) << page.status();
  v1::GetCostReportRequest foreign = ByCallerId(a);
  foreign.set_page_token(page->next_page_token());
  EXPECT_EQ(Report(foreign).status().code(), absl::StatusCode::kInvalidArgument);
  v1::GetCostReportRequest made_up = ByExtension(kExt);
  made_up.set_page_token("bm90LWEtdG9rZW4");
  EXPECT_EQ(Report(made_up).status().code(), absl::StatusCode::kInvalidArgument);
  v1::GetCostReportRequest too_big = ByExtension(kExt);
  too_big.set_page_size(1001);
  EXPECT_EQ(Report(too_big).status().code(), absl::StatusCode::kInvalidArgument);
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
