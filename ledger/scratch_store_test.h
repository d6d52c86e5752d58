// A test fixture with a Store of its own in a fresh temporary directory, removed afterwards.
#ifndef LEDGER_SCRATCH_STORE_TEST_H_
#define LEDGER_SCRATCH_STORE_TEST_H_

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

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

  std::string dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace callbackledger

#endif  // LEDGER_SCRATCH_STORE_TEST_H_
