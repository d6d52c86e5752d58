// Tests of the license and extension limits (SPEC section 2) through the public Ledger
// facade: what GetLicenseUsage reports, how many CallerIDs may be enabled under the license
// and under an extension's policy, and SetExtensionPolicy, on a real RocksDB store in a fresh
// temporary directory with a fake clock.
#include <cstdint>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "gtest/gtest.h"
#include "ledger/ledger.h"
#include "ledger/testing/ledger_test_base.h"

namespace callbackledger {
namespace {

using testing::ExpectInvalid;
using testing::kDefaultLicense;
using testing::kExt;
using testing::kOtherExt;
using testing::LedgerTest;

TEST_F(LedgerTest, LicenseUsageNamesTheCurrencyAndDecimals) {
  v1::LicenseUsage usage = Usage();
  EXPECT_EQ(usage.currency(), "USD");
  EXPECT_EQ(usage.decimals(), 2);
  EXPECT_EQ(usage.max_active_callerids(), kDefaultLicense);
}

TEST_F(LedgerTest, LicenseLimitCountsOnlyEnabledCallerIds) {
  ASSERT_NO_FATAL_FAILURE(ReopenWithLicense(2));
  uint64_t a = AddOk("5550001");
  uint64_t b = AddOk("5550002", "", kOtherExt);
  v1::LicenseUsage usage = Usage();
  EXPECT_EQ(usage.max_active_callerids(), 2u);
  EXPECT_EQ(usage.active_callerids(), 2u);
  EXPECT_EQ(usage.total_callerids(), 2u);
  EXPECT_EQ(usage.available(), 0u);

  // The limit is the server's: both extensions count.
  uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::CallerId> third = Add(AddRequest("5550003"));
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted) << third.status();
  EXPECT_EQ(Add(AddRequest("5550003", "", "9999")).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Usage().total_callerids(), 2u);

  // Adding a disabled one still works.
  v1::AddCallerIdRequest disabled = AddRequest("5550003");
  disabled.set_status(v1::CallerId::DISABLED);
  absl::StatusOr<v1::CallerId> c = Add(disabled);
  ASSERT_TRUE(c.ok()) << c.status();
  usage = Usage();
  EXPECT_EQ(usage.active_callerids(), 2u);
  EXPECT_EQ(usage.total_callerids(), 3u);
  EXPECT_EQ(usage.available(), 0u);

  // Enabling it at the limit is refused and writes nothing.
  before = ledger_->last_sequence();
  absl::StatusOr<v1::CallerId> enabled = SetStatus(c->id(), v1::CallerId::ENABLED);
  EXPECT_EQ(enabled.status().code(), absl::StatusCode::kResourceExhausted) << enabled.status();
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Get(c->id())->status(), v1::CallerId::DISABLED);

  // "Enabling" one that already is enabled is no new activation.
  absl::StatusOr<v1::CallerId> same = SetStatus(a, v1::CallerId::ENABLED);
  EXPECT_TRUE(same.ok()) << same.status();
  // An edit of an enabled CallerID that does not touch its status is fine at the limit.
  v1::UpdateCallerIdRequest order;
  order.set_callerid_id(b);
  order.set_order_no("ORD-2");
  EXPECT_TRUE(Update(order).ok());

  // Disabling one frees a slot.
  ASSERT_TRUE(SetStatus(a, v1::CallerId::DISABLED).ok());
  usage = Usage();
  EXPECT_EQ(usage.active_callerids(), 1u);
  EXPECT_EQ(usage.available(), 1u);
  enabled = SetStatus(c->id(), v1::CallerId::ENABLED);
  ASSERT_TRUE(enabled.ok()) << enabled.status();
  EXPECT_EQ(enabled->status(), v1::CallerId::ENABLED);
  usage = Usage();
  EXPECT_EQ(usage.active_callerids(), 2u);
  EXPECT_EQ(usage.total_callerids(), 3u);
  EXPECT_EQ(usage.available(), 0u);
  EXPECT_EQ(SetStatus(a, v1::CallerId::ENABLED).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(LedgerTest, LoweredLicenseKeepsWhatIsEnabledButEnablesNoMore) {
  uint64_t a = AddOk("5550001");
  AddOk("5550002");
  uint64_t c = AddOk("5550003");
  ASSERT_NO_FATAL_FAILURE(ReopenWithLicense(2));
  v1::LicenseUsage usage = Usage();
  EXPECT_EQ(usage.max_active_callerids(), 2u);
  EXPECT_EQ(usage.active_callerids(), 3u);
  EXPECT_EQ(usage.available(), 0u);
  EXPECT_EQ(Get(a)->status(), v1::CallerId::ENABLED);
  EXPECT_EQ(Add(AddRequest("5550004")).status().code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(SetStatus(c, v1::CallerId::DISABLED).ok());
  EXPECT_EQ(SetStatus(c, v1::CallerId::ENABLED).status().code(),
            absl::StatusCode::kResourceExhausted);  // 2 of 2 still enabled
  ASSERT_TRUE(SetStatus(a, v1::CallerId::DISABLED).ok());
  EXPECT_TRUE(SetStatus(c, v1::CallerId::ENABLED).ok());
}

TEST_F(LedgerTest, LicenseLimitAppliesToConcurrentAdds) {
  ASSERT_NO_FATAL_FAILURE(ReopenWithLicense(5));
  std::vector<std::future<absl::StatusOr<v1::CallerId>>> pending;
  for (int i = 0; i < 12; ++i) {
    pending.push_back(Start(&Ledger::AddCallerId, AddRequest(absl::StrCat("555000", 10 + i))));
  }
  int ok = 0;
  int exhausted = 0;
  for (auto& future : pending) {
    absl::StatusOr<v1::CallerId> added = Wait(std::move(future));
    if (added.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(added.status().code(), absl::StatusCode::kResourceExhausted) << added.status();
      ++exhausted;
    }
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(exhausted, 7);
  EXPECT_EQ(Usage().active_callerids(), 5u);
  EXPECT_EQ(ledger_->last_sequence(), 5u);
}

TEST_F(LedgerTest, ExtensionPolicyLimitIsLowerThanTheLicense) {
  absl::StatusOr<v1::ExtensionPolicy> policy = SetPolicy(kExt, 1);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->extension(), kExt);
  EXPECT_EQ(policy->max_active_callerids(), 1u);

  uint64_t a = AddOk("5550001");
  uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::CallerId> b = Add(AddRequest("5550002"));
  EXPECT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted) << b.status();
  EXPECT_EQ(ledger_->last_sequence(), before);
  // Other extensions only have the license's limit.
  EXPECT_NE(AddOk("5550002", "", kOtherExt), 0u);
  EXPECT_NE(AddOk("5550003", "", kOtherExt), 0u);
  // A disabled one may be added, but not enabled.
  v1::AddCallerIdRequest disabled = AddRequest("5550002");
  disabled.set_status(v1::CallerId::DISABLED);
  uint64_t d = AddOk(disabled);
  before = ledger_->last_sequence();
  EXPECT_EQ(SetStatus(d, v1::CallerId::ENABLED).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ledger_->last_sequence(), before);

  v1::LicenseUsage usage = Usage(kExt);
  EXPECT_EQ(usage.active_callerids(), 3u);
  EXPECT_EQ(usage.total_callerids(), 4u);
  EXPECT_EQ(usage.available(), kDefaultLicense - 3);
  EXPECT_EQ(usage.extension_policy().extension(), kExt);
  EXPECT_EQ(usage.extension_policy().max_active_callerids(), 1u);
  EXPECT_EQ(usage.extension_policy().active_callerids(), 1u);
  EXPECT_EQ(usage.extension_policy().total_callerids(), 2u);
  EXPECT_EQ(Usage(kOtherExt).extension_policy().active_callerids(), 2u);

  ASSERT_TRUE(SetStatus(a, v1::CallerId::DISABLED).ok());
  EXPECT_TRUE(SetStatus(d, v1::CallerId::ENABLED).ok());
  EXPECT_EQ(SetStatus(a, v1::CallerId::ENABLED).status().code(),
            absl::StatusCode::kResourceExhausted);

  // Raising the policy, or 0 (only the license), lets more in.
  ASSERT_TRUE(SetPolicy(kExt, 0).ok());
  EXPECT_TRUE(SetStatus(a, v1::CallerId::ENABLED).ok());
  EXPECT_NE(AddOk("5550009"), 0u);
  EXPECT_EQ(Usage(kExt).extension_policy().active_callerids(), 3u);
}

TEST_F(LedgerTest, ExtensionPolicyCannotRaiseTheLicense) {
  ASSERT_NO_FATAL_FAILURE(ReopenWithLicense(2));
  ASSERT_TRUE(SetPolicy(kExt, 10).ok());
  AddOk("5550001");
  AddOk("5550002");
  EXPECT_EQ(Add(AddRequest("5550003")).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(LedgerTest, SetExtensionPolicyRejectsMalformedInput) {
  v1::SetExtensionPolicyRequest request;
  request.set_extension("bad ext");
  ExpectInvalid(Call(&Ledger::SetExtensionPolicy, request).status(), "extension");
  request.set_extension(kExt);
  for (const char* min : {"-1", "1.0000001", "1e2", "abc"}) {
    request.set_min_credit_to_call(min);
    ExpectInvalid(Call(&Ledger::SetExtensionPolicy, request).status(), "min_credit_to_call");
  }
  EXPECT_EQ(ledger_->last_sequence(), 0u);
  request.set_min_credit_to_call("0.5");
  absl::StatusOr<v1::ExtensionPolicy> policy = Call(&Ledger::SetExtensionPolicy, request);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->min_credit_to_call(), "0.50");
}

}  // namespace
}  // namespace callbackledger
