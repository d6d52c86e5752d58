#include "projections/state.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"

namespace callbackledger {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

google::protobuf::Timestamp Time(int64_t seconds, int32_t nanos) {
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(seconds);
  timestamp.set_nanos(nanos);
  return timestamp;
}

TEST(UnixMicrosTest, ConvertsBothWaysAndDropsSubMicroseconds) {
  EXPECT_EQ(ToUnixMicros(Time(1700000000, 123456789)), 1700000000123456);
  EXPECT_EQ(ToUnixMicros(Time(-1, 500000000)), -500000);
  for (int64_t micros : {int64_t{0}, int64_t{-1}, int64_t{1700000000123456},
                         int64_t{-62135596800000000}, int64_t{253402300799999999}}) {
    EXPECT_EQ(ToUnixMicros(FromUnixMicros(micros)), micros) << micros;
  }
}

// A corrupt event of the log can carry any seconds; converting them must not overflow
// (found by fuzz/event_fuzzer.cc).
TEST(UnixMicrosTest, TimesBeyondInt64MicrosSaturate) {
  EXPECT_EQ(ToUnixMicros(Time(3563352692617580, 5000)), kMax);
  EXPECT_EQ(ToUnixMicros(Time(kMax, 999999999)), kMax);
  EXPECT_EQ(ToUnixMicros(Time(-3563352692617580, 0)), kMin);
  EXPECT_EQ(ToUnixMicros(Time(kMin, -999999999)), kMin);
  EXPECT_EQ(ToUnixMicros(Time(kMax / 1000000, 999999999)), kMax);
  EXPECT_EQ(ToUnixMicros(Time(kMin / 1000000, -999999999)), kMin);
}

CallerIdState Callerid(uint64_t id, int64_t credit) {
  CallerIdState callerid;
  callerid.id = id;
  callerid.extension = "100";
  callerid.callback_number = "+4072100000" + std::to_string(id);
  callerid.credit_left_micros = credit;
  return callerid;
}

ReservationState Reservation(const std::string& id, int64_t expires_micros) {
  ReservationState reservation;
  reservation.set_reservation_id(id);
  reservation.set_state(store::v1::ReservationRow::OPEN);
  *reservation.mutable_expires_at() = FromUnixMicros(expires_micros);
  return reservation;
}

// A group decided while the one before it is still being written reads through its own
// Delta, then the pending one, then the State.
class TwoDeltaViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Delta loaded;
    View setup(&state_, &loaded);
    setup.PutCallerId(Callerid(1, 100));
    setup.PutNumber("100", "+407210000001", 1);
    setup.PutCallerId(Callerid(2, 200));
    setup.PutReservation(Reservation("r-state", 10));
    setup.mutable_meta().last_sequence = 5;
    state_.Merge(&loaded);
  }

  State state_;
  Delta pending_;
  Delta own_;
};

TEST_F(TwoDeltaViewTest, ReadsTheOwnDeltaThenThePendingOneThenTheState) {
  View before(&state_, &pending_);
  before.PutCallerId(Callerid(1, 150));  // changed by the pending group
  before.EraseCallerId(2);               // removed by it
  before.EraseNumber("100", "+407210000001");
  before.PutIdempotency("AddCredit\x1fk", IdempotencyEntry("fingerprint", 7));
  before.mutable_meta().last_sequence = 7;

  View view(&state_, &pending_, &own_);
  EXPECT_EQ(view.FindCallerId(1)->credit_left_micros, 150);
  EXPECT_EQ(view.FindCallerId(2), nullptr) << "removed by the pending group";
  EXPECT_FALSE(view.FindNumber("100", "+407210000001").has_value());
  EXPECT_NE(view.FindIdempotency("AddCredit\x1fk"), nullptr);
  EXPECT_EQ(view.meta().last_sequence, 7u);
  EXPECT_EQ(view.FindReservation("r-state"), state_.FindReservation("r-state"));

  view.PutCallerId(Callerid(1, 120));  // this group's own change wins
  view.PutCallerId(Callerid(2, 50));   // and may bring back what the pending one removed
  view.mutable_meta().last_sequence += 1;
  EXPECT_EQ(view.FindCallerId(1)->credit_left_micros, 120);
  EXPECT_EQ(view.FindCallerId(2)->credit_left_micros, 50);
  EXPECT_EQ(view.meta().last_sequence, 8u) << "the own meta starts from the pending one";
  // The pending Delta is only read.
  EXPECT_EQ(pending_.callerids_.at(1)->credit_left_micros, 150);
  EXPECT_EQ(pending_.meta_->last_sequence, 7u);
}

TEST_F(TwoDeltaViewTest, MergingThePendingDeltaFirstLeavesTheOwnOneValidOnItsOwn) {
  View before(&state_, &pending_);
  before.PutCallerId(Callerid(3, 300));
  before.mutable_meta().last_sequence = 6;
  View view(&state_, &pending_, &own_);
  CallerIdState third = *view.FindCallerId(3);
  third.credit_left_micros -= 30;
  view.PutCallerId(third);
  view.mutable_meta().last_sequence = 7;

  state_.Merge(&pending_);  // the pending group is durable
  EXPECT_EQ(View(&state_, &own_).FindCallerId(3)->credit_left_micros, 270);
  state_.Merge(&own_);
  EXPECT_EQ(state_.FindCallerId(3)->credit_left_micros, 270);
  EXPECT_EQ(state_.FindCallerId(1)->credit_left_micros, 100);
  EXPECT_EQ(state_.meta().last_sequence, 7u);
  ASSERT_NE(state_.ExtensionIds("100"), nullptr);
  EXPECT_EQ(state_.ExtensionIds("100")->size(), 3u);
}

TEST_F(TwoDeltaViewTest, ListsEachReservationTheStateHasNotYetOnce) {
  View before(&state_, &pending_);
  before.PutReservation(Reservation("r-pending", 20));
  before.PutReservation(Reservation("r-both", 30));
  View view(&state_, &pending_, &own_);
  view.PutReservation(Reservation("r-own", 40));
  view.PutReservation(Reservation("r-both", 50));
  view.PutReservation(Reservation("r-state", 60));  // the State has it: not listed

  std::vector<std::string> ids = view.ReservationsNotInBase();
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"r-both", "r-own", "r-pending"}));
  EXPECT_EQ(ToUnixMicros(view.FindReservation("r-both")->expires_at()), 50);
  EXPECT_EQ(ToUnixMicros(view.FindReservation("r-pending")->expires_at()), 20);
}

// The changes of a replay, made one at a time: an add, an update, a removal, reservations
// opened and closed, and counters.
void ChangeThrough(View* view) {
  view->PutCallerId(Callerid(1, 100));
  view->PutNumber("100", "+407210000001", 1);
  view->PutCallerId(Callerid(2, 200));
  view->PutNumber("100", "+407210000002", 2);
  view->PutExtension("100", ExtensionState{0, 0, 2, 2});
  ReservationState opened = Reservation("r-1", 10);
  opened.set_node_id("node-a");
  view->PutReservation(opened);
  ReservationState open_too = Reservation("r-2", 20);
  open_too.set_node_id("node-a");
  view->PutReservation(open_too);
  view->PutIdempotency("AddCredit/k1", IdempotencyEntry("fingerprint", 7));
  CallerIdState second = *view->FindCallerId(2);
  second.held_micros = 50;
  view->PutCallerId(second);
  opened.set_state(store::v1::ReservationRow::SETTLED);  // closed for good: out of the State
  view->PutReservation(opened);
  ReservationState expired = Reservation("r-3", 30);
  expired.set_node_id("node-a");
  view->PutReservation(expired);
  expired.set_state(store::v1::ReservationRow::EXPIRED);  // out too (a late Settle reads it back)
  view->PutReservation(expired);
  view->EraseNumber("100", "+407210000001");
  view->EraseCallerId(1);
  view->PutExtension("100", ExtensionState{5, 7, 1, 1});
  view->mutable_meta().last_sequence = 9;
}

TEST(DirectViewTest, WritesStraightIntoTheStateWhatAMergedDeltaWould) {
  State merged;
  Delta delta;
  View through_delta(&merged, &delta);
  ChangeThrough(&through_delta);
  EXPECT_EQ(merged.FindCallerId(2), nullptr) << "a Delta's View leaves the State alone";
  EXPECT_TRUE(delta.appended_.idempotency_count() == 0 && delta.appended_.number_count() == 0 &&
              delta.appended_.reservations.empty())
      << "a Delta keeps its changes itself";
  EXPECT_EQ(delta.reservations_.at("r-1").state(), store::v1::ReservationRow::SETTLED)
      << "a Delta keeps a settled reservation, for its row to be written";
  merged.Merge(&delta);

  State direct;
  AppendedRows appended;
  View view = View::Direct(&direct, &appended);
  view.appended().recharges.Add();
  EXPECT_EQ(appended.recharges.size(), 1u) << "appended rows go where the caller said";
  ChangeThrough(&view);
  EXPECT_EQ(view.ReservationsNotInBase(), std::vector<std::string>());
  // Its changes to idempotency keys and the number index are listed too, in order, for a
  // replay to write as they come.
  std::vector<std::string> idempotency_keys;
  appended.ForEachIdempotency(
      [&](std::string_view key, const IdempotencyEntry&) { idempotency_keys.emplace_back(key); });
  EXPECT_EQ(idempotency_keys, std::vector<std::string>{"AddCredit/k1"});
  using NumberChange = std::pair<std::string, std::optional<uint64_t>>;
  std::vector<NumberChange> numbers;
  appended.ForEachNumber([&](std::string_view key, std::optional<uint64_t> id) {
    numbers.emplace_back(std::string(key), id);
  });
  EXPECT_EQ(numbers,
            (std::vector<NumberChange>{{NumberKey("100", "+407210000001"), 1},
                                       {NumberKey("100", "+407210000002"), 2},
                                       {NumberKey("100", "+407210000001"), std::nullopt}}));
  // The settled and the expired reservations left the State as they closed: their rows are
  // listed, to be written.
  ASSERT_EQ(appended.reservations.size(), 2);
  EXPECT_EQ(appended.reservations[0].reservation_id(), "r-1");
  EXPECT_EQ(appended.reservations[0].state(), store::v1::ReservationRow::SETTLED);
  EXPECT_EQ(appended.reservations[1].reservation_id(), "r-3");
  EXPECT_EQ(appended.reservations[1].state(), store::v1::ReservationRow::EXPIRED);

  for (const State* state : {&merged, &direct}) {
    SCOPED_TRACE(state == &direct ? "direct" : "merged");
    EXPECT_EQ(state->FindCallerId(1), nullptr);
    ASSERT_NE(state->FindCallerId(2), nullptr);
    EXPECT_EQ(state->FindCallerId(2)->held_micros, 50);
    EXPECT_FALSE(state->FindNumber("100", "+407210000001").has_value());
    EXPECT_EQ(state->FindNumber("100", "+407210000002"), std::optional<uint64_t>(2));
    ASSERT_NE(state->ExtensionIds("100"), nullptr);
    EXPECT_EQ(*state->ExtensionIds("100"), (absl::btree_set<uint64_t>{2}));
    ASSERT_NE(state->FindExtension("100"), nullptr);
    EXPECT_EQ(state->FindExtension("100")->max_active_callerids, 5u);
    EXPECT_EQ(state->FindExtension("100")->active_callerids, 1u);
    Delta none;
    EXPECT_EQ(View(state, &none).FindIdempotency("AddCredit/k1"), nullptr)
        << "keys stay on disk only";
    EXPECT_EQ(state->FindReservation("r-1"), nullptr) << "settled: let go";
    EXPECT_EQ(state->FindReservation("r-3"), nullptr) << "expired: let go";
    EXPECT_EQ(state->reservations().size(), 1u);
    EXPECT_EQ(state->expiry_index(),
              (absl::btree_set<std::pair<int64_t, std::string>>{{20, "r-2"}}));
    ASSERT_NE(state->OpenReservationsOfNode("node-a"), nullptr);
    EXPECT_EQ(*state->OpenReservationsOfNode("node-a"), (absl::btree_set<std::string>{"r-2"}));
    EXPECT_EQ(state->meta().last_sequence, 9u);
  }
}

TEST(NumberKeyBufferTest, HoldsTheSameKeyAsNumberKeyShortOrLong) {
  const std::string short_key = std::string("100") + '\0' + "+407210000001";
  EXPECT_EQ(NumberKeyBuffer("100", "+407210000001").view(), short_key);
  EXPECT_EQ(NumberKey("100", "+407210000001"), short_key);
  EXPECT_EQ(NumberKeyBuffer("", "").view(), std::string(1, '\0'));
  // Longer than the inline buffer: the key is still whole.
  const std::string extension(40, 'e');
  const std::string number(40, '7');
  const std::string long_key = extension + '\0' + number;
  EXPECT_EQ(NumberKeyBuffer(extension, number).view(), long_key);
  EXPECT_EQ(NumberKey(extension, number), long_key);
  State state;
  AppendedRows appended;
  View view = View::Direct(&state, &appended);
  view.PutNumber(extension, number, 3);
  EXPECT_EQ(state.FindNumber(extension, number), std::optional<uint64_t>(3));
  view.EraseNumber(extension, number);
  EXPECT_FALSE(state.FindNumber(extension, number).has_value());
}

TEST(AppendedRowsTest, ListsKeysInOrderAndStartsAfreshAfterClear) {
  AppendedRows appended;
  appended.AddIdempotency("AddCredit/a", IdempotencyEntry("f1", 1));
  appended.AddNumber(NumberKey("100", "+1"), 7);
  appended.AddIdempotency("AddCallerId/bb", IdempotencyEntry("f2", 2));
  appended.Clear();
  EXPECT_EQ(appended.idempotency_count(), 0u);
  EXPECT_EQ(appended.number_count(), 0u);
  appended.AddNumber(NumberKey("200", "+22"), std::nullopt);
  appended.AddIdempotency("Extend/ccc", IdempotencyEntry("f3", 3));
  appended.AddNumber(NumberKey("300", "+333"), 9);

  std::vector<std::pair<std::string, uint64_t>> idempotency;
  appended.ForEachIdempotency([&](std::string_view key, const IdempotencyEntry& entry) {
    EXPECT_EQ(entry.fingerprint(), "f3");
    idempotency.emplace_back(std::string(key), entry.sequence());
  });
  EXPECT_EQ(idempotency, (std::vector<std::pair<std::string, uint64_t>>{{"Extend/ccc", 3}}));
  std::vector<std::pair<std::string, std::optional<uint64_t>>> numbers;
  appended.ForEachNumber([&](std::string_view key, std::optional<uint64_t> id) {
    numbers.emplace_back(std::string(key), id);
  });
  EXPECT_EQ(numbers, (std::vector<std::pair<std::string, std::optional<uint64_t>>>{
                         {NumberKey("200", "+22"), std::nullopt}, {NumberKey("300", "+333"), 9}}));
}

}  // namespace
}  // namespace callbackledger
