// The fixture of the call-credit protocol tests (SPEC section 3) through the public Ledger
// facade: a real RocksDB store in a fresh temporary directory, a fake clock and no expiry
// thread (expiry happens only when a test calls ExpireDue), and the operator and PBX calls
// the tests make. Used by calls_authorize_test, calls_reserve_test, calls_settle_test,
// calls_expiry_test, cost_report_test and format_upgrade_test.
#ifndef LEDGER_TESTING_CALLS_TEST_BASE_H_
#define LEDGER_TESTING_CALLS_TEST_BASE_H_

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
#include "gtest/gtest.h"
#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "ledger/money.h"
#include "ledger/replay.h"
#include "ledger/store.h"
#include "ledger/testing/ledger_fixture.h"
#include "ledger/testing/messages.h"
#include "projections/state.h"

namespace callbackledger {

using testing::EqualsProto;
using testing::MakeRate;

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

// Money text as micros; a sentinel that matches nothing real when it does not parse.
inline int64_t Micros(const std::string& money) {
  absl::StatusOr<int64_t> micros = ParseMoney("money", money);
  return micros.ok() ? *micros : std::numeric_limits<int64_t>::min();
}

inline int64_t TimeMicros(const google::protobuf::Timestamp& timestamp) {
  return ToUnixMicros(timestamp);
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

}  // namespace callbackledger

#endif  // LEDGER_TESTING_CALLS_TEST_BASE_H_
