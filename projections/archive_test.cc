// What the State lets go and reads back through a RowArchive: only open reservations stay in
// memory (the others move to closed_reservations as they close, and a replay keeps the lapsed
// ones until it ends), and idempotency keys are never kept; a View reads both from the
// archive once a group.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/rows.h"
#include "projections/state.h"

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
  void Merge(Cf cf, std::string_view key, std::string_view /*value*/) override {
    merges.insert({cf, std::string(key)});
  }
  std::set<std::pair<Cf, std::string>> puts;
  std::set<std::pair<Cf, std::string>> deletes;
  std::set<std::pair<Cf, std::string>> merges;
};

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

// A reservation of node-a, expiring at 10 µs, in `state`.
ReservationState Closed(const std::string& id, store::v1::ReservationRow::State state) {
  ReservationState reservation;
  reservation.set_reservation_id(id);
  reservation.set_node_id("node-a");
  reservation.set_state(state);
  *reservation.mutable_expires_at() = FromUnixMicros(10);
  return reservation;
}

// A State holding one open reservation, `id`.
void MergeOpen(State* state, const std::string& id) {
  Delta delta;
  View(state, &delta).PutReservation(Closed(id, store::v1::ReservationRow::OPEN));
  state->Merge(&delta);
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
  MergeOpen(&state, "r-open");
  Delta delta;
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
  MergeOpen(&state, "r-open");
  Delta delta;
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
