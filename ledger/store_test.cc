#include "ledger/store.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ledger/scratch_store_test.h"
#include "ledger/testing/fault_env.h"
#include "rocksdb/env.h"

namespace callbackledger {
namespace {

class StoreTest : public ScratchStoreTest<> {
 protected:
  void Put(rocksdb::ColumnFamilyHandle* cf, const std::string& key) {
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put(cf, key, "value").ok());
    ASSERT_TRUE(store_->WriteSynced(&batch).ok());
  }

  std::vector<std::string> Keys(rocksdb::ColumnFamilyHandle* cf) {
    std::vector<std::string> keys;
    std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return keys;
  }
};

// A rebuild starts from empty projections: every row goes, the first and the last of each
// column family included, and the event log is left alone.
TEST_F(StoreTest, ClearProjectionsEmptiesEveryProjectionAndKeepsTheLog) {
  const std::vector<std::string> keys = {std::string(1, '\0'), "a", "a\xff",
                                         std::string(12, '\xff')};
  for (int i = 0; i < kProjectionCfCount; ++i) {
    for (const std::string& key : keys) Put(store_->projection(static_cast<Cf>(i)), key);
  }
  Put(store_->events(), BigEndian64(1));
  Put(store_->events(), BigEndian64(2));

  ASSERT_TRUE(store_->ClearProjections().ok());

  for (int i = 0; i < kProjectionCfCount; ++i) {
    EXPECT_TRUE(Keys(store_->projection(static_cast<Cf>(i))).empty()) << CfName(static_cast<Cf>(i));
  }
  EXPECT_EQ(Keys(store_->events()), (std::vector<std::string>{BigEndian64(1), BigEndian64(2)}));

  // Rows written after the clear stay, and a second clear of empty projections is fine.
  Put(store_->projection(Cf::kCallerIds), "b");
  EXPECT_EQ(Keys(store_->projection(Cf::kCallerIds)), std::vector<std::string>{"b"});
  ASSERT_TRUE(store_->ClearProjections().ok());
  ASSERT_TRUE(store_->ClearProjections().ok());
  EXPECT_TRUE(Keys(store_->projection(Cf::kCallerIds)).empty());
}

// A clear cut short by a crash leaves some projection families dropped and not yet created
// again. A read-only open (ledgerctl verify) reads them as empty and the rest as they are;
// the next read-write open creates them. The log and config families are never optional.
TEST_F(StoreTest, AReadOnlyOpenReadsTheFamiliesOfACutShortClearAsEmpty) {
  for (int i = 0; i < kProjectionCfCount; ++i) Put(store_->projection(static_cast<Cf>(i)), "a");
  Put(store_->events(), BigEndian64(1));
  for (Cf cf : {Cf::kMeta, Cf::kCallerIds}) {
    ASSERT_TRUE(store_->db()->DropColumnFamily(store_->projection(cf)).ok()) << CfName(cf);
  }
  store_.reset();

  StoreOptions options;
  options.path = dir_ + "/data";
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  store_ = *std::move(opened);
  for (int i = 0; i < kProjectionCfCount; ++i) {
    const Cf cf = static_cast<Cf>(i);
    const bool dropped = cf == Cf::kMeta || cf == Cf::kCallerIds;
    EXPECT_EQ(Keys(store_->projection(cf)),
              dropped ? std::vector<std::string>{} : std::vector<std::string>{"a"})
        << CfName(cf);
  }
  EXPECT_EQ(Keys(store_->events()), std::vector<std::string>{BigEndian64(1)});
  store_.reset();

  options.read_only = false;
  opened = Store::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  store_ = *std::move(opened);
  std::vector<std::string> families;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), options.path, &families).ok());
  for (Cf cf : {Cf::kMeta, Cf::kCallerIds}) {
    EXPECT_NE(std::find(families.begin(), families.end(), CfName(cf)), families.end())
        << CfName(cf);
  }
  Put(store_->projection(Cf::kMeta), "b");
  EXPECT_EQ(Keys(store_->projection(Cf::kMeta)), std::vector<std::string>{"b"});

  ASSERT_TRUE(store_->db()->DropColumnFamily(store_->events()).ok());
  store_.reset();
  options.read_only = true;
  opened = Store::Open(options);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(opened.status().message(), "events")) << opened.status();
}

// The store on a fault-injecting Env.
class StoreOnFaultEnvTest : public StoreTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StoreTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }

  // Closes the store and opens it again on env_.
  void Reopen() {
    store_.reset();
    StoreOptions options;
    options.path = dir_ + "/data";
    options.env = &env_;
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  testing::FaultEnv env_{rocksdb::Env::Default()};
};

// The table files of a column family, and their bytes.
std::pair<size_t, uint64_t> Tables(Store* store, rocksdb::ColumnFamilyHandle* cf) {
  rocksdb::ColumnFamilyMetaData meta;
  store->db()->GetColumnFamilyMetaData(cf, &meta);
  return {meta.file_count, meta.size};
}

// A clear for a rebuild leaves nothing on disk for a later compaction: no rows, no
// tombstones, no table files, even of a directory whose older clears left range
// tombstones. (RocksDB 7.8 aborts on an assertion when a bottom-level compaction of rows
// that are all under a range tombstone fails to write its output, as on a full or failing
// disk; Debian builds it with assertions on.) Compacting the cleared families on a failing
// disk finds nothing to do, and rows written after the clear are kept.
TEST_F(StoreOnFaultEnvTest, AClearLeavesNoTablesAndNoTombstonesToCompact) {
  for (int i = 0; i < kProjectionCfCount; ++i) {
    rocksdb::ColumnFamilyHandle* cf = store_->projection(static_cast<Cf>(i));
    for (const char* key : {"a", "b", "c"}) Put(cf, key);
    ASSERT_TRUE(store_->FlushProjections().ok());
    rocksdb::WriteBatch batch;  // how older versions cleared
    ASSERT_TRUE(batch.DeleteRange(cf, "", std::string(12, '\xff')).ok());
    ASSERT_TRUE(store_->WriteSynced(&batch).ok());
  }
  ASSERT_TRUE(store_->FlushProjections().ok());
  ASSERT_GT(Tables(store_.get(), store_->projection(Cf::kCallerIds)).first, 0u);

  ASSERT_TRUE(store_->ClearProjections().ok());
  for (int i = 0; i < kProjectionCfCount; ++i) {
    const Cf cf = static_cast<Cf>(i);
    EXPECT_EQ(Tables(store_.get(), store_->projection(cf)), (std::pair<size_t, uint64_t>{0, 0}))
        << CfName(cf);
  }
  Put(store_->projection(Cf::kCalls), "b");

  env_.FailTableSyncs(rocksdb::Status::IOError("disk failure"));
  for (int i = 0; i < kProjectionCfCount; ++i) {
    const Cf cf = static_cast<Cf>(i);
    if (cf == Cf::kCalls) continue;
    EXPECT_TRUE(
        store_->db()
            ->CompactRange(rocksdb::CompactRangeOptions(), store_->projection(cf), nullptr, nullptr)
            .ok())
        << CfName(cf);
  }
  EXPECT_EQ(env_.faults_injected(), 0u);

  env_.Heal();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  for (int i = 0; i < kProjectionCfCount; ++i) {
    const Cf cf = static_cast<Cf>(i);
    const std::vector<std::string> want =
        cf == Cf::kCalls ? std::vector<std::string>{"b"} : std::vector<std::string>{};
    EXPECT_EQ(Keys(store_->projection(cf)), want) << CfName(cf);
  }
}

}  // namespace
}  // namespace callbackledger
