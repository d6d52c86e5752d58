// A GoogleTest fixture for tests of the Ledger's CallerID and credit calls: the Ledger
// fixture with a licence limit, helpers for each call, and Snapshot(), everything an
// operator can read as text, to compare two ledgers.
#ifndef CALLBACKLEDGER_LEDGER_TESTING_LEDGER_TEST_BASE_H_
#define CALLBACKLEDGER_LEDGER_TESTING_LEDGER_TEST_BASE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "callbackledger/v1/events.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/ledger.h"
#include "ledger/testing/ledger_fixture.h"

namespace callbackledger {
namespace testing {

inline constexpr int64_t kStartMicros = 1700000000000000;  // 2023-11-14T22:13:20Z
inline constexpr char kActor[] = "operator-alice";
inline constexpr char kExt[] = "0003*005";
inline constexpr char kOtherExt[] = "0003*006";
inline constexpr uint32_t kDefaultLicense = 30;

inline std::string Message(const absl::Status& status) { return std::string(status.message()); }

// An INVALID_ARGUMENT whose message starts with the field it names.
inline void ExpectInvalid(const absl::Status& status, const std::string& field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(Message(status), ::testing::StartsWith(field + ":")) << status;
}

class LedgerTest : public LedgerFixture {
 protected:
  LedgerTest() : LedgerFixture("ledger_test", kActor, kStartMicros) {}

  void Configure(LedgerOptions* options) override {
    options->license_max_active_callerids = kDefaultLicense;
  }

  void ReopenWithLicense(uint32_t license) {
    options_.license_max_active_callerids = license;
    Reopen();
  }

  absl::StatusOr<v1::CallerId> Add(const v1::AddCallerIdRequest& request) {
    return Call(&Ledger::AddCallerId, request);
  }
  absl::StatusOr<v1::CallerId> Update(const v1::UpdateCallerIdRequest& request) {
    return Call(&Ledger::UpdateCallerId, request);
  }
  absl::StatusOr<v1::RemoveCallerIdsResponse> Remove(const std::vector<uint64_t>& ids) {
    v1::RemoveCallerIdsRequest request;
    for (uint64_t id : ids) request.add_callerid_ids(id);
    return Call(&Ledger::RemoveCallerIds, request);
  }
  absl::StatusOr<v1::Recharge> Credit(const v1::AddCreditRequest& request) {
    return Call(&Ledger::AddCredit, request);
  }
  absl::StatusOr<v1::Recharge> Credit(uint64_t id, const std::string& amount) {
    return Credit(CreditRequest(id, amount));
  }
  absl::StatusOr<v1::ExtensionPolicy> SetPolicy(const std::string& extension, uint32_t max) {
    v1::SetExtensionPolicyRequest request;
    request.set_extension(extension);
    request.set_max_active_callerids(max);
    return Call(&Ledger::SetExtensionPolicy, request);
  }
  absl::StatusOr<v1::CallerId> SetStatus(uint64_t id, v1::CallerId::Status status) {
    v1::UpdateCallerIdRequest request;
    request.set_callerid_id(id);
    request.set_status(status);
    return Update(request);
  }

  static v1::AddCallerIdRequest AddRequest(const std::string& number,
                                           const std::string& initial_credit = "",
                                           const std::string& extension = kExt) {
    v1::AddCallerIdRequest request;
    request.set_extension(extension);
    request.set_callback_number(number);
    request.set_initial_credit(initial_credit);
    return request;
  }

  static v1::AddCreditRequest CreditRequest(uint64_t id, const std::string& amount) {
    v1::AddCreditRequest request;
    request.set_callerid_id(id);
    request.set_amount(amount);
    return request;
  }

  // Adds a CallerID that must be accepted; returns its id (0 on failure).
  uint64_t AddOk(const v1::AddCallerIdRequest& request) {
    absl::StatusOr<v1::CallerId> added = Add(request);
    EXPECT_TRUE(added.ok()) << added.status();
    return added.ok() ? added->id() : 0;
  }
  uint64_t AddOk(const std::string& number, const std::string& initial_credit = "",
                 const std::string& extension = kExt) {
    return AddOk(AddRequest(number, initial_credit, extension));
  }

  absl::StatusOr<v1::CallerId> Get(uint64_t id) {
    v1::GetCallerIdRequest request;
    request.set_callerid_id(id);
    return ledger_->GetCallerId(request);
  }
  absl::StatusOr<v1::CallerId> GetByNumber(const std::string& extension,
                                           const std::string& number) {
    v1::GetCallerIdRequest request;
    request.set_extension(extension);
    request.set_callback_number(number);
    return ledger_->GetCallerId(request);
  }

  absl::StatusOr<v1::ListRechargesResponse> Recharges(uint64_t id, int page_size = 0,
                                                      const std::string& token = "") {
    v1::ListRechargesRequest request;
    request.set_callerid_id(id);
    request.set_page_size(page_size);
    request.set_page_token(token);
    return ledger_->ListRecharges(request);
  }

  absl::StatusOr<v1::ListCallerIdsResponse> List(
      const std::string& extension, const std::string& number = "",
      v1::CallerId::Status status = v1::CallerId::STATUS_UNSPECIFIED, int page_size = 0,
      const std::string& token = "") {
    v1::ListCallerIdsRequest request;
    request.set_extension(extension);
    request.set_callback_number(number);
    request.set_status(status);
    request.set_page_size(page_size);
    request.set_page_token(token);
    return ledger_->ListCallerIds(request);
  }

  v1::LicenseUsage Usage(const std::string& extension = "") {
    v1::GetLicenseUsageRequest request;
    request.set_extension(extension);
    absl::StatusOr<v1::LicenseUsage> usage = ledger_->GetLicenseUsage(request);
    EXPECT_TRUE(usage.ok()) << usage.status();
    return usage.ok() ? *usage : v1::LicenseUsage();
  }

  std::vector<v1::Event> AllEvents() {
    v1::ReadEventsRequest request;
    request.set_from_sequence(1);
    request.set_page_size(1000);
    absl::StatusOr<v1::ReadEventsResponse> read = ledger_->ReadEvents(request);
    EXPECT_TRUE(read.ok()) << read.status();
    if (!read.ok()) return {};
    return std::vector<v1::Event>(read->events().begin(), read->events().end());
  }

  // Everything an operator can read, as text, to compare two ledgers.
  std::string Snapshot() {
    std::string out;
    absl::StatusOr<v1::ListCallerIdsResponse> all =
        List("", "", v1::CallerId::STATUS_UNSPECIFIED, 1000);
    EXPECT_TRUE(all.ok()) << all.status();
    if (!all.ok()) return out;
    absl::StrAppend(&out, "callerids: ", all->ShortDebugString(), "\n");
    for (const v1::CallerId& callerid : all->caller_ids()) {
      absl::StatusOr<v1::ListRechargesResponse> recharges = Recharges(callerid.id(), 1000);
      EXPECT_TRUE(recharges.ok()) << recharges.status();
      if (recharges.ok()) {
        absl::StrAppend(&out, "recharges of ", callerid.id(), ": ", recharges->ShortDebugString(),
                        "\n");
      }
    }
    for (const char* extension : {kExt, kOtherExt}) {
      absl::StrAppend(&out, "usage of ", extension, ": ", Usage(extension).ShortDebugString(),
                      "\n");
    }
    absl::StrAppend(&out, "usage: ", Usage().ShortDebugString(), "\n");
    for (const v1::Event& event : AllEvents()) {
      absl::StrAppend(&out, "event: ", event.ShortDebugString(), "\n");
    }
    absl::StrAppend(&out, "last_sequence: ", ledger_->last_sequence(), "\n");
    return out;
  }
};

}  // namespace testing
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_TESTING_LEDGER_TEST_BASE_H_
