// Tests of command deadlines: a write whose caller has given up by the time the committer
// takes it from the queue is answered DEADLINE_EXCEEDED and never applied. Time is the
// fixture's FakeClock, the same clock the committer reads.
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/calls.pb.h"
#include "gtest/gtest.h"
#include "ledger/ledger.h"
#include "ledger/testing/ledger_fixture.h"

namespace callbackledger {
namespace {

constexpr int64_t kStartMicros = 1700000000000000;  // 2023-11-14T22:13:20Z
constexpr char kExt[] = "0003*005";
constexpr char kNumber[] = "0791234567";
constexpr char kExpired[] =
    "the deadline passed before the ledger could apply it; nothing was written";

class DeadlineTest : public testing::LedgerFixture {
 protected:
  DeadlineTest() : LedgerFixture("deadline_test", "pbx-a", kStartMicros) {}

  void Configure(LedgerOptions* options) override { options->expiry_poll_milliseconds = 0; }

  absl::Time Now() { return absl::FromUnixMicros(clock_.NowMicros()); }

  static v1::AddCallerIdRequest AddRequest() {
    v1::AddCallerIdRequest request;
    request.set_extension(kExt);
    request.set_callback_number(kNumber);
    request.set_initial_credit("10");
    return request;
  }

  static v1::ReserveRequest ReserveRequest() {
    v1::ReserveRequest request;
    request.set_reservation_id("r1");
    request.set_extension(kExt);
    request.set_callback_number(kNumber);
    request.set_amount("4");
    request.set_node_id("pbx-a");
    return request;
  }

  template <typename Request, typename Reply>
  absl::StatusOr<Reply> CallUntil(void (Ledger::*method)(const Request&, const Origin&,
                                                         Done<Reply>),
                                  const Request& request, absl::Time deadline) {
    return Wait(StartAs(method, request, Origin(actor_, deadline)));
  }
};

TEST_F(DeadlineTest, AWriteWhoseDeadlinePassedWritesNothing) {
  const uint64_t before = ledger_->last_sequence();
  absl::StatusOr<v1::CallerId> added =
      CallUntil(&Ledger::AddCallerId, AddRequest(), Now() - absl::Milliseconds(1));
  EXPECT_EQ(added.status().code(), absl::StatusCode::kDeadlineExceeded) << added.status();
  EXPECT_EQ(added.status().message(), kExpired);
  EXPECT_EQ(ledger_->last_sequence(), before);

  // A deadline that is exactly now has passed too.
  added = CallUntil(&Ledger::AddCallerId, AddRequest(), Now());
  EXPECT_EQ(added.status().code(), absl::StatusCode::kDeadlineExceeded) << added.status();
  EXPECT_EQ(ledger_->last_sequence(), before);

  v1::ListCallerIdsRequest list;
  list.set_extension(kExt);
  absl::StatusOr<v1::ListCallerIdsResponse> listed = ledger_->ListCallerIds(list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->caller_ids_size(), 0);
}

TEST_F(DeadlineTest, AWriteBeforeItsDeadlineIsApplied) {
  absl::StatusOr<v1::CallerId> added =
      CallUntil(&Ledger::AddCallerId, AddRequest(), Now() + absl::Milliseconds(1));
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->available_credit(), "10.00");
}

TEST_F(DeadlineTest, AnExpiredReserveHoldsNothingAndItsIdStaysFree) {
  ASSERT_TRUE(Call(&Ledger::AddCallerId, AddRequest()).ok());
  const uint64_t before = ledger_->last_sequence();
  clock_.AdvanceMicros(5000000);
  absl::StatusOr<v1::ReserveResponse> late =
      CallUntil(&Ledger::Reserve, ReserveRequest(), Now() - absl::Seconds(1));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded) << late.status();
  EXPECT_EQ(ledger_->last_sequence(), before);
  EXPECT_EQ(ledger_->open_reservations(), 0u);

  // The node's retry with time to spare is a first Reserve, not a replay of a failure.
  absl::StatusOr<v1::ReserveResponse> retry =
      CallUntil(&Ledger::Reserve, ReserveRequest(), Now() + absl::Seconds(2));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->decision(), v1::ALLOWED);
  EXPECT_EQ(retry->granted_amount(), "4.00");
  EXPECT_EQ(ledger_->last_sequence(), before + 1);
}

}  // namespace
}  // namespace callbackledger
