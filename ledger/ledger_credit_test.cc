// Tests of the credit commands (SPEC section 2) through the public Ledger facade: AddCredit
// and ListRecharges, on a real RocksDB store in a fresh temporary directory with a fake clock.
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
#include "ledger/ledger.h"
#include "ledger/store.h"
#include "ledger/testing/ledger_test_base.h"
#include "ledger/testing/messages.h"
#include "projections/rows.h"

namespace callbackledger {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using testing::EqualsProto;
using testing::ExpectInvalid;
using testing::kActor;
using testing::kExt;
using testing::kOtherExt;
using testing::kStartMicros;
using testing::LedgerTest;
using testing::Message;

// ---------------------------------------------------------------------------------------
// AddCredit

TEST_F(LedgerTest, AddCreditPositiveAndNegativeOnLimited) {
  uint64_t a = AddOk("5550001", "10");
  clock_.AdvanceMicros(60000000);
  v1::AddCreditRequest request = CreditRequest(a, "5.25");
  request.set_order_no("ORD-5");
  request.set_description("top-up by phone");
  absl::StatusOr<v1::Recharge> recharge = Credit(request);
  ASSERT_TRUE(recharge.ok()) << recharge.status();
  EXPECT_EQ(recharge->id(), ledger_->last_sequence());
  EXPECT_EQ(recharge->callerid_id(), a);
  EXPECT_EQ(recharge->amount(), "5.25");
  EXPECT_EQ(recharge->credit_left(), "15.25");
  EXPECT_EQ(recharge->total_credit(), "15.25");
  EXPECT_EQ(recharge->available_credit(), "15.25");
  EXPECT_FALSE(recharge->unlimited());
  EXPECT_EQ(recharge->order_no(), "ORD-5");
  EXPECT_EQ(recharge->description(), "top-up by phone");
  EXPECT_EQ(recharge->actor(), kActor);
  EXPECT_EQ(ToUnixMicros(recharge->created_at()), kStartMicros + 60000000);

  recharge = Credit(a, "-3");
  ASSERT_TRUE(recharge.ok()) << recharge.status();
  EXPECT_EQ(recharge->amount(), "-3.00");
  EXPECT_EQ(recharge->credit_left(), "12.25");
  EXPECT_EQ(recharge->total_credit(), "12.25");

  absl::StatusOr<v1::CallerId> callerid = Get(a);
  ASSERT_TRUE(callerid.ok());
  EXPECT_EQ(callerid->total_credit(), "12.25");
  EXPECT_EQ(callerid->available_credit(), "12.25");
  EXPECT_EQ(callerid->credit_left(), "12.25");
  EXPECT_EQ(ToUnixMicros(callerid->updated_at()), kStartMicros + 60000000);

  // The answer is the newest entry of the history.
  absl::StatusOr<v1::ListRechargesResponse> history = Recharges(a);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->recharges_size(), 3);
  EXPECT_THAT(history->recharges(0), EqualsProto(*recharge));
}

TEST_F(LedgerTest, TotalCreditIsInitialPlusEveryRecharge) {
  uint64_t a = AddOk("5550001", "100");
  for (const char* amount : {"10", "-20.5", "0.0125", "-0.000001", "3"}) {
    ASSERT_TRUE(Credit(a, amount).ok()) << amount;
  }
  // 100 + 10 - 20.5 + 0.0125 - 0.000001 + 3
  absl::StatusOr<v1::CallerId> callerid = Get(a);
  ASSERT_TRUE(callerid.ok());
  EXPECT_EQ(callerid->total_credit(), "92.512499");
  EXPECT_EQ(callerid->credit_left(), "92.512499");
  EXPECT_EQ(callerid->available_credit(), "92.512499");
}

TEST_F(LedgerTest, AddCreditMayNotTakeCreditBelowZero) {
  uint64_t a = AddOk("5550001", "5");
  uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::Recharge> recharge = Credit(a, "-5.01");
  EXPECT_EQ(recharge.status().code(), absl::StatusCode::kFailedPrecondition) << recharge.status();
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_TRUE(Credit(a, "-0.000001").ok());
  EXPECT_TRUE(Credit(a, "-4.999999").ok());  // exactly to zero
  before = ledger_->last_sequence();
  EXPECT_EQ(Credit(a, "-0.000001").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ledger_->last_sequence(), before);
  absl::StatusOr<v1::CallerId> callerid = Get(a);
  EXPECT_EQ(callerid->total_credit(), "0.00");
  EXPECT_EQ(callerid->available_credit(), "0.00");
  EXPECT_EQ(Recharges(a)->recharges_size(), 3);

  // Zero credit from the start.
  uint64_t b = AddOk("5550002");
  EXPECT_EQ(Credit(b, "-1").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ledger_->last_sequence(), before + 1);
}

TEST_F(LedgerTest, AddCreditConcurrentWithdrawalsNeverOverdraw) {
  uint64_t a = AddOk("5550001", "1");
  std::vector<std::future<absl::StatusOr<v1::Recharge>>> pending;
  for (int i = 0; i < 30; ++i)
    pending.push_back(Start(&Ledger::AddCredit, CreditRequest(a, "-0.05")));
  int ok = 0;
  for (auto& future : pending) {
    absl::StatusOr<v1::Recharge> recharge = Wait(std::move(future));
    if (recharge.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(recharge.status().code(), absl::StatusCode::kFailedPrecondition);
    }
  }
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(Get(a)->available_credit(), "0.00");
  EXPECT_EQ(ledger_->last_sequence(), 21u);
}

TEST_F(LedgerTest, NegativeRechargeMakesUnlimitedLimitedWithNothingLeft) {
  v1::AddCallerIdRequest add = AddRequest("5550001");
  add.set_unlimited(true);
  add.set_order_no("ORD-U");
  uint64_t a = AddOk(add);
  clock_.AdvanceMicros(1000000);

  absl::StatusOr<v1::Recharge> recharge = Credit(a, "-10.00");
  ASSERT_TRUE(recharge.ok()) << recharge.status();
  EXPECT_EQ(recharge->amount(), "-10.00");
  EXPECT_EQ(recharge->credit_left(), "0.00");
  EXPECT_FALSE(recharge->unlimited());
  EXPECT_EQ(recharge->total_credit(), "0.00");
  EXPECT_EQ(recharge->available_credit(), "0.00");

  absl::StatusOr<v1::CallerId> callerid = Get(a);
  ASSERT_TRUE(callerid.ok());
  EXPECT_FALSE(callerid->unlimited());
  EXPECT_EQ(callerid->total_credit(), "0.00");
  EXPECT_EQ(callerid->available_credit(), "0.00");
  EXPECT_EQ(callerid->credit_left(), "0.00");

  absl::StatusOr<v1::ListRechargesResponse> history = Recharges(a);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->recharges_size(), 2);
  EXPECT_EQ(history->recharges(0).amount(), "-10.00");
  EXPECT_EQ(history->recharges(0).credit_left(), "0.00");
  EXPECT_FALSE(history->recharges(0).unlimited());
  EXPECT_EQ(history->recharges(1).amount(), "unlimited");
  EXPECT_TRUE(history->recharges(1).unlimited());
  EXPECT_EQ(history->recharges(1).credit_left(), "");
  EXPECT_EQ(history->recharges(1).description(), "initial credit");
  EXPECT_EQ(history->recharges(1).order_no(), "ORD-U");

  // It is an ordinary limited CallerID now: no going below zero, a recharge does not
  // make it unlimited again.
  uint64_t before = ledger_->last_sequence();
  EXPECT_EQ(Credit(a, "-1").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ledger_->last_sequence(), before);
  recharge = Credit(a, "20");
  ASSERT_TRUE(recharge.ok()) << recharge.status();
  EXPECT_FALSE(recharge->unlimited());
  EXPECT_EQ(recharge->credit_left(), "20.00");
  EXPECT_EQ(recharge->total_credit(), "20.00");
  EXPECT_FALSE(Get(a)->unlimited());
}

TEST_F(LedgerTest, PositiveRechargeKeepsUnlimited) {
  v1::AddCallerIdRequest add = AddRequest("5550001");
  add.set_unlimited(true);
  uint64_t a = AddOk(add);
  absl::StatusOr<v1::Recharge> recharge = Credit(a, "25");
  ASSERT_TRUE(recharge.ok()) << recharge.status();
  EXPECT_EQ(recharge->amount(), "25.00");
  EXPECT_TRUE(recharge->unlimited());
  EXPECT_EQ(recharge->credit_left(), "");
  EXPECT_EQ(recharge->total_credit(), "");
  EXPECT_EQ(recharge->available_credit(), "");
  absl::StatusOr<v1::CallerId> callerid = Get(a);
  EXPECT_TRUE(callerid->unlimited());
  EXPECT_EQ(callerid->total_credit(), "");
  EXPECT_EQ(callerid->available_credit(), "");
}

TEST_F(LedgerTest, AddCreditRejectsZeroAndMalformedAmounts) {
  uint64_t a = AddOk("5550001", "5");
  uint64_t before = ledger_->last_sequence();
  for (const char* amount :
       {"0", "0.00", "-0", "+0.000000", "", "1.0000001", "1e2", "-1E2", "9223372036855",
        "-9223372036855", "abc", " 1", "1.", ".1", "1,5", "--1"}) {
    SCOPED_TRACE(std::string("amount \"") + amount + "\"");
    ExpectInvalid(Credit(a, amount).status(), "amount");
  }
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Get(a)->total_credit(), "5.00");
}

TEST_F(LedgerTest, AddCreditThatWouldOverflowIsRefused) {
  uint64_t a = AddOk("5550001", "9000000000000");
  uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::Recharge> recharge = Credit(a, "9000000000000");
  ASSERT_FALSE(recharge.ok());
  EXPECT_THAT(recharge.status().code(), ::testing::AnyOf(absl::StatusCode::kInvalidArgument,
                                                         absl::StatusCode::kFailedPrecondition))
      << recharge.status();
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Get(a)->total_credit(), "9000000000000.00");
}

TEST_F(LedgerTest, AddCreditByExtensionAndNumber) {
  uint64_t a = AddOk("5550001", "1");
  uint64_t b = AddOk("5550001", "1", kOtherExt);
  v1::AddCreditRequest request;
  request.set_extension(kOtherExt);
  request.set_callback_number("5550001");
  request.set_amount("2");
  absl::StatusOr<v1::Recharge> recharge = Credit(request);
  ASSERT_TRUE(recharge.ok()) << recharge.status();
  EXPECT_EQ(recharge->callerid_id(), b);
  EXPECT_EQ(recharge->credit_left(), "3.00");
  EXPECT_EQ(Get(a)->total_credit(), "1.00");
  EXPECT_EQ(Get(b)->total_credit(), "3.00");

  uint64_t before = ledger_->last_sequence();
  request.set_callback_number("5550002");
  EXPECT_EQ(Credit(request).status().code(), absl::StatusCode::kNotFound);
  request.set_callback_number("55a");
  ExpectInvalid(Credit(request).status(), "callback_number");
  request.set_callback_number("");
  EXPECT_EQ(Credit(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_callback_number("5550001");
  request.set_extension("");
  EXPECT_EQ(Credit(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_extension("no such ext");
  EXPECT_EQ(Credit(request).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger_->last_sequence(), before);
}

// GetCallerId given an id and an extension or a number: they must name the same CallerID,
// as AddCredit requires, and must be well-formed.
TEST_F(LedgerTest, GetCallerIdRefusesAnIdThatContradictsTheNumber) {
  uint64_t a = AddOk("5550001", "1");
  AddOk("5550002", "1");
  v1::GetCallerIdRequest request;
  request.set_callerid_id(a);
  request.set_extension(kExt);
  request.set_callback_number("5550001");
  absl::StatusOr<v1::CallerId> same = ledger_->GetCallerId(request);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->id(), a);

  request.set_callback_number("5550002");  // the other CallerID's number
  absl::StatusOr<v1::CallerId> other = ledger_->GetCallerId(request);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument) << other.status();
  EXPECT_THAT(Message(other.status()), HasSubstr("callback_number"));
  request.clear_callback_number();
  request.set_extension(kOtherExt);
  EXPECT_EQ(ledger_->GetCallerId(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_extension("bad ext");
  ExpectInvalid(ledger_->GetCallerId(request).status(), "extension");
  request.clear_extension();
  request.set_callback_number("55a");
  ExpectInvalid(ledger_->GetCallerId(request).status(), "callback_number");
  request.set_callerid_id(a + 1000);  // unknown id: not found, whatever the number says
  request.set_callback_number("5550001");
  EXPECT_EQ(ledger_->GetCallerId(request).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(LedgerTest, AddCreditToUnknownCallerIdIsNotFound) {
  AddOk("5550001", "1");
  uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::Recharge> recharge = Credit(42, "1");
  EXPECT_EQ(recharge.status().code(), absl::StatusCode::kNotFound) << recharge.status();
  v1::AddCreditRequest none;
  none.set_amount("1");
  ExpectInvalid(Credit(none).status(), "callerid_id");
  EXPECT_EQ(ledger_->last_sequence(), before);
}

TEST_F(LedgerTest, AddCreditTextLimits) {
  uint64_t a = AddOk("5550001", "1");
  v1::AddCreditRequest request = CreditRequest(a, "1");
  request.set_description(std::string(256, 'd'));
  request.set_order_no(std::string(64, 'o'));
  absl::StatusOr<v1::Recharge> recharge = Credit(request);
  ASSERT_TRUE(recharge.ok()) << recharge.status();
  EXPECT_EQ(recharge->description(), std::string(256, 'd'));
  uint64_t before = ledger_->last_sequence();
  request.set_description(std::string(257, 'd'));
  ExpectInvalid(Credit(request).status(), "description");
  request.set_description("ok");
  request.set_order_no(std::string(65, 'o'));
  ExpectInvalid(Credit(request).status(), "order_no");
  EXPECT_EQ(ledger_->last_sequence(), before);
}

// ---------------------------------------------------------------------------------------
// ListRecharges

TEST_F(LedgerTest, ListRechargesNewestFirstWithInitialCreditOldest) {
  v1::AddCallerIdRequest add = AddRequest("5550001", "10");
  add.set_order_no("ORD-1");
  uint64_t a = AddOk(add);
  uint64_t b = AddOk("5550002", "99");  // its history is its own
  for (const char* amount : {"1", "2", "-3"}) {
    clock_.AdvanceMicros(1000000);
    ASSERT_TRUE(Credit(a, amount).ok());
  }
  absl::StatusOr<v1::ListRechargesResponse> history = Recharges(a);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->recharges_size(), 4);
  EXPECT_EQ(history->next_page_token(), "");
  std::vector<std::string> amounts;
  std::vector<std::string> left;
  for (const v1::Recharge& r : history->recharges()) {
    amounts.push_back(r.amount());
    left.push_back(r.credit_left());
    EXPECT_EQ(r.callerid_id(), a);
    EXPECT_EQ(r.actor(), kActor);
  }
  EXPECT_THAT(amounts, ElementsAre("-3.00", "2.00", "1.00", "10.00"));
  EXPECT_THAT(left, ElementsAre("10.00", "13.00", "11.00", "10.00"));
  for (int i = 1; i < history->recharges_size(); ++i) {
    EXPECT_GT(history->recharges(i - 1).id(), history->recharges(i).id());
    EXPECT_GT(ToUnixMicros(history->recharges(i - 1).created_at()),
              ToUnixMicros(history->recharges(i).created_at()));
  }
  const v1::Recharge& initial = history->recharges(3);
  EXPECT_EQ(initial.description(), "initial credit");
  EXPECT_EQ(initial.order_no(), "ORD-1");
  EXPECT_EQ(initial.id(), 1u);
  EXPECT_EQ(ToUnixMicros(initial.created_at()), kStartMicros);

  absl::StatusOr<v1::ListRechargesResponse> other = Recharges(b);
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(other->recharges_size(), 1);
  EXPECT_EQ(other->recharges(0).amount(), "99.00");
}

TEST_F(LedgerTest, ListRechargesPagesCoverEveryRechargeOnce) {
  uint64_t a = AddOk("5550001", "1");
  AddOk("5550002", "1");
  for (int i = 1; i <= 11; ++i) ASSERT_TRUE(Credit(a, absl::StrCat(i)).ok());
  absl::StatusOr<v1::ListRechargesResponse> all = Recharges(a, 1000);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->recharges_size(), 12);

  for (int page_size : {1, 4, 5, 11, 12, 13}) {
    SCOPED_TRACE(absl::StrCat("page_size ", page_size));
    std::vector<uint64_t> seen;
    std::string token;
    int pages = 0;
    do {
      absl::StatusOr<v1::ListRechargesResponse> page = Recharges(a, page_size, token);
      ASSERT_TRUE(page.ok()) << page.status();
      ASSERT_LE(page->recharges_size(), page_size);
      for (const v1::Recharge& r : page->recharges()) seen.push_back(r.id());
      token = page->next_page_token();
      ASSERT_LT(++pages, 20);
    } while (!token.empty());
    EXPECT_EQ(pages, (12 + page_size - 1) / page_size);
    ASSERT_EQ(seen.size(), 12u);
    for (int i = 0; i < 12; ++i) EXPECT_EQ(seen[i], all->recharges(i).id());
  }
}

TEST_F(LedgerTest, ListRechargesRejectsBadRequests) {
  uint64_t a = AddOk("5550001", "1");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Credit(a, "1").ok());
  absl::StatusOr<v1::ListRechargesResponse> first = Recharges(a, 2);
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->next_page_token().empty());
  AddOk("5550002");
  absl::StatusOr<v1::ListCallerIdsResponse> other_listing =
      List(kExt, "", v1::CallerId::STATUS_UNSPECIFIED, 1);
  ASSERT_TRUE(other_listing.ok());
  ASSERT_FALSE(other_listing->next_page_token().empty());

  for (const std::string& token :
       {std::string("garbage"), std::string("!!!"), other_listing->next_page_token(),
        std::string("cmVjaGFyZ2VzOjA") /* "recharges:0" */,
        std::string("cmVjaGFyZ2VzOng") /* "recharges:x" */, std::string(100, 'A')}) {
    SCOPED_TRACE("page_token \"" + token + "\"");
    ExpectInvalid(Recharges(a, 2, token).status(), "page_token");
  }
  ExpectInvalid(Recharges(a, -1).status(), "page_size");
  ExpectInvalid(Recharges(a, 1001).status(), "page_size");
  EXPECT_TRUE(Recharges(a, 1000).ok());
  EXPECT_EQ(Recharges(a, 0)->recharges_size(), 4);  // 0: the default
  ExpectInvalid(Recharges(0).status(), "callerid_id");
  EXPECT_EQ(Recharges(99).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace callbackledger
