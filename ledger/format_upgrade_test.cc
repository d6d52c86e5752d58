// Data directory formats. Format 3 keeps every reservation that is not open (settled,
// released, expired, orphaned) in a family of its own (closed_reservations), so that a start
// reads only the open ones, however long the history and however many calls crashed nodes
// left to expire. Format 1 kept them all in "reservations": this build rebuilds the
// projections of a format 1 directory at its first start, and only then marks it with its
// format. Format 2 kept the expired and orphaned ones there: the first start moves them.
// Format 4 adds call_totals, the settled calls' totals by hour: the first start of a format
// 2 or 3 directory adds up its calls into it, and then marks the directory format 4.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/testing/calls_test_base.h"
#include "projections/rows.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace callbackledger {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class FormatUpgradeTest : public CallsTest {
 protected:
  // Stops the ledger and lays its directory out as format 1 did: the closed reservations'
  // rows back in "reservations", and the format key saying "1" (or, when `named` is false,
  // nothing, as before the key existed).
  void MakeFormatOne(bool named) {
    MakeOlderFormat(named ? std::optional<std::string>(Store::kOldFormat) : std::nullopt,
                    /*expired_and_orphaned_only=*/false);
  }

  // Stops the ledger and lays its directory out as format 2 did: the expired and orphaned
  // reservations' rows back in "reservations", and the format key saying "2".
  void MakeFormatTwo() { MakeOlderFormat(Store::kFormatTwo, /*expired_and_orphaned_only=*/true); }

  // Stops the ledger and lays its directory out as format 3 did: no call_totals rows, and
  // the format key saying "3".
  void MakeFormatThree() {
    MakeOlderFormat(Store::kFormatThree, /*expired_and_orphaned_only=*/true,
                    /*move_reservations=*/false);
  }

  // Moves rows of closed_reservations back to "reservations" (all, or only the expired and
  // orphaned ones), deletes every call_totals row (no format before 4 had them), and names
  // `format` (none when nullopt).
  void MakeOlderFormat(const std::optional<std::string>& format, bool expired_and_orphaned_only,
                       bool move_reservations = true) {
    ledger_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStore();
    ASSERT_TRUE(store.ok()) << store.status();
    rocksdb::WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> totals(
        (*store)->db()->NewIterator(rocksdb::ReadOptions(), (*store)->projection(Cf::kCallTotals)));
    for (totals->SeekToFirst(); totals->Valid(); totals->Next()) {
      ASSERT_TRUE(batch.Delete((*store)->projection(Cf::kCallTotals), totals->key()).ok());
    }
    ASSERT_TRUE(totals->status().ok()) << totals->status().ToString();
    std::unique_ptr<rocksdb::Iterator> it((*store)->db()->NewIterator(
        rocksdb::ReadOptions(), (*store)->projection(Cf::kClosedReservations)));
    int moved = 0;
    for (it->SeekToFirst(); it->Valid() && move_reservations; it->Next()) {
      store::v1::ReservationRow row;
      ASSERT_TRUE(row.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())));
      if (expired_and_orphaned_only && ClosedForGood(row)) continue;
      ASSERT_TRUE(batch.Put((*store)->projection(Cf::kReservations), it->key(), it->value()).ok());
      ASSERT_TRUE(batch.Delete((*store)->projection(Cf::kClosedReservations), it->key()).ok());
      ++moved;
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_EQ(moved > 0, move_reservations);
    if (format.has_value()) {
      ASSERT_TRUE(batch.Put((*store)->config(), Store::kFormatKey, *format).ok());
    } else {
      ASSERT_TRUE(batch.Delete((*store)->config(), Store::kFormatKey).ok());
    }
    ASSERT_TRUE((*store)->WriteSynced(&batch).ok());
  }

  // ledgerctl verify does not check an old layout as if it were this one.
  void ExpectVerifyRefusesFormat(const std::string& format) {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStoreReadOnly();
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<VerifyReport> report = VerifyProjections(store->get());
    EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(report.status().message()),
                HasSubstr("format " + format +
                          ", whose projections this build does not check: start ledgerd once, "
                          "which brings them to format 4"));
  }

  // The stopped ledger's directory: its format, and the keys of a projection family.
  std::string Format() {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStoreReadOnly();
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? (*store)->format() : "";
  }
  std::vector<std::string> Keys(Cf cf) {
    std::vector<std::string> keys;
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStoreReadOnly();
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return keys;
    std::unique_ptr<rocksdb::Iterator> it(
        (*store)->db()->NewIterator(rocksdb::ReadOptions(), (*store)->projection(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return keys;
  }
};

TEST_F(FormatUpgradeTest, AFormatOneDirectoryIsRebuiltAtItsFirstStartAndMarkedWithThisFormat) {
  uint64_t id = AddCaller("0791234567", "20");
  ReserveOk(ReserveAmount("settled", "0791234567", "5"));
  ReserveOk(ReserveAmount("released", "0791234567", "4"));
  ReserveOk(ReserveAmount("open", "0791234567", "3"));
  absl::StatusOr<v1::SettleResponse> settled = Settle(SettleCost("settled", "2", 60));
  ASSERT_TRUE(settled.ok()) << settled.status();
  absl::StatusOr<v1::ReleaseResponse> released = Release("released");
  ASSERT_TRUE(released.ok()) << released.status();
  const uint64_t last = ledger_->last_sequence();

  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsVerify());
  EXPECT_EQ(Format(), Store::kFormat) << "a new directory is marked with this format";
  EXPECT_THAT(Keys(Cf::kReservations), ElementsAre("open"));
  EXPECT_THAT(Keys(Cf::kClosedReservations), ElementsAre("released", "settled"));

  for (bool named : {true, false}) {
    SCOPED_TRACE(named ? "format \"1\" named" : "no format named");
    ASSERT_NO_FATAL_FAILURE(MakeFormatOne(named));
    EXPECT_EQ(Format(), Store::kOldFormat);
    ASSERT_NO_FATAL_FAILURE(ExpectVerifyRefusesFormat("1"));

    ASSERT_NO_FATAL_FAILURE(Open());
    absl::StatusOr<v1::SettleResponse> settle = Settle(SettleCost("settled", "2", 60));
    ASSERT_TRUE(settle.ok()) << settle.status();
    EXPECT_THAT(*settle, EqualsProto(*settled));
    absl::StatusOr<v1::ReleaseResponse> release = Release("released");
    ASSERT_TRUE(release.ok()) << release.status();
    EXPECT_THAT(*release, EqualsProto(*released));
    EXPECT_EQ(ledger_->last_sequence(), last);
    EXPECT_EQ(Get(id).held_credit(), "3.00");
    EXPECT_EQ(Get(id).open_reservations(), 1u);

    ASSERT_NO_FATAL_FAILURE(ExpectProjectionsVerify());
    EXPECT_EQ(Format(), Store::kFormat);
    EXPECT_THAT(Keys(Cf::kReservations), ElementsAre("open"));
    EXPECT_THAT(Keys(Cf::kClosedReservations), ElementsAre("released", "settled"));
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  // Closing the open one moves its row.
  ASSERT_TRUE(Settle(SettleCost("open", "1")).ok());
  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsVerify());
  EXPECT_THAT(Keys(Cf::kReservations), IsEmpty());
  EXPECT_THAT(Keys(Cf::kClosedReservations), ElementsAre("open", "released", "settled"));
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(Get(id).credit_left(), "17.00");
}

// Expired and orphaned reservations leave "reservations" (and memory) as they lapse, and a
// late Settle still finds them in closed_reservations: in the same run, after a restart,
// after the upgrade of a format 2 directory, which kept them in "reservations".
TEST_F(FormatUpgradeTest, AFormatTwoDirectoryMovesItsExpiredAndOrphanedReservations) {
  uint64_t id = AddCaller("0791234567", "20");
  ReserveOk(ReserveAmount("expired", "0791234567", "4", 60));
  ReserveOk(ReserveAmount("orphaned", "0791234567", "3"));
  ReserveOk(ReserveAmount("settled", "0791234567", "2"));
  ReserveOk(ReserveAmount("open", "0791234567", "1"));
  ASSERT_TRUE(Settle(SettleCost("settled", "2")).ok());
  Advance(61);
  absl::StatusOr<uint64_t> expired = Expire();
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 1u);
  absl::StatusOr<v1::SyncReservationsResponse> synced = Sync(kNode, {"open"});
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_THAT(synced->released_reservation_ids(), ElementsAre("orphaned"));
  EXPECT_EQ(Get(id).held_credit(), "1.00");
  const uint64_t last = ledger_->last_sequence();

  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsVerify());
  EXPECT_EQ(Format(), Store::kFormat);
  EXPECT_THAT(Keys(Cf::kReservations), ElementsAre("open"));
  EXPECT_THAT(Keys(Cf::kClosedReservations), ElementsAre("expired", "orphaned", "settled"));

  ASSERT_NO_FATAL_FAILURE(MakeFormatTwo());
  EXPECT_EQ(Format(), Store::kFormatTwo);
  EXPECT_THAT(Keys(Cf::kReservations), ElementsAre("expired", "open", "orphaned"));
  ASSERT_NO_FATAL_FAILURE(ExpectVerifyRefusesFormat("2"));

  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(ledger_->last_sequence(), last);
  EXPECT_EQ(ledger_->open_reservations(), 1u);
  EXPECT_EQ(Get(id).held_credit(), "1.00");
  absl::StatusOr<v1::SettleResponse> late = Settle(SettleCost("expired", "3"));
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_TRUE(late->late());
  EXPECT_EQ(late->cost(), "3.00");
  absl::StatusOr<v1::SettleResponse> orphan = Settle(SettleCost("orphaned", "1"));
  ASSERT_TRUE(orphan.ok()) << orphan.status();
  EXPECT_TRUE(orphan->late());
  EXPECT_EQ(Get(id).credit_left(), "14.00");  // 20 - 2 - 3 - 1

  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsVerify());
  EXPECT_EQ(Format(), Store::kFormat);
  EXPECT_THAT(Keys(Cf::kReservations), ElementsAre("open"));
  EXPECT_THAT(Keys(Cf::kClosedReservations), ElementsAre("expired", "orphaned", "settled"));

  // The late Settles answer from their rows after a restart, and settle nothing twice.
  ASSERT_NO_FATAL_FAILURE(Open());
  const uint64_t settled_last = ledger_->last_sequence();
  absl::StatusOr<v1::SettleResponse> again = Settle(SettleCost("expired", "3"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(*again, EqualsProto(*late));
  EXPECT_EQ(Settle(SettleCost("orphaned", "2")).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ledger_->last_sequence(), settled_last);
  EXPECT_EQ(Get(id).credit_left(), "14.00");
}

// A format 3 directory has no call_totals: its first start adds up the calls it has, by
// extension and hour, before it marks the directory format 4; a fill done
// again (a start cut short before the mark) writes the same rows. The cost report's totals
// are the same before and after, and the calls settled after the upgrade add to them.
TEST_F(FormatUpgradeTest, AFormatThreeDirectoryAddsUpItsCallsIntoCallTotals) {
  const uint64_t id = AddCaller("0791234567", "100");
  AddCaller("0791234568", "100");
  const int64_t hour = kCallTotalsHourMicros;
  const int64_t base = CallTotalsHour(kStartMicros) - 5 * hour;
  auto call = [&](const std::string& reservation_id, const std::string& number, int64_t started,
                  const std::string& cost) {
    ReserveOk(ReserveAmount(reservation_id, number, "1"));
    v1::SettleRequest settle = SettleCost(reservation_id, cost, 30);
    *settle.mutable_started_at() = FromUnixMicros(started);
    absl::StatusOr<v1::SettleResponse> settled = Settle(settle);
    ASSERT_TRUE(settled.ok()) << settled.status();
  };
  ASSERT_NO_FATAL_FAILURE(call("c1", "0791234567", base + 10, "1"));
  ASSERT_NO_FATAL_FAILURE(call("c2", "0791234568", base + hour - 1, "2"));
  ASSERT_NO_FATAL_FAILURE(call("c3", "0791234567", base + hour, "3"));
  ASSERT_NO_FATAL_FAILURE(call("c4", "0791234567", base + 3 * hour + 5, "4"));
  auto report = [&](bool by_callerid) {
    v1::GetCostReportRequest request;
    if (by_callerid) {
      request.set_callerid_id(id);
    } else {
      request.set_extension(kExt);
    }
    *request.mutable_start_time() = FromUnixMicros(base);
    *request.mutable_end_time() = FromUnixMicros(base + 4 * hour);
    absl::StatusOr<v1::GetCostReportResponse> got = Report(request);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? absl::StrCat(got->total_calls(), " calls, ", got->total_cost(), ", ",
                                   got->total_duration_seconds(), " s")
                    : "";
  };
  EXPECT_EQ(report(false), "4 calls, 10.00, 120 s");
  EXPECT_EQ(report(true), "3 calls, 8.00, 90 s");
  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsVerify());
  const std::vector<std::string> hours = Keys(Cf::kCallTotals);
  // Extension kExt: three hours (CallerIDs have none).
  EXPECT_EQ(hours.size(), 3u);

  ASSERT_NO_FATAL_FAILURE(MakeFormatThree());
  EXPECT_EQ(Format(), Store::kFormatThree);
  EXPECT_THAT(Keys(Cf::kCallTotals), IsEmpty());
  ASSERT_NO_FATAL_FAILURE(ExpectVerifyRefusesFormat("3"));

  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(report(false), "4 calls, 10.00, 120 s");
  EXPECT_EQ(report(true), "3 calls, 8.00, 90 s");
  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsVerify());
  EXPECT_EQ(Format(), Store::kFormat);
  EXPECT_EQ(Keys(Cf::kCallTotals), hours);

  {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStore();
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE(FillCallTotals(store->get()).ok());
  }
  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsVerify());

  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(call("c5", "0791234567", base + hour + 7, "5"));
  EXPECT_EQ(report(false), "5 calls, 15.00, 150 s");
  EXPECT_EQ(report(true), "4 calls, 13.00, 120 s");
  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsVerify());
}

}  // namespace
}  // namespace callbackledger
