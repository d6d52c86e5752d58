#include "projections/state.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"
#include "projections/rows.h"

namespace callbackledger {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// Records which rows a Delta emits.
struct RecordingSink : RowSink {
  void Put(Cf cf, std::string_view key, std::string_view /*value*/) override {
    puts.insert({cf, std::string(key)});
  }
  void Delete(Cf cf, std::string_view key) override { deletes.insert({cf, std::string(key)}); }
  std::set<std::pair<Cf, std::string>> puts;
  std::set<std::pair<Cf, std::string>> deletes;
};

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

// An archive over maps, counting its reads; `failure` makes every read fail.
class MapArchive : public RowArchive {
 public:
  absl::StatusOr<std::optional<ReservationState>> FindClosedReservation(
      std::string_view reservation_id) const override {
    ++reads;
    if (!failure.ok()) return failure;
    auto it = rows.find(std::string(reservation_id));
    if (it == rows.end()) return std::nullopt;
    return it->second;
  }

  absl::StatusOr<std::optional<IdempotencyEntry>> FindStoredIdempotency(
      std::string_view key) const override {
    ++key_reads;
    if (!failure.ok()) return failure;
    auto it = keys.find(std::string(key));
    if (it == keys.end()) return std::nullopt;
    return it->second;
  }

  std::map<std::string, ReservationState> rows;
  std::map<std::string, IdempotencyEntry> keys;
  absl::Status failure;
  mutable int reads = 0;
  mutable int key_reads = 0;
};

ReservationState Closed(const std::string& id, store::v1::ReservationRow::State state) {
  ReservationState reservation = Reservation(id, 10);
  reservation.set_node_id("node-a");
  reservation.set_state(state);
  return reservation;
}

TEST(ClosedReservationsTest, MergeKeepsOnlyTheOpenOnes) {
  State state;
  Delta delta;
  {
    View view(&state, &delta);
    for (const char* id : {"r-settled", "r-released", "r-expired", "r-orphaned", "r-open"}) {
      view.PutReservation(Closed(id, store::v1::ReservationRow::OPEN));
    }
  }
  state.Merge(&delta);
  EXPECT_EQ(state.reservations().size(), 5u);
  EXPECT_EQ(state.expiry_index().size(), 5u);
  {
    View view(&state, &delta);
    view.PutReservation(Closed("r-settled", store::v1::ReservationRow::SETTLED));
    view.PutReservation(Closed("r-released", store::v1::ReservationRow::RELEASED));
    view.PutReservation(Closed("r-expired", store::v1::ReservationRow::EXPIRED));
    view.PutReservation(Closed("r-orphaned", store::v1::ReservationRow::ORPHANED));
  }
  // Every one that closed is written to closed_reservations and deleted from reservations.
  RecordingSink rows;
  EmitDelta(delta, &rows);
  for (const char* id : {"r-settled", "r-released", "r-expired", "r-orphaned"}) {
    SCOPED_TRACE(id);
    EXPECT_EQ(rows.puts.count({Cf::kClosedReservations, id}), 1u);
    EXPECT_EQ(rows.puts.count({Cf::kReservations, id}), 0u);
    EXPECT_EQ(rows.deletes.count({Cf::kReservations, id}), 1u);
  }
  state.Merge(&delta);
  for (const char* id : {"r-settled", "r-released", "r-expired", "r-orphaned"}) {
    EXPECT_EQ(state.FindReservation(id), nullptr) << id;
  }
  ASSERT_NE(state.FindReservation("r-open"), nullptr);
  EXPECT_EQ(state.reservations().size(), 1u);
  EXPECT_EQ(state.expiry_index(),
            (absl::btree_set<std::pair<int64_t, std::string>>{{10, "r-open"}}));
  EXPECT_EQ(*state.OpenReservationsOfNode("node-a"), (absl::btree_set<std::string>{"r-open"}));

  // Loading stored rows keeps the same one.
  State loaded;
  loaded.LoadReservation(Closed("r-settled", store::v1::ReservationRow::SETTLED));
  loaded.LoadReservation(Closed("r-released", store::v1::ReservationRow::RELEASED));
  loaded.LoadReservation(Closed("r-expired", store::v1::ReservationRow::EXPIRED));
  loaded.LoadReservation(Closed("r-open", store::v1::ReservationRow::OPEN));
  EXPECT_EQ(loaded.reservations().size(), 1u);
  EXPECT_NE(loaded.FindReservation("r-open"), nullptr);
}

// A replay keeps the expired and orphaned reservations until it ends, for a late Settle
// further on in the log: a direct View has no archive to read them back from.
TEST(ClosedReservationsTest, AReplayKeepsLapsedReservationsUntilItTakesThem) {
  State state;
  AppendedRows appended;
  View direct = View::Direct(&state, &appended);
  state.KeepLapsedReservations();
  for (const char* id : {"r-expired", "r-orphaned", "r-late", "r-open", "r-settled"}) {
    direct.PutReservation(Closed(id, store::v1::ReservationRow::OPEN));
  }
  direct.PutReservation(Closed("r-expired", store::v1::ReservationRow::EXPIRED));
  direct.PutReservation(Closed("r-orphaned", store::v1::ReservationRow::ORPHANED));
  direct.PutReservation(Closed("r-late", store::v1::ReservationRow::EXPIRED));
  direct.PutReservation(Closed("r-settled", store::v1::ReservationRow::SETTLED));
  const ReservationState* late = direct.FindReservation("r-late");
  ASSERT_NE(late, nullptr) << "a late Settle must find it";
  EXPECT_EQ(late->state(), store::v1::ReservationRow::EXPIRED);
  direct.PutReservation(Closed("r-late", store::v1::ReservationRow::SETTLED));
  // The final ones went out with the appended rows as they closed.
  std::vector<std::string> appended_ids;
  for (const auto& row : appended.reservations) appended_ids.push_back(row.reservation_id());
  EXPECT_THAT(appended_ids, ElementsAre("r-settled", "r-late"));

  std::vector<std::string> lapsed;
  for (const ReservationState& row : state.TakeLapsedReservations()) {
    lapsed.push_back(row.reservation_id());
  }
  EXPECT_THAT(lapsed, UnorderedElementsAre("r-expired", "r-orphaned"));
  EXPECT_EQ(state.reservations().size(), 1u);
  EXPECT_NE(state.FindReservation("r-open"), nullptr);

  // Kept no longer: the next one that lapses leaves at once, with the appended rows.
  direct.PutReservation(Closed("r-open", store::v1::ReservationRow::EXPIRED));
  EXPECT_TRUE(state.reservations().empty());
  ASSERT_EQ(appended.reservations.size(), 3);
  EXPECT_EQ(appended.reservations[2].reservation_id(), "r-open");
}

// A replay leaves the indexes of open reservations alone and builds them at the end: they
// come out as if they had been kept all along.
TEST(ClosedReservationsTest, IndexesBuiltAtTheEndEqualTheOnesKeptAlong) {
  auto replay = [](State* state) {
    AppendedRows appended;
    View direct = View::Direct(state, &appended);
    for (const char* id : {"r-a", "r-b", "r-c", "r-d"}) {
      ReservationState open = Closed(id, store::v1::ReservationRow::OPEN);
      if (std::string(id) == "r-b") open.set_node_id("node-b");
      direct.PutReservation(open);
    }
    direct.PutReservation(Closed("r-a", store::v1::ReservationRow::SETTLED));
    direct.PutReservation(Closed("r-c", store::v1::ReservationRow::EXPIRED));
  };
  State kept;
  replay(&kept);
  State suspended;
  suspended.SuspendReservationIndexes();
  replay(&suspended);
  EXPECT_TRUE(suspended.expiry_index().empty());
  suspended.IndexOpenReservations();

  EXPECT_EQ(suspended.reservations().size(), 2u);  // r-c expired and left
  EXPECT_EQ(suspended.expiry_index(), kept.expiry_index());
  EXPECT_EQ(kept.expiry_index(),
            (absl::btree_set<std::pair<int64_t, std::string>>{{10, "r-b"}, {10, "r-d"}}));
  for (const char* node : {"node-a", "node-b"}) {
    ASSERT_NE(kept.OpenReservationsOfNode(node), nullptr) << node;
    ASSERT_NE(suspended.OpenReservationsOfNode(node), nullptr) << node;
    EXPECT_EQ(*suspended.OpenReservationsOfNode(node), *kept.OpenReservationsOfNode(node));
  }
  EXPECT_EQ(*kept.OpenReservationsOfNode("node-a"), (absl::btree_set<std::string>{"r-d"}));

  // Kept along again from then on.
  AppendedRows appended;
  View direct = View::Direct(&suspended, &appended);
  direct.PutReservation(Closed("r-d", store::v1::ReservationRow::RELEASED));
  EXPECT_EQ(suspended.OpenReservationsOfNode("node-a"), nullptr);
  EXPECT_EQ(suspended.expiry_index().size(), 1u);
}

TEST(ClosedReservationsTest, AViewReadsWhatTheStateLetGoFromTheArchiveOnceAGroup) {
  State state;
  Delta delta;
  {
    View setup(&state, &delta);
    setup.PutReservation(Closed("r-open", store::v1::ReservationRow::OPEN));
  }
  state.Merge(&delta);
  MapArchive archive;
  archive.rows["r-done"] = Closed("r-done", store::v1::ReservationRow::SETTLED);

  View view(&state, nullptr, &delta, &archive);
  ASSERT_NE(view.FindReservation("r-open"), nullptr);
  EXPECT_EQ(archive.reads, 0) << "the State has it";
  const ReservationState* done = view.FindReservation("r-done");
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->state(), store::v1::ReservationRow::SETTLED);
  EXPECT_EQ(view.FindReservation("r-done"), done);
  EXPECT_EQ(view.FindReservation("r-new"), nullptr);
  EXPECT_EQ(view.FindReservation("r-new"), nullptr);
  EXPECT_EQ(archive.reads, 2) << "each id is read once a group, found or not";
  EXPECT_TRUE(view.TakeReadError().ok());
  EXPECT_TRUE(delta.empty()) << "what was read is no change";

  // The group's own new reservation is read from the Delta, not from what was not found.
  view.PutReservation(Closed("r-new", store::v1::ReservationRow::OPEN));
  ASSERT_NE(view.FindReservation("r-new"), nullptr);

  delta.Clear();
  View next(&state, nullptr, &delta, &archive);
  EXPECT_NE(next.FindReservation("r-done"), nullptr);
  EXPECT_EQ(archive.reads, 3) << "the next group reads again";
  EXPECT_EQ(View(&state, &delta).FindReservation("r-done"), nullptr) << "no archive, no row";
}

// A reservation that closes moves to closed_reservations; only one the reservations family
// holds (an open one the State has) gets a deletion there, not one the group found in the
// archive or did not find at all (opened in this group).
TEST(ClosedReservationsTest, OnlyARowInTheReservationsFamilyIsDeletedThere) {
  State state;
  Delta delta;
  {
    View setup(&state, &delta);
    setup.PutReservation(Closed("r-open", store::v1::ReservationRow::OPEN));
  }
  state.Merge(&delta);
  MapArchive archive;
  archive.rows["r-expired"] = Closed("r-expired", store::v1::ReservationRow::EXPIRED);

  View view(&state, nullptr, &delta, &archive);
  ASSERT_NE(view.FindReservation("r-expired"), nullptr);
  ASSERT_EQ(view.FindReservation("r-new"), nullptr);
  view.PutReservation(Closed("r-open", store::v1::ReservationRow::SETTLED));
  view.PutReservation(Closed("r-expired", store::v1::ReservationRow::SETTLED));  // late
  view.PutReservation(Closed("r-new", store::v1::ReservationRow::OPEN));
  view.PutReservation(Closed("r-new", store::v1::ReservationRow::RELEASED));
  RecordingSink rows;
  EmitDelta(delta, &rows);
  for (const char* id : {"r-open", "r-expired", "r-new"}) {
    EXPECT_EQ(rows.puts.count({Cf::kClosedReservations, id}), 1u) << id;
    EXPECT_EQ(rows.puts.count({Cf::kReservations, id}), 0u) << id;
  }
  EXPECT_EQ(rows.deletes, (std::set<std::pair<Cf, std::string>>{{Cf::kReservations, "r-open"}}));
}

TEST(ClosedReservationsTest, AFailedArchiveReadIsKeptForTheDeciderAndNotRemembered) {
  State state;
  Delta delta;
  MapArchive archive;
  archive.rows["r-done"] = Closed("r-done", store::v1::ReservationRow::RELEASED);
  archive.failure = absl::UnavailableError("disk gone");
  View view(&state, nullptr, &delta, &archive);
  EXPECT_EQ(view.FindReservation("r-done"), nullptr);
  EXPECT_EQ(view.FindReservation("r-other"), nullptr);
  absl::Status error = view.TakeReadError();
  EXPECT_EQ(error.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(error.message(), "disk gone");
  EXPECT_TRUE(view.TakeReadError().ok()) << "taken once";

  archive.failure = absl::OkStatus();
  ASSERT_NE(view.FindReservation("r-done"), nullptr) << "a failed read is read again";
  EXPECT_TRUE(view.TakeReadError().ok());
}

// Idempotency keys live on disk only: a View finds one written by its own group or the
// pending one without reading, a stored one in the archive once a group, and the State
// keeps none after a merge.
TEST(IdempotencyKeysTest, AViewReadsThemFromTheArchiveOnceAGroupAndTheStateKeepsNone) {
  State state;
  Delta pending;
  Delta own;
  MapArchive archive;
  archive.keys.emplace("Extend/stored", IdempotencyEntry("fp-stored", 3));
  View(&state, &pending).PutIdempotency("Extend/pending", IdempotencyEntry("fp-pending", 8));

  View view(&state, &pending, &own, &archive);
  const IdempotencyEntry* from_pending = view.FindIdempotency("Extend/pending");
  ASSERT_NE(from_pending, nullptr);
  EXPECT_EQ(from_pending->sequence(), 8u);
  EXPECT_EQ(archive.key_reads, 0) << "the pending group has it";
  const IdempotencyEntry* stored = view.FindIdempotency("Extend/stored");
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->fingerprint(), "fp-stored");
  EXPECT_EQ(view.FindIdempotency("Extend/stored"), stored);
  EXPECT_EQ(view.FindIdempotency("Extend/new"), nullptr);
  EXPECT_EQ(view.FindIdempotency("Extend/new"), nullptr);
  EXPECT_EQ(archive.key_reads, 2) << "each key is read once a group, found or not";
  EXPECT_EQ(archive.reads, 0) << "no reservation was asked for";
  EXPECT_TRUE(view.TakeReadError().ok());

  // The group's own new key is read from the Delta, not from what was not found.
  view.PutIdempotency("Extend/new", IdempotencyEntry("fp-new", 9));
  ASSERT_NE(view.FindIdempotency("Extend/new"), nullptr);
  EXPECT_EQ(view.FindIdempotency("Extend/new")->sequence(), 9u);

  archive.failure = absl::UnavailableError("disk gone");
  EXPECT_EQ(view.FindIdempotency("Extend/other"), nullptr);
  EXPECT_EQ(view.TakeReadError().code(), absl::StatusCode::kUnavailable);
  archive.failure = absl::OkStatus();

  state.Merge(&pending);
  state.Merge(&own);
  Delta next;
  EXPECT_EQ(View(&state, &next).FindIdempotency("Extend/pending"), nullptr)
      << "merged keys stay on disk only";
  EXPECT_EQ(View(&state, &next).FindIdempotency("Extend/new"), nullptr);
}

}  // namespace
}  // namespace callbackledger
