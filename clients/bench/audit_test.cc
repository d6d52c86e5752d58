#include "clients/bench/audit.h"

#include <optional>
#include <string>

#include "clients/bench/pbx_phases.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace callbackledger::bench {
namespace {

using ::testing::HasSubstr;

constexpr int kCallerIds = 4;
constexpr int kExtensions = 2;

// Credit left in micros for CallerIDs 0..3: 100, 50, unlimited, 7.
CreditLeft Before() {
  CreditLeft credit;
  credit.micros = {100000000, 50000000, std::nullopt, 7000000};
  credit.unlimited = {false, false, true, false};
  return credit;
}

TEST(BenchIndexOfTest, KnowsLedgerBenchsOwnCallerIdsOnly) {
  EXPECT_EQ(BenchIndexOf(ExtensionOf(1), NumberOf(3), kCallerIds, kExtensions), 3);
  EXPECT_EQ(BenchIndexOf(ExtensionOf(0), NumberOf(0), kCallerIds, kExtensions), 0);
  // Another extension than the one ledger-bench puts it on, an index beyond --callerids,
  // and numbers that only look alike.
  EXPECT_EQ(BenchIndexOf(ExtensionOf(0), NumberOf(3), kCallerIds, kExtensions), std::nullopt);
  EXPECT_EQ(BenchIndexOf(ExtensionOf(0), NumberOf(4), kCallerIds, kExtensions), std::nullopt);
  EXPECT_EQ(BenchIndexOf(ExtensionOf(0), "+4070000000001", kCallerIds, kExtensions), std::nullopt);
  EXPECT_EQ(BenchIndexOf(ExtensionOf(0), "+407000000x0", kCallerIds, kExtensions), std::nullopt);
  EXPECT_EQ(BenchIndexOf(ExtensionOf(0), "0040700000000", kCallerIds, kExtensions), std::nullopt);
}

TEST(AuditTest, CreditThatFellByWhatWasChargedAddsUp) {
  Charges charges(kCallerIds);
  charges.Add(0, "1.25");
  charges.Add(0, "0.000001");
  charges.Add(3, "7");
  charges.Add(1, "0");
  CreditLeft after = Before();
  after.micros[0] = 100000000 - 1250001;
  after.micros[3] = 0;
  AuditResult result = Audit(Before(), after, charges, kExtensions);
  EXPECT_TRUE(result.ok()) << result.first_mismatch;
  EXPECT_EQ(result.callerids, 3u);
  EXPECT_EQ(result.unlimited, 1u);
  EXPECT_EQ(result.charged, 8250001);
  EXPECT_EQ(result.credit_fell_by, 8250001);
}

TEST(AuditTest, AMicroTooMuchOrTooLittleIsAMismatchNamingTheCallerId) {
  Charges charges(kCallerIds);
  charges.Add(1, "2.50");
  CreditLeft after = Before();
  after.micros[1] = 50000000 - 2500001;  // a micro more than charged
  AuditResult result = Audit(Before(), after, charges, kExtensions);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.mismatches, 1u);
  EXPECT_THAT(result.first_mismatch, HasSubstr(NumberOf(1)));
  EXPECT_THAT(result.first_mismatch, HasSubstr("50.00 before the calls, 47.499999 after"));
  EXPECT_THAT(result.first_mismatch, HasSubstr("charged 2.50"));

  // Charged, but the credit did not move: a charge the ledger lost.
  after = Before();
  result = Audit(Before(), after, charges, kExtensions);
  EXPECT_EQ(result.mismatches, 1u);
  EXPECT_EQ(result.charged, 2500000);
  EXPECT_EQ(result.credit_fell_by, 0);
}

TEST(AuditTest, ACallerIdGoneOrTurnedUnlimitedIsAMismatch) {
  Charges charges(kCallerIds);
  CreditLeft after = Before();
  after.micros[0] = std::nullopt;  // gone
  after.micros[3] = std::nullopt;  // unlimited now
  after.unlimited[3] = true;
  AuditResult result = Audit(Before(), after, charges, kExtensions);
  EXPECT_EQ(result.mismatches, 2u);
  EXPECT_THAT(result.first_mismatch, HasSubstr(NumberOf(0)));
  EXPECT_THAT(result.first_mismatch, HasSubstr("gone after the calls"));
}

TEST(AuditTest, CallerIdsNotThereAndChargedNothingAreCountedApart) {
  CreditLeft none;
  none.micros.assign(kCallerIds, std::nullopt);
  none.unlimited.assign(kCallerIds, false);
  Charges charges(kCallerIds);
  AuditResult result = Audit(none, none, charges, kExtensions);
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.absent, 4u);
  EXPECT_EQ(result.callerids, 0u);
  // Charged without being there is not.
  charges.Add(2, "1");
  result = Audit(none, none, charges, kExtensions);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.first_mismatch, HasSubstr(NumberOf(2)));
}

TEST(AuditTest, ACostThatIsNotMoneyFailsTheAudit) {
  Charges charges(kCallerIds);
  charges.Add(0, "1.2.3");
  AuditResult result = Audit(Before(), Before(), charges, kExtensions);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.first_mismatch, HasSubstr("a Settle answered a cost that is not money"));
}

}  // namespace
}  // namespace callbackledger::bench
