// A test fixture with a Store of its own in a fresh temporary directory, removed afterwards,
// and helpers to write and read keys of a column family.
#ifndef LEDGER_SCRATCH_STORE_TEST_H_
#define LEDGER_SCRATCH_STORE_TEST_H_

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ledger/store.h"

namespace callbackledger {

// Base is ::testing::Test, or ::testing::TestWithParam<T> for parameterized tests.
template <typename Base = ::testing::Test>
class ScratchStoreTest : public Base {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "scratch_store.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    Reopen();
  }

  // Closes the store (without flushing, as after a crash that lost nothing synced) and opens
  // it again on the same directory.
  void Reopen() {
    store_.reset();
    StoreOptions options;
    options.path = dir_ + "/data";
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Writes `key` with the value "value" into `cf`, synced.
  void Put(rocksdb::ColumnFamilyHandle* cf, const std::string& key) {
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put(cf, key, "value").ok());
    ASSERT_TRUE(store_->WriteSynced(&batch).ok());
  }

  // Every key of `cf`, in order.
  std::vector<std::string> Keys(rocksdb::ColumnFamilyHandle* cf) {
    std::vector<std::string> keys;
    std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return keys;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace callbackledger

#endif  // LEDGER_SCRATCH_STORE_TEST_H_
