// Data directory formats. Format 3 keeps every reservation that is not open (settled,
// released, expired, orphaned) in a family of its own (closed_reservations), so that a start
// reads only the open ones, however long the history and however many calls crashed nodes
// left to expire. Format 1 kept them all in "reservations": this build rebuilds the
// projections of a format 1 directory at its first start, and only then marks it format 3.
// Format 2 kept the expired and orphaned ones there: the first start moves them, then marks
// the directory format 3.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

  // Moves rows of closed_reservations back to "reservations" (all, or only the expired and
  // orphaned ones), and names `format` (none when nullopt).
  void MakeOlderFormat(const std::optional<std::string>& format, bool expired_and_orphaned_only) {
    ledger_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStore();
    ASSERT_TRUE(store.ok()) << store.status();
    rocksdb::WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> it((*store)->db()->NewIterator(
        rocksdb::ReadOptions(), (*store)->projection(Cf::kClosedReservations)));
    int moved = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      store::v1::ReservationRow row;
      ASSERT_TRUE(row.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())));
      if (expired_and_orphaned_only && ClosedForGood(row)) continue;
      ASSERT_TRUE(batch.Put((*store)->projection(Cf::kReservations), it->key(), it->value()).ok());
      ASSERT_TRUE(batch.Delete((*store)->projection(Cf::kClosedReservations), it->key()).ok());
      ++moved;
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_GT(moved, 0);
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
                          "which brings them to format 3"));
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

TEST_F(FormatUpgradeTest, AFormatOneDirectoryIsRebuiltAtItsFirstStartAndMarkedFormatThree) {
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

}  // namespace
}  // namespace callbackledger
