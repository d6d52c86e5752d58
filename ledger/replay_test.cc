#include "ledger/replay.h"

#include <string>
#include <tuple>

#include "gtest/gtest.h"
#include "ledger/scratch_store_test.h"
#include "ledger/store.h"
#include "projections/state.h"

namespace callbackledger {
namespace {

// An undecodable projection row that a start loads stops it with DATA_LOSS naming the kind
// of row. (Idempotency keys are not loaded: Store::FindStoredIdempotency reads them.)
class UndecodableRowTest
    : public ScratchStoreTest<::testing::TestWithParam<std::tuple<Cf, std::string>>> {};

TEST_P(UndecodableRowTest, StopsTheLoadWithDataLoss) {
  const auto& [cf, row_name] = GetParam();
  rocksdb::WriteBatch batch;
  // 0x76: field 14 with wire type 6, which does not exist: no protobuf message parses it.
  ASSERT_TRUE(batch.Put(store_->projection(cf), "key", "\x76\x76\x76").ok());
  ASSERT_TRUE(store_->WriteSynced(&batch).ok());

  State state;
  absl::Status loaded = LoadProjections(store_.get(), &state);
  EXPECT_EQ(loaded.code(), absl::StatusCode::kDataLoss) << loaded;
  EXPECT_EQ(loaded.message(), "an undecodable " + row_name);
}

INSTANTIATE_TEST_SUITE_P(
    EveryLoadedKind, UndecodableRowTest,
    ::testing::Values(std::make_tuple(Cf::kCallerIds, std::string("CallerID row")),
                      std::make_tuple(Cf::kExtensions, std::string("extension row")),
                      std::make_tuple(Cf::kReservations, std::string("reservation row"))));

}  // namespace
}  // namespace callbackledger
