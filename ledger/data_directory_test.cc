// What a data directory holds and is bound to: everything survives a reopen, the stored
// projections equal a replay of the log and a rebuild writes them byte for byte again, and
// a directory keeps the currency and the format it was made with.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/ledger.h"
#include "ledger/replay.h"
#include "ledger/store.h"
#include "ledger/testing/ledger_test_base.h"
#include "ledger/testing/write_ahead_log.h"
#include "projections/rows.h"

namespace callbackledger {
namespace {

using ::testing::HasSubstr;
using testing::kExt;
using testing::kOtherExt;
using testing::LedgerTest;
using testing::Message;
using testing::WriteAheadLogBytes;

class LedgerReplayTest : public LedgerTest {
 protected:
  // A bit of everything.
  void Populate() {
    v1::AddCallerIdRequest request = AddRequest("+41791234567", "10.5");
    request.set_pin("13572468");
    request.set_order_no("ORD-1");
    request.set_request_id("populate-1");
    uint64_t a = AddOk(request);
    request = AddRequest("0791234567");
    request.set_unlimited(true);
    uint64_t b = AddOk(request);
    request = AddRequest("0315550000", "3", kOtherExt);
    request.set_status(v1::CallerId::DISABLED);
    uint64_t c = AddOk(request);
    uint64_t d = AddOk("0445550000", "1");
    ASSERT_TRUE(SetPolicy(kOtherExt, 2).ok());
    clock_.AdvanceMicros(1000000);
    v1::AddCreditRequest credit = CreditRequest(a, "0.0125");
    credit.set_request_id("populate-2");
    ASSERT_TRUE(Credit(credit).ok());
    ASSERT_TRUE(Credit(a, "-2").ok());
    ASSERT_TRUE(Credit(b, "5").ok());
    ASSERT_TRUE(Credit(c, "4").ok());
    v1::UpdateCallerIdRequest update;
    update.set_callerid_id(c);
    update.set_status(v1::CallerId::ENABLED);
    update.set_callback_number("0315550001");
    update.set_pin("9999");
    ASSERT_TRUE(Update(update).ok());
    update.Clear();
    update.set_callerid_id(c);
    update.set_pin("");
    ASSERT_TRUE(Update(update).ok());
    ASSERT_TRUE(Remove({d}).ok());
    clock_.AdvanceMicros(1000000);
    ASSERT_TRUE(Credit(b, "-10").ok());  // unlimited -> limited, 0 left
    ASSERT_TRUE(Credit(b, "1.25").ok());
    AddOk("0445550000", "2");  // the removed number again
  }
};

TEST_F(LedgerReplayTest, ReopenKeepsEverything) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const std::string before = Snapshot();
  const uint64_t last = ledger_->last_sequence();
  EXPECT_EQ(last, 15u);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(ledger_->last_sequence(), last);
  EXPECT_EQ(Snapshot(), before);

  // Spot checks of what the snapshot holds.
  absl::StatusOr<v1::CallerId> a = GetByNumber(kExt, "+41791234567");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->total_credit(), "8.5125");
  EXPECT_TRUE(a->pin_set());
  absl::StatusOr<v1::CallerId> b = GetByNumber(kExt, "0791234567");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->unlimited());
  EXPECT_EQ(b->total_credit(), "1.25");
  absl::StatusOr<v1::CallerId> c = GetByNumber(kOtherExt, "0315550001");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->status(), v1::CallerId::ENABLED);
  EXPECT_FALSE(c->pin_set());
  EXPECT_EQ(c->total_credit(), "7.00");
  v1::LicenseUsage usage = Usage(kOtherExt);
  EXPECT_EQ(usage.active_callerids(), 4u);
  EXPECT_EQ(usage.total_callerids(), 4u);
  EXPECT_EQ(usage.extension_policy().max_active_callerids(), 2u);
  EXPECT_EQ(usage.extension_policy().active_callerids(), 1u);

  // The reopened ledger goes on writing where the first stopped.
  absl::StatusOr<v1::CallerId> next = Add(AddRequest("5550100"));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->id(), 6u);
  EXPECT_EQ(ledger_->last_sequence(), last + 1);
}

TEST_F(LedgerReplayTest, ProjectionsEqualAReplayOfTheLog) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsVerify());
}

// A clean stop writes the memtables to table files: the next start has no log to replay,
// and finds everything.
TEST_F(LedgerReplayTest, AStopLeavesNoWriteAheadLogToReplay) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const std::string before = Snapshot();
  EXPECT_GT(WriteAheadLogBytes(options_.data_dir), 0u) << "the writes are in the log first";
  ledger_.reset();
  EXPECT_EQ(WriteAheadLogBytes(options_.data_dir), 0u);
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(Snapshot(), before);
}

// Every projection row of the stopped ledger's data directory, by column family and key.
std::map<std::string, std::string> AllProjectionRows(const std::string& data_dir) {
  std::map<std::string, std::string> rows;
  StoreOptions store_options;
  store_options.path = data_dir;
  store_options.read_only = true;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(store_options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return rows;
  for (int i = 0; i < kProjectionCfCount; ++i) {
    const Cf cf = static_cast<Cf>(i);
    std::unique_ptr<rocksdb::Iterator> it(
        (*store)->db()->NewIterator(rocksdb::ReadOptions(), (*store)->projection(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rows[absl::StrCat(CfName(cf), "/", absl::CHexEscape(it->key().ToString()))] =
          it->value().ToString();
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  }
  return rows;
}

// A rebuild writes, byte for byte, the rows the committer wrote as the log grew: no more,
// no fewer, none different.
TEST_F(LedgerReplayTest, RebuiltRowsEqualTheRowsWrittenAsTheLogGrew) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  ledger_.reset();
  const std::map<std::string, std::string> written = AllProjectionRows(options_.data_dir);
  ASSERT_GT(written.size(), 10u);
  options_.rebuild_projections = true;
  ASSERT_NO_FATAL_FAILURE(Open());
  ledger_.reset();
  EXPECT_EQ(AllProjectionRows(options_.data_dir), written);
}

TEST_F(LedgerReplayTest, RebuildingProjectionsGivesTheSameAnswers) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const std::string before = Snapshot();
  options_.rebuild_projections = true;
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Snapshot(), before);
  // Writes go on after a rebuild, and the rebuilt rows verify.
  ASSERT_TRUE(Credit(1, "1").ok());
  AddOk("5550100");
  const std::string after = Snapshot();
  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsVerify());
  options_.rebuild_projections = false;
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(Snapshot(), after);
}

TEST_F(LedgerReplayTest, DataDirectoryIsBoundToItsCurrency) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const std::string before = Snapshot();
  ledger_.reset();
  options_.currency = "EUR";
  absl::StatusOr<std::unique_ptr<Ledger>> other = Ledger::Open(options_);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition) << other.status();
  EXPECT_THAT(Message(other.status()), HasSubstr("USD"));
  options_.currency = "usd";
  EXPECT_EQ(Ledger::Open(options_).status().code(), absl::StatusCode::kInvalidArgument);

  options_.currency = "USD";
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(Snapshot(), before);

  // A new data directory takes whatever currency it is first opened with.
  ledger_.reset();
  options_.data_dir = dir_ + "/eur";
  options_.currency = "EUR";
  ASSERT_NO_FATAL_FAILURE(Open());
  AddOk("5550001");
  ledger_.reset();
  options_.currency = "USD";
  EXPECT_EQ(Ledger::Open(options_).status().code(), absl::StatusCode::kFailedPrecondition);
}

// A data directory names its format. One that names none (made before the format key) opens
// as format 1, is rebuilt and marked format 3 (format_upgrade_test.cc); one that names a
// format this build does not know (a newer ledgerd wrote it) is refused, read-write and
// read-only.
TEST_F(LedgerReplayTest, DataDirectoryNamesItsFormatAndAnotherIsRefused) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const std::string before = Snapshot();
  ledger_.reset();
  auto open_store = [this](bool read_only) {
    StoreOptions store_options;
    store_options.path = options_.data_dir;
    store_options.read_only = read_only;
    return Store::Open(store_options);
  };
  // Checks the format named, then names `format` instead (none when nullopt).
  auto set_format = [&](const std::optional<std::string>& format) {
    absl::StatusOr<std::unique_ptr<Store>> store = open_store(false);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ((*store)->GetConfig(Store::kFormatKey), std::optional<std::string>("4"));
    rocksdb::WriteBatch batch;
    if (format.has_value()) {
      ASSERT_TRUE(batch.Put((*store)->config(), Store::kFormatKey, *format).ok());
    } else {
      ASSERT_TRUE(batch.Delete((*store)->config(), Store::kFormatKey).ok());
    }
    ASSERT_TRUE((*store)->WriteSynced(&batch).ok());
  };

  ASSERT_NO_FATAL_FAILURE(set_format(std::nullopt));
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(Snapshot(), before);
  ledger_.reset();

  ASSERT_NO_FATAL_FAILURE(set_format("5"));  // and checks the open above marked it "4"
  absl::StatusOr<std::unique_ptr<Ledger>> newer = Ledger::Open(options_);
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition) << newer.status();
  EXPECT_THAT(Message(newer.status()), HasSubstr("format \"5\""));
  EXPECT_THAT(Message(newer.status()), HasSubstr("reads formats 1 to 4"));
  absl::StatusOr<std::unique_ptr<Store>> read_only = open_store(true);
  EXPECT_EQ(read_only.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace callbackledger
