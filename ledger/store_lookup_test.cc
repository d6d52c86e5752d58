// What a lookup of the committer costs as table files grow: it reads small partitions of a
// file's index and filter, never the whole blocks (ledger/store.cc, FamilyOptions).
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ledger/store.h"
#include "rocksdb/perf_context.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/table_properties.h"

namespace callbackledger {
namespace {

// A lookup of an absent key in a large table file below level 0 reads one small partition of
// the file's filter (and of its index, when the filter lets the key through), not the whole
// filter or index. Whole, those of two files that together are larger than a shard of the
// block cache push each other out, and every lookup reads one of them again from its file.
// Here the cache is 128 KiB (one shard), and closed reservations and idempotency keys each
// have one file whose filter alone is about 75 KiB, looked up in turn as the committer does.
TEST(StoreLookupTest, ALookupReadsAFewKibOfABigTableFileNotItsWholeIndexOrFilter) {
  std::string dir = ::testing::TempDir() + "store_lookup.XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  StoreOptions options;
  options.path = dir + "/data";
  options.block_cache_bytes = 128 << 10;
  absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Store> store = *std::move(opened);

  constexpr int kRows = 60000;
  auto id_of = [](int i) {
    return absl::StrCat("bench-18c2e9f0a7b3d5e1-1-", static_cast<int64_t>(i) * 7919 % 1000003);
  };
  store::v1::ReservationRow row;
  row.set_state(store::v1::ReservationRow::SETTLED);
  row.set_held_micros(5000000);
  row.set_node_id("node-a");
  row.set_callerid_id(42);
  for (Cf cf : {Cf::kClosedReservations, Cf::kIdempotency}) {
    rocksdb::ColumnFamilyHandle* family = store->projection(cf);
    for (int i = 0; i < kRows; i += 1000) {
      rocksdb::WriteBatch batch;
      for (int j = i; j < i + 1000; ++j) {
        row.set_reservation_id(id_of(j));
        ASSERT_TRUE(batch.Put(family, id_of(j), row.SerializeAsString()).ok());
      }
      ASSERT_TRUE(store->WriteUnlogged(&batch).ok());
    }
    // One table file, moved below level 0, where RocksDB does not pin its blocks in the cache.
    ASSERT_TRUE(store->db()->Flush(rocksdb::FlushOptions(), family).ok());
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    ASSERT_TRUE(store->db()->CompactRange(compact, family, nullptr, nullptr).ok());
    std::string files;
    ASSERT_TRUE(store->db()->GetProperty(family, "rocksdb.num-files-at-level0", &files));
    ASSERT_EQ(files, "0");
    rocksdb::TablePropertiesCollection tables;
    ASSERT_TRUE(store->db()->GetPropertiesOfAllTables(family, &tables).ok());
    ASSERT_EQ(tables.size(), 1u);
    EXPECT_GT(tables.begin()->second->filter_size, uint64_t{64} << 10);  // half the cache
  }

  // The Store turns RocksDB's counting off once in each thread that looks keys up; on again
  // after that first lookup, it counts the blocks the next ones read from the files.
  constexpr int kLookups = 1000;
  uint64_t read_bytes = 0, absent = 0;
  std::thread([&] {
    ASSERT_TRUE(store->FindClosedReservation("warm-up").ok());
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
    rocksdb::get_perf_context()->Reset();
    for (int i = 0; i < kLookups; ++i) {
      // Within the files' key ranges (no id above 1000002 is stored), so each file is asked.
      const std::string id = absl::StrCat("bench-18c2e9f0a7b3d5e1-1-", 1000003 + i * 997);
      absl::StatusOr<std::optional<store::v1::ReservationRow>> closed =
          store->FindClosedReservation(id);
      ASSERT_TRUE(closed.ok()) << closed.status();
      absl::StatusOr<std::optional<IdempotencyEntry>> key = store->FindStoredIdempotency(id);
      ASSERT_TRUE(key.ok()) << key.status();
      absent += !closed->has_value() && !key->has_value();
    }
    read_bytes = rocksdb::get_perf_context()->block_read_byte;
  }).join();
  EXPECT_EQ(absent, uint64_t{kLookups});
  EXPECT_LT(read_bytes / kLookups, uint64_t{16} << 10)
      << read_bytes << " bytes read from the files for " << kLookups << " pairs of lookups";

  // And a row that is there is found.
  absl::StatusOr<std::optional<store::v1::ReservationRow>> found =
      store->FindClosedReservation(id_of(5));
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->held_micros(), 5000000);
  store.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace callbackledger
