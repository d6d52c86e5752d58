// The store on a fault-injecting Env (testing/fault_env.h): what a failing disk must not
// break.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "ledger/scratch_store_test.h"
#include "ledger/store.h"
#include "ledger/testing/fault_env.h"
#include "rocksdb/env.h"
#include "rocksdb/metadata.h"

namespace callbackledger {
namespace {

// The store on a fault-injecting Env.
class StoreOnFaultEnvTest : public ScratchStoreTest<> {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ScratchStoreTest::SetUp());
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
