#include "ledger/store.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ledger/scratch_store_test.h"

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
// column family included (the clear is one range deletion from the first key to just past
// the last), and the event log is left alone.
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

}  // namespace
}  // namespace callbackledger
