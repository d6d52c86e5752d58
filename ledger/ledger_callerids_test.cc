// Tests of the CallerID commands (SPEC section 2) through the public Ledger facade:
// AddCallerId, UpdateCallerId and RemoveCallerIds, on a real RocksDB store in a fresh
// temporary directory with a fake clock (the license and extension limits are in
// ledger_license_test.cc, the listings and searches in ledger_list_callerids_test.cc).
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
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
using ::testing::Not;

using testing::EqualsProto;
using testing::ExpectInvalid;
using testing::kExt;
using testing::kOtherExt;
using testing::kStartMicros;
using testing::LedgerTest;
using testing::Message;

// ---------------------------------------------------------------------------------------
// AddCallerId

TEST_F(LedgerTest, AddCallerIdReturnsTheNewCallerId) {
  v1::AddCallerIdRequest request = AddRequest("+41791234567", "10.5");
  request.set_order_no("ORD-17");
  absl::StatusOr<v1::CallerId> added = Add(request);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->id(), 1u);
  EXPECT_EQ(added->extension(), kExt);
  EXPECT_EQ(added->callback_number(), "+41791234567");
  EXPECT_EQ(added->status(), v1::CallerId::ENABLED);  // the default
  EXPECT_FALSE(added->pin_set());
  EXPECT_FALSE(added->unlimited());
  EXPECT_EQ(added->total_credit(), "10.50");
  EXPECT_EQ(added->available_credit(), "10.50");
  EXPECT_EQ(added->credit_left(), "10.50");
  EXPECT_EQ(added->order_no(), "ORD-17");
  EXPECT_EQ(ToUnixMicros(added->created_at()), kStartMicros);
  EXPECT_EQ(ledger_->last_sequence(), 1u);

  absl::StatusOr<v1::CallerId> got = Get(added->id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, EqualsProto(*added));
  absl::StatusOr<v1::CallerId> by_number = GetByNumber(kExt, "+41791234567");
  ASSERT_TRUE(by_number.ok()) << by_number.status();
  EXPECT_EQ(by_number->id(), added->id());

  clock_.AdvanceMicros(1000000);
  absl::StatusOr<v1::CallerId> second = Add(AddRequest("0791234567"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->id(), 2u);
  EXPECT_EQ(ToUnixMicros(second->created_at()), kStartMicros + 1000000);
  EXPECT_EQ(second->total_credit(), "0.00");  // no initial credit is 0
  EXPECT_EQ(second->available_credit(), "0.00");
}

TEST_F(LedgerTest, AddCallerIdAcceptsWellFormedNumbers) {
  for (const std::string& number : {std::string("123"), std::string("+123"), std::string("0003"),
                                    std::string(20, '9'), "+" + std::string(20, '1')}) {
    absl::StatusOr<v1::CallerId> added = Add(AddRequest(number));
    EXPECT_TRUE(added.ok()) << number << ": " << added.status();
    if (added.ok()) {
      EXPECT_EQ(added->callback_number(), number);
    }
  }
}

TEST_F(LedgerTest, AddCallerIdRejectsMalformedNumbers) {
  for (const std::string& number :
       {std::string("12"), std::string(21, '1'), "+" + std::string(21, '1'), std::string("12a45"),
        std::string("+"), std::string("++123"), std::string(" 123"), std::string("123 "),
        std::string(""), std::string("+12"), std::string("1-234"), std::string("12+34"),
        std::string("(012)345")}) {
    uint64_t before = ledger_->last_sequence();
    absl::StatusOr<v1::CallerId> added = Add(AddRequest(number));
    SCOPED_TRACE("number \"" + number + "\"");
    ExpectInvalid(added.status(), "callback_number");
    EXPECT_EQ(ledger_->last_sequence(), before);
  }
  EXPECT_EQ(Usage().total_callerids(), 0u);
}

TEST_F(LedgerTest, AddCallerIdNumberIsUniqueWithinItsExtensionOnly) {
  uint64_t first = AddOk("5551234");
  ASSERT_NE(first, 0u);
  uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::CallerId> again = Add(AddRequest("5551234", "5"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();
  EXPECT_EQ(ledger_->last_sequence(), before);
  // Added disabled, the number is still taken.
  v1::AddCallerIdRequest disabled = AddRequest("5551234");
  disabled.set_status(v1::CallerId::DISABLED);
  EXPECT_EQ(Add(disabled).status().code(), absl::StatusCode::kAlreadyExists);

  absl::StatusOr<v1::CallerId> elsewhere = Add(AddRequest("5551234", "", kOtherExt));
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
  EXPECT_NE(elsewhere->id(), first);
  EXPECT_EQ(GetByNumber(kExt, "5551234")->id(), first);
  EXPECT_EQ(GetByNumber(kOtherExt, "5551234")->id(), elsewhere->id());
}

TEST_F(LedgerTest, AddCallerIdWithPinSetsPinSet) {
  for (const std::string& pin : {std::string("1234"), std::string("123456789012")}) {
    v1::AddCallerIdRequest request = AddRequest("555" + pin);
    request.set_pin(pin);
    absl::StatusOr<v1::CallerId> added = Add(request);
    ASSERT_TRUE(added.ok()) << added.status();
    EXPECT_TRUE(added->pin_set());
    EXPECT_TRUE(Get(added->id())->pin_set());
  }
}

TEST_F(LedgerTest, AddCallerIdRejectsMalformedPinsWithoutRepeatingThem) {
  for (const std::string& pin :
       {std::string("123"), std::string("1234567890123"), std::string("12a4"), std::string("12 34"),
        std::string("-1234"), std::string("+1234"), std::string("１２３４")}) {
    v1::AddCallerIdRequest request = AddRequest("5551234");
    request.set_pin(pin);
    absl::StatusOr<v1::CallerId> added = Add(request);
    SCOPED_TRACE("pin \"" + pin + "\"");
    ExpectInvalid(added.status(), "pin");
    EXPECT_THAT(Message(added.status()), Not(HasSubstr(pin)));
  }
  EXPECT_EQ(ledger_->last_sequence(), 0u);
}

TEST_F(LedgerTest, PinNeverAppearsInRepliesOrEvents) {
  const std::string pin = "80417263";
  const std::string new_pin = "55501234";
  std::vector<std::string> replies;
  v1::AddCallerIdRequest request = AddRequest("5551234", "3");
  request.set_pin(pin);
  request.set_request_id("add-with-pin");
  absl::StatusOr<v1::CallerId> added = Add(request);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_TRUE(added->pin_set());
  replies.push_back(added->SerializeAsString());
  absl::StatusOr<v1::CallerId> retried = Add(request);  // the replayed answer
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->pin_set());
  replies.push_back(retried->SerializeAsString());

  v1::UpdateCallerIdRequest update;
  update.set_callerid_id(added->id());
  update.set_pin(new_pin);
  absl::StatusOr<v1::CallerId> updated = Update(update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_TRUE(updated->pin_set());
  replies.push_back(updated->SerializeAsString());
  replies.push_back(Get(added->id())->SerializeAsString());
  replies.push_back(List(kExt)->SerializeAsString());
  replies.push_back(Recharges(added->id())->SerializeAsString());

  std::vector<v1::Event> events = AllEvents();
  ASSERT_EQ(events.size(), 2u);
  for (const v1::Event& event : events) {
    replies.push_back(event.SerializeAsString());
    replies.push_back(event.DebugString());
    EXPECT_TRUE(event.request_fingerprint().empty());
  }
  EXPECT_TRUE(events[0].caller_id_added().pin().hash().empty());
  EXPECT_TRUE(events[0].caller_id_added().pin().salt().empty());
  EXPECT_TRUE(events[1].caller_id_updated().pin().hash().empty());

  for (const std::string& bytes : replies) {
    EXPECT_EQ(bytes.find(pin), std::string::npos);
    EXPECT_EQ(bytes.find(new_pin), std::string::npos);
  }

  // Nor is it anywhere in the store.
  ledger_.reset();
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStoreReadOnly();
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<rocksdb::ColumnFamilyHandle*> families = {(*store)->events(), (*store)->config()};
  for (int i = 0; i < kProjectionCfCount; ++i) {
    families.push_back((*store)->projection(static_cast<Cf>(i)));
  }
  size_t values = 0;
  for (rocksdb::ColumnFamilyHandle* family : families) {
    std::unique_ptr<rocksdb::Iterator> it(
        (*store)->db()->NewIterator(rocksdb::ReadOptions(), family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++values;
      EXPECT_EQ(it->value().ToString().find(pin), std::string::npos) << family->GetName();
      EXPECT_EQ(it->value().ToString().find(new_pin), std::string::npos) << family->GetName();
    }
  }
  EXPECT_GT(values, 5u);
}

TEST_F(LedgerTest, AddCallerIdInitialCreditIsExact) {
  struct Case {
    std::string initial;
    std::string shown;
  };
  for (const Case& c : std::vector<Case>{{"10.50", "10.50"},
                                         {"10.5", "10.50"},
                                         {"7", "7.00"},
                                         {"0", "0.00"},
                                         {"0.0125", "0.0125"},
                                         {"1.123456", "1.123456"},
                                         {"+3.1", "3.10"},
                                         {"9223372036854", "9223372036854.00"}}) {
    absl::StatusOr<v1::CallerId> added =
        Add(AddRequest(absl::StrCat("555", 1000 + ledger_->last_sequence()), c.initial));
    ASSERT_TRUE(added.ok()) << c.initial << ": " << added.status();
    EXPECT_EQ(added->total_credit(), c.shown) << c.initial;
    EXPECT_EQ(added->available_credit(), c.shown) << c.initial;
    EXPECT_EQ(Get(added->id())->total_credit(), c.shown) << c.initial;
  }
}

TEST_F(LedgerTest, AddCallerIdUnlimitedHasNoCreditNumbers) {
  v1::AddCallerIdRequest request = AddRequest("5551234");
  request.set_unlimited(true);
  absl::StatusOr<v1::CallerId> added = Add(request);
  ASSERT_TRUE(added.ok()) << added.status();
  for (const v1::CallerId& callerid : {*added, *Get(added->id())}) {
    EXPECT_TRUE(callerid.unlimited());
    EXPECT_EQ(callerid.total_credit(), "");
    EXPECT_EQ(callerid.available_credit(), "");
    EXPECT_EQ(callerid.credit_left(), "");
  }
}

TEST_F(LedgerTest, AddCallerIdRejectsBadInitialCredit) {
  v1::AddCallerIdRequest both = AddRequest("5551234", "10");
  both.set_unlimited(true);
  ExpectInvalid(Add(both).status(), "initial_credit");

  for (const char* credit : {"-1",
                             "-0.01",
                             "1.0000001",
                             "0.1234567",
                             "1e3",
                             "1E3",
                             "9223372036855",
                             "-9223372036855",
                             "99999999999999999999",
                             "abc",
                             ".5",
                             "5.",
                             "1.2.3",
                             " 1",
                             "1 ",
                             "1,000",
                             "--1",
                             "0x10",
                             "$5",
                             "5 USD",
                             "NaN",
                             "inf"}) {
    absl::StatusOr<v1::CallerId> added = Add(AddRequest("5551234", credit));
    SCOPED_TRACE(std::string("initial_credit \"") + credit + "\"");
    ExpectInvalid(added.status(), "initial_credit");
  }
  EXPECT_EQ(ledger_->last_sequence(), 0u);
}

TEST_F(LedgerTest, AddCallerIdStatus) {
  absl::StatusOr<v1::CallerId> enabled = Add(AddRequest("5550001"));
  ASSERT_TRUE(enabled.ok()) << enabled.status();
  EXPECT_EQ(enabled->status(), v1::CallerId::ENABLED);

  v1::AddCallerIdRequest request = AddRequest("5550002");
  request.set_status(v1::CallerId::DISABLED);
  absl::StatusOr<v1::CallerId> disabled = Add(request);
  ASSERT_TRUE(disabled.ok()) << disabled.status();
  EXPECT_EQ(disabled->status(), v1::CallerId::DISABLED);
  EXPECT_EQ(Get(disabled->id())->status(), v1::CallerId::DISABLED);

  request = AddRequest("5550003");
  request.set_status(static_cast<v1::CallerId::Status>(7));
  ExpectInvalid(Add(request).status(), "status");
  EXPECT_EQ(ledger_->last_sequence(), 2u);
}

TEST_F(LedgerTest, AddCallerIdOrderNo) {
  v1::AddCallerIdRequest request = AddRequest("5550001", "1");
  request.set_order_no(std::string(64, 'x'));
  absl::StatusOr<v1::CallerId> added = Add(request);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->order_no(), std::string(64, 'x'));

  for (const std::string& order_no : {std::string(65, 'x'), std::string("ORD\n1"),
                                      std::string("ORD\x01"), std::string("\xff\xfe")}) {
    request = AddRequest("5550002", "1");
    request.set_order_no(order_no);
    ExpectInvalid(Add(request).status(), "order_no");
  }
  request = AddRequest("5550002", "1");
  request.set_order_no("Bestellung Nr. 7 \xc3\xa4");  // UTF-8 is fine
  EXPECT_TRUE(Add(request).ok());
  EXPECT_EQ(ledger_->last_sequence(), 2u);
}

TEST_F(LedgerTest, AddCallerIdRejectsInvalidExtensions) {
  for (const std::string& extension :
       {std::string(""), std::string(33, '1'), std::string("00 03"), std::string("0003/005"),
        std::string("0003\n"), std::string("ext\xc3\xa4")}) {
    SCOPED_TRACE("extension \"" + extension + "\"");
    ExpectInvalid(Add(AddRequest("5551234", "", extension)).status(), "extension");
  }
  EXPECT_TRUE(Add(AddRequest("5551234", "", std::string(32, '1'))).ok());
  EXPECT_TRUE(Add(AddRequest("5551234", "", "A-b_c.d#*9")).ok());
  EXPECT_EQ(ledger_->last_sequence(), 2u);
}

// ---------------------------------------------------------------------------------------
// UpdateCallerId

TEST_F(LedgerTest, UpdateCallerIdChangesTheNumber) {
  uint64_t a = AddOk("5550001", "4");
  uint64_t b = AddOk("5550002");
  uint64_t other = AddOk("5550009", "", kOtherExt);
  clock_.AdvanceMicros(5000000);

  v1::UpdateCallerIdRequest request;
  request.set_callerid_id(a);
  request.set_callback_number("+15550001");
  absl::StatusOr<v1::CallerId> updated = Update(request);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->id(), a);
  EXPECT_EQ(updated->callback_number(), "+15550001");
  EXPECT_EQ(updated->total_credit(), "4.00");
  EXPECT_EQ(ToUnixMicros(updated->created_at()), kStartMicros);
  EXPECT_EQ(ToUnixMicros(updated->updated_at()), kStartMicros + 5000000);
  EXPECT_THAT(*Get(a), EqualsProto(*updated));
  EXPECT_EQ(GetByNumber(kExt, "5550001").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(GetByNumber(kExt, "+15550001")->id(), a);

  // The old number is free again; a taken one is not.
  EXPECT_NE(AddOk("5550001"), 0u);
  uint64_t before = ledger_->last_sequence();
  request.set_callback_number("5550002");
  EXPECT_EQ(Update(request).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(Get(a)->callback_number(), "+15550001");
  EXPECT_EQ(GetByNumber(kExt, "5550002")->id(), b);

  // A number of another extension is no conflict; its own number is no change.
  request.set_callback_number("5550009");
  EXPECT_TRUE(Update(request).ok());
  EXPECT_EQ(GetByNumber(kOtherExt, "5550009")->id(), other);
  EXPECT_EQ(GetByNumber(kExt, "5550009")->id(), a);
  absl::StatusOr<v1::CallerId> same = Update(request);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->callback_number(), "5550009");

  for (const char* bad : {"12", "12a45", "", "+"}) {
    request.set_callback_number(bad);
    before = ledger_->last_sequence();
    ExpectInvalid(Update(request).status(), "callback_number");
    EXPECT_EQ(ledger_->last_sequence(), before);
  }
}

TEST_F(LedgerTest, UpdateCallerIdSetsAndRemovesThePin) {
  uint64_t a = AddOk("5550001");
  ASSERT_FALSE(Get(a)->pin_set());
  v1::UpdateCallerIdRequest request;
  request.set_callerid_id(a);
  request.set_pin("4321");
  absl::StatusOr<v1::CallerId> updated = Update(request);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_TRUE(updated->pin_set());
  EXPECT_TRUE(Get(a)->pin_set());

  request.set_pin("987654321098");  // a new PIN
  EXPECT_TRUE(Update(request)->pin_set());

  for (const std::string& bad : {std::string("123"), std::string("12a4"), std::string(13, '1')}) {
    request.set_pin(bad);
    uint64_t before = ledger_->last_sequence();
    absl::StatusOr<v1::CallerId> rejected = Update(request);
    ExpectInvalid(rejected.status(), "pin");
    EXPECT_THAT(Message(rejected.status()), Not(HasSubstr(bad)));
    EXPECT_EQ(ledger_->last_sequence(), before);
  }

  request.set_pin("");  // removes the PIN
  updated = Update(request);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_FALSE(updated->pin_set());
  EXPECT_FALSE(Get(a)->pin_set());
}

TEST_F(LedgerTest, UpdateCallerIdChangesStatusAndOrderNo) {
  uint64_t a = AddOk("5550001");
  absl::StatusOr<v1::CallerId> updated = SetStatus(a, v1::CallerId::DISABLED);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->status(), v1::CallerId::DISABLED);
  EXPECT_EQ(Usage().active_callerids(), 0u);
  updated = SetStatus(a, v1::CallerId::ENABLED);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->status(), v1::CallerId::ENABLED);
  EXPECT_EQ(Usage().active_callerids(), 1u);
  ExpectInvalid(SetStatus(a, v1::CallerId::STATUS_UNSPECIFIED).status(), "status");
  ExpectInvalid(SetStatus(a, static_cast<v1::CallerId::Status>(9)).status(), "status");

  v1::UpdateCallerIdRequest request;
  request.set_callerid_id(a);
  request.set_order_no("ORD-99");
  updated = Update(request);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->order_no(), "ORD-99");
  EXPECT_EQ(Get(a)->order_no(), "ORD-99");
  request.set_order_no(std::string(65, '7'));
  ExpectInvalid(Update(request).status(), "order_no");
  EXPECT_EQ(Get(a)->order_no(), "ORD-99");

  // Several fields at once.
  v1::UpdateCallerIdRequest several;
  several.set_callerid_id(a);
  several.set_callback_number("5550777");
  several.set_pin("2468");
  several.set_status(v1::CallerId::DISABLED);
  several.set_order_no("");
  updated = Update(several);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->callback_number(), "5550777");
  EXPECT_TRUE(updated->pin_set());
  EXPECT_EQ(updated->status(), v1::CallerId::DISABLED);
  EXPECT_EQ(updated->order_no(), "");
}

TEST_F(LedgerTest, UpdateCallerIdIdentifiesTheCallerId) {
  uint64_t a = AddOk("5550001");
  uint64_t b = AddOk("5550002");
  uint64_t before = ledger_->last_sequence();

  v1::UpdateCallerIdRequest request;
  request.set_order_no("X");
  ExpectInvalid(Update(request).status(), "callerid_id");  // no id at all
  request.set_callerid_id(99);
  EXPECT_EQ(Update(request).status().code(), absl::StatusCode::kNotFound);
  request.set_callerid_id(a);
  request.set_id(b);
  EXPECT_EQ(Update(request).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger_->last_sequence(), before);

  v1::UpdateCallerIdRequest nothing;
  nothing.set_callerid_id(a);
  EXPECT_EQ(Update(nothing).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger_->last_sequence(), before);

  // `id` is another name for callerid_id.
  v1::UpdateCallerIdRequest alias;
  alias.set_id(b);
  alias.set_order_no("via-id");
  absl::StatusOr<v1::CallerId> updated = Update(alias);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->id(), b);
  EXPECT_EQ(Get(b)->order_no(), "via-id");
  EXPECT_EQ(Get(a)->order_no(), "");
  alias.set_callerid_id(b);  // both, naming the same one
  EXPECT_TRUE(Update(alias).ok());
  alias.clear_callerid_id();
  alias.set_id(99);
  EXPECT_EQ(Update(alias).status().code(), absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------------------
// RemoveCallerIds

TEST_F(LedgerTest, RemoveCallerIdsRemovesSeveralAtOnce) {
  uint64_t a = AddOk("5550001", "1");
  uint64_t b = AddOk("5550002", "2");
  uint64_t c = AddOk("5550003", "3", kOtherExt);
  absl::StatusOr<v1::RemoveCallerIdsResponse> removed = Remove({a, c});
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_THAT(removed->removed_ids(), ElementsAre(a, c));
  EXPECT_EQ(ledger_->last_sequence(), 4u);  // one event
  EXPECT_EQ(Get(a).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Get(c).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(GetByNumber(kExt, "5550001").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Get(b).ok());
  absl::StatusOr<v1::ListCallerIdsResponse> all = List("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->caller_ids_size(), 1);
  EXPECT_EQ(all->caller_ids(0).id(), b);
  v1::LicenseUsage usage = Usage(kOtherExt);
  EXPECT_EQ(usage.active_callerids(), 1u);
  EXPECT_EQ(usage.total_callerids(), 1u);
  EXPECT_EQ(usage.extension_policy().total_callerids(), 0u);
  EXPECT_EQ(Recharges(a).status().code(), absl::StatusCode::kNotFound);

  // Removing again: it is gone.
  EXPECT_EQ(Remove({a}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(LedgerTest, RemoveCallerIdsIsAllOrNone) {
  uint64_t a = AddOk("5550001");
  uint64_t b = AddOk("5550002");
  uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::RemoveCallerIdsResponse> removed = Remove({a, 77, b});
  EXPECT_EQ(removed.status().code(), absl::StatusCode::kNotFound) << removed.status();
  EXPECT_THAT(Message(removed.status()), HasSubstr("77"));
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_TRUE(Get(a).ok());
  EXPECT_TRUE(Get(b).ok());
  EXPECT_EQ(Usage().total_callerids(), 2u);
}

TEST_F(LedgerTest, RemoveCallerIdsRequestForms) {
  uint64_t a = AddOk("5550001");
  uint64_t b = AddOk("5550002");
  uint64_t c = AddOk("5550003");
  uint64_t before = ledger_->last_sequence();
  ExpectInvalid(Remove({}).status(), "callerid_ids");
  ExpectInvalid(Remove({a, 0}).status(), "callerid_ids");
  v1::RemoveCallerIdsRequest too_many;
  for (uint64_t id = 1; id <= 1001; ++id) too_many.add_callerid_ids(id);
  ExpectInvalid(Call(&Ledger::RemoveCallerIds, too_many).status(), "callerid_ids");
  EXPECT_EQ(ledger_->last_sequence(), before);

  // `ids` is another name; both lists are removed together, duplicates once.
  v1::RemoveCallerIdsRequest request;
  request.add_callerid_ids(a);
  request.add_callerid_ids(a);
  request.add_ids(b);
  request.add_ids(a);
  absl::StatusOr<v1::RemoveCallerIdsResponse> removed = Call(&Ledger::RemoveCallerIds, request);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_THAT(removed->removed_ids(), ElementsAre(a, b));
  EXPECT_TRUE(Get(c).ok());
  EXPECT_EQ(Usage().total_callerids(), 1u);

  // The limit counts distinct ids: one id given 5,000 times is one.
  v1::RemoveCallerIdsRequest repeated;
  for (int i = 0; i < 5000; ++i) repeated.add_callerid_ids(c);
  removed = Call(&Ledger::RemoveCallerIds, repeated);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_THAT(removed->removed_ids(), ElementsAre(c));
}

TEST_F(LedgerTest, RemovedNumberCanBeReused) {
  uint64_t a = AddOk("5550001", "10");
  ASSERT_TRUE(Credit(a, "5").ok());
  ASSERT_TRUE(Remove({a}).ok());
  absl::StatusOr<v1::CallerId> again = Add(AddRequest("5550001", "2"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_GT(again->id(), a);  // ids are never reused
  EXPECT_EQ(again->total_credit(), "2.00");
  EXPECT_EQ(GetByNumber(kExt, "5550001")->id(), again->id());
  absl::StatusOr<v1::ListRechargesResponse> history = Recharges(again->id());
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->recharges_size(), 1);  // none of the old CallerID's recharges
  EXPECT_EQ(history->recharges(0).amount(), "2.00");
}

TEST_F(LedgerTest, RemoveCallerIdsFreesLicenseSlots) {
  ASSERT_NO_FATAL_FAILURE(ReopenWithLicense(2));
  uint64_t a = AddOk("5550001");
  AddOk("5550002");
  ASSERT_EQ(Add(AddRequest("5550003")).status().code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(Remove({a}).ok());
  EXPECT_EQ(Usage().active_callerids(), 1u);
  EXPECT_EQ(Usage().available(), 1u);
  EXPECT_NE(AddOk("5550003"), 0u);
  EXPECT_EQ(Usage().active_callerids(), 2u);

  // Removing a disabled one frees nothing of the license.
  ASSERT_NO_FATAL_FAILURE(ReopenWithLicense(2));
  v1::AddCallerIdRequest disabled = AddRequest("5550004");
  disabled.set_status(v1::CallerId::DISABLED);
  uint64_t d = AddOk(disabled);
  ASSERT_TRUE(Remove({d}).ok());
  EXPECT_EQ(Usage().active_callerids(), 2u);
  EXPECT_EQ(Usage().total_callerids(), 2u);
}

}  // namespace
}  // namespace callbackledger
