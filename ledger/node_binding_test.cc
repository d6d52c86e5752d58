// Tests of node binding (SPEC section 3): a PBX node may extend, settle or release only
// the reservations it opened; another node gets PERMISSION_DENIED and nothing is written.
// An empty node_id is an administrator acting; a reservation opened without a node_id is
// bound to nobody. SyncReservations touches only the asking node's reservations.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/calls.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/ledger.h"
#include "ledger/testing/ledger_fixture.h"

namespace callbackledger {
namespace {

using ::testing::ElementsAre;

constexpr int64_t kStartMicros = 1700000000000000;  // 2023-11-14T22:13:20Z
constexpr char kExt[] = "0003*005";
constexpr char kNumber[] = "0791234567";
constexpr char kNodeA[] = "pbx-a";
constexpr char kNodeB[] = "pbx-b";

class NodeBindingTest : public testing::LedgerFixture {
 protected:
  NodeBindingTest() : LedgerFixture("node_binding_test", "operator", kStartMicros) {}

  void Configure(LedgerOptions* options) override { options->expiry_poll_milliseconds = 0; }

  void SetUp() override {
    LedgerFixture::SetUp();
    v1::AddCallerIdRequest request;
    request.set_extension(kExt);
    request.set_callback_number(kNumber);
    request.set_initial_credit("20");
    absl::StatusOr<v1::CallerId> added = Call(&Ledger::AddCallerId, request);
    ASSERT_TRUE(added.ok()) << added.status();
    callerid_id_ = added->id();
  }

  void ReserveOk(const std::string& reservation_id, const std::string& node_id) {
    v1::ReserveRequest request;
    request.set_reservation_id(reservation_id);
    request.set_extension(kExt);
    request.set_callback_number(kNumber);
    request.set_amount("5");
    request.set_node_id(node_id);
    absl::StatusOr<v1::ReserveResponse> reply = Call(&Ledger::Reserve, request);
    ASSERT_TRUE(reply.ok()) << reply.status();
    ASSERT_EQ(reply->decision(), v1::ALLOWED);
  }

  absl::StatusOr<v1::ExtendResponse> Extend(const std::string& reservation_id,
                                            const std::string& node_id,
                                            const std::string& request_id = "") {
    v1::ExtendRequest request;
    request.set_reservation_id(reservation_id);
    request.set_amount("1");
    request.set_node_id(node_id);
    request.set_request_id(request_id);
    return Call(&Ledger::Extend, request);
  }

  absl::StatusOr<v1::SettleResponse> Settle(const std::string& reservation_id,
                                            const std::string& node_id) {
    v1::SettleRequest request;
    request.set_reservation_id(reservation_id);
    request.set_cost("2");
    request.set_node_id(node_id);
    return Call(&Ledger::Settle, request);
  }

  absl::StatusOr<v1::ReleaseResponse> Release(const std::string& reservation_id,
                                              const std::string& node_id) {
    v1::ReleaseRequest request;
    request.set_reservation_id(reservation_id);
    request.set_node_id(node_id);
    return Call(&Ledger::Release, request);
  }

  v1::CallerId Get() {
    v1::GetCallerIdRequest request;
    request.set_callerid_id(callerid_id_);
    absl::StatusOr<v1::CallerId> callerid = ledger_->GetCallerId(request);
    EXPECT_TRUE(callerid.ok()) << callerid.status();
    return callerid.ok() ? *callerid : v1::CallerId();
  }

  // Expects PERMISSION_DENIED naming both nodes.
  static void ExpectDenied(const absl::Status& status, const std::string& reservation_id) {
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
    EXPECT_EQ(status.message(), "reservation " + reservation_id + " belongs to node pbx-a, not " +
                                    std::string(kNodeB));
  }

  uint64_t callerid_id_ = 0;
};

TEST_F(NodeBindingTest, AnotherNodeCannotExtendSettleOrRelease) {
  ASSERT_NO_FATAL_FAILURE(ReserveOk("r1", kNodeA));
  const uint64_t before = ledger_->last_sequence();

  ExpectDenied(Extend("r1", kNodeB).status(), "r1");
  ExpectDenied(Settle("r1", kNodeB).status(), "r1");
  ExpectDenied(Release("r1", kNodeB).status(), "r1");

  EXPECT_EQ(ledger_->last_sequence(), before);
  v1::CallerId callerid = Get();
  EXPECT_EQ(callerid.held_credit(), "5.00");
  EXPECT_EQ(callerid.credit_left(), "20.00");
  EXPECT_EQ(callerid.open_reservations(), 1u);

  // The node that opened it still may.
  absl::StatusOr<v1::ExtendResponse> extended = Extend("r1", kNodeA);
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
  absl::StatusOr<v1::SettleResponse> settled = Settle("r1", kNodeA);
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(Get().credit_left(), "18.00");
}

TEST_F(NodeBindingTest, CheckedBeforeIdempotentReplay) {
  ASSERT_NO_FATAL_FAILURE(ReserveOk("r1", kNodeA));
  ASSERT_NO_FATAL_FAILURE(ReserveOk("r2", kNodeA));
  ASSERT_TRUE(Extend("r1", kNodeA, "ext-1").ok());
  ASSERT_TRUE(Settle("r1", kNodeA).ok());
  ASSERT_TRUE(Release("r2", kNodeA).ok());
  const uint64_t before = ledger_->last_sequence();

  // Without the binding these would be ALREADY_EXISTS (other arguments) or a replay.
  ExpectDenied(Extend("r1", kNodeB, "ext-1").status(), "r1");
  ExpectDenied(Settle("r1", kNodeB).status(), "r1");
  ExpectDenied(Release("r2", kNodeB).status(), "r2");
  EXPECT_EQ(ledger_->last_sequence(), before);

  // The owner's retries still replay the first answers.
  EXPECT_TRUE(Settle("r1", kNodeA).ok());
  EXPECT_TRUE(Release("r2", kNodeA).ok());
  EXPECT_EQ(ledger_->last_sequence(), before);
}

TEST_F(NodeBindingTest, AnEmptyNodeIdIsAnAdministrator) {
  ASSERT_NO_FATAL_FAILURE(ReserveOk("r1", kNodeA));
  ASSERT_NO_FATAL_FAILURE(ReserveOk("r2", kNodeA));
  absl::StatusOr<v1::ExtendResponse> extended = Extend("r1", "");
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
  EXPECT_TRUE(Settle("r1", "").ok());
  EXPECT_TRUE(Release("r2", "").ok());
  EXPECT_EQ(Get().open_reservations(), 0u);
}

TEST_F(NodeBindingTest, AReservationOpenedWithoutANodeIsBoundToNobody) {
  ASSERT_NO_FATAL_FAILURE(ReserveOk("r1", ""));
  absl::StatusOr<v1::ExtendResponse> extended = Extend("r1", kNodeB);
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
  absl::StatusOr<v1::SettleResponse> settled = Settle("r1", "pbx-c");
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(Get().credit_left(), "18.00");
}

TEST_F(NodeBindingTest, AnUnknownReservationIsStillNotFound) {
  EXPECT_EQ(Settle("nope", kNodeB).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Release("nope", kNodeB).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(NodeBindingTest, SyncReleasesOnlyTheAskingNodesReservations) {
  ASSERT_NO_FATAL_FAILURE(ReserveOk("a1", kNodeA));
  ASSERT_NO_FATAL_FAILURE(ReserveOk("b1", kNodeB));
  ASSERT_NO_FATAL_FAILURE(ReserveOk("free", ""));

  v1::SyncReservationsRequest request;
  request.set_node_id(kNodeB);
  absl::StatusOr<v1::SyncReservationsResponse> synced = Call(&Ledger::SyncReservations, request);
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_THAT(synced->released_reservation_ids(), ElementsAre("b1"));

  // Node A's call and the unbound one go on.
  EXPECT_EQ(Get().open_reservations(), 2u);
  absl::StatusOr<v1::ExtendResponse> extended = Extend("a1", kNodeA);
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->decision(), v1::ALLOWED);
}

}  // namespace
}  // namespace callbackledger
