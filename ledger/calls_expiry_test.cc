// Holds that end without a Settle (SPEC section 3): SyncReservations releases a restarted
// node's orphans, and expiry releases what is past its time; open holds and their expiry
// survive a restart.
#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/testing/calls_test_base.h"

namespace callbackledger {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

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

}  // namespace
}  // namespace callbackledger
