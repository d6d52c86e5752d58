// Data directory formats. Format 2 keeps settled and released reservations in a family of
// their own (closed_reservations), so that a start reads only the reservations still open,
// however long the history. Format 1 kept them in "reservations"; this build rebuilds the
// projections of a format 1 directory at its first start, and only then marks it format 2.
#include <memory>
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
    ledger_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStore();
    ASSERT_TRUE(store.ok()) << store.status();
    rocksdb::WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> it((*store)->db()->NewIterator(
        rocksdb::ReadOptions(), (*store)->projection(Cf::kClosedReservations)));
    int moved = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++moved) {
      ASSERT_TRUE(batch.Put((*store)->projection(Cf::kReservations), it->key(), it->value()).ok());
      ASSERT_TRUE(batch.Delete((*store)->projection(Cf::kClosedReservations), it->key()).ok());
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_GT(moved, 0);
    if (named) {
      ASSERT_TRUE(batch.Put((*store)->config(), Store::kFormatKey, Store::kOldFormat).ok());
    } else {
      ASSERT_TRUE(batch.Delete((*store)->config(), Store::kFormatKey).ok());
    }
    ASSERT_TRUE((*store)->WriteSynced(&batch).ok());
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

TEST_F(FormatUpgradeTest, AFormatOneDirectoryIsRebuiltAtItsFirstStartAndMarkedFormatTwo) {
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
    {
      // ledgerctl verify does not check an old layout as if it were this one.
      absl::StatusOr<std::unique_ptr<Store>> store = OpenStoreReadOnly();
      ASSERT_TRUE(store.ok()) << store.status();
      absl::StatusOr<VerifyReport> report = VerifyProjections(store->get());
      EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_THAT(std::string(report.status().message()),
                  HasSubstr("format 1, whose projections this build does not check: start "
                            "ledgerd once, which rebuilds them in format 2"));
    }

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

}  // namespace
}  // namespace callbackledger
