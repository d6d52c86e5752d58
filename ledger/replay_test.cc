#include "ledger/replay.h"

#include <memory>
#include <string>
#include <tuple>

#include "gtest/gtest.h"
#include "ledger/scratch_store_test.h"
#include "ledger/store.h"
#include "projections/state.h"

namespace callbackledger {
namespace {

// An undecodable projection row stops the start-up with DATA_LOSS naming the kind of row,
// whichever loader (the idempotency keys load on a thread of their own) meets it.
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
                      std::make_tuple(Cf::kIdempotency, std::string("idempotency row")),
                      std::make_tuple(Cf::kReservations, std::string("reservation row"))));

// The State keeps an idempotency key's fingerprint in place, up to 32 bytes (a keyed hash
// is 32): a longer one in a stored row is refused by name, not cut.
class LoadTest : public ScratchStoreTest<> {
 protected:
  void PutIdempotencyRow(const std::string& key, const std::string& fingerprint,
                         uint64_t sequence) {
    store::v1::IdempotencyRow row;
    row.set_fingerprint(fingerprint);
    row.set_sequence(sequence);
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put(store_->projection(Cf::kIdempotency), key, row.SerializeAsString()).ok());
    ASSERT_TRUE(store_->WriteSynced(&batch).ok());
  }
};

TEST_F(LoadTest, AnIdempotencyRowWithALongerFingerprintStopsTheLoadWithDataLoss) {
  const std::string fingerprint = std::string(IdempotencyEntry::kMaxFingerprintBytes + 1, 'f');
  ASSERT_NO_FATAL_FAILURE(PutIdempotencyRow("AddCredit/k", fingerprint, 3));

  State state;
  absl::Status loaded = LoadProjections(store_.get(), &state);
  EXPECT_EQ(loaded.code(), absl::StatusCode::kDataLoss) << loaded;
  EXPECT_EQ(loaded.message(),
            "the idempotency row of key \"AddCredit/k\" has a fingerprint of 33 bytes, more "
            "than 32");
}

TEST_F(LoadTest, AnIdempotencyRowLoadsAsItWasStored) {
  const std::string fingerprint = std::string(32, '\xfe');
  ASSERT_NO_FATAL_FAILURE(PutIdempotencyRow("AddCredit/k", fingerprint, 41));

  State state;
  ASSERT_TRUE(LoadProjections(store_.get(), &state).ok());
  const IdempotencyEntry* found = state.FindIdempotency("AddCredit/k");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->fingerprint(), fingerprint);
  EXPECT_EQ(found->sequence(), 41u);
}

}  // namespace
}  // namespace callbackledger
