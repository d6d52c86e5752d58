#include "ledger/store.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ledger/scratch_store_test.h"
#include "ledger/testing/write_ahead_log.h"
#include "rocksdb/cache.h"
#include "rocksdb/env.h"
#include "rocksdb/perf_context.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"

namespace callbackledger {
namespace {

using testing::WriteAheadLogBytes;

using StoreTest = ScratchStoreTest<>;

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

// The committer reads a reservation the in-memory state let go of from its row in
// closed_reservations: found, not found, and a row that cannot be decoded is DATA_LOSS
// naming it. The family keeps its lookup filters when a rebuild creates it again.
TEST_F(StoreTest, FindClosedReservationReadsTheRowBeforeAndAfterAClear) {
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "as opened" : "after ClearProjections");
    store::v1::ReservationRow row;
    row.set_reservation_id("r-1");
    row.set_state(store::v1::ReservationRow::SETTLED);
    row.set_held_micros(5000000);
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(
        batch.Put(store_->projection(Cf::kClosedReservations), "r-1", row.SerializeAsString())
            .ok());
    ASSERT_TRUE(batch.Put(store_->projection(Cf::kClosedReservations), "bad", "\xff\xff").ok());
    ASSERT_TRUE(store_->WriteSynced(&batch).ok());

    // From the memtable, then from a table file.
    for (bool flushed : {false, true}) {
      if (flushed) {
        ASSERT_TRUE(
            store_->db()
                ->Flush(rocksdb::FlushOptions(), store_->projection(Cf::kClosedReservations))
                .ok());
      }
      absl::StatusOr<std::optional<store::v1::ReservationRow>> found =
          store_->FindClosedReservation("r-1");
      ASSERT_TRUE(found.ok()) << found.status();
      ASSERT_TRUE(found->has_value());
      EXPECT_EQ((*found)->SerializeAsString(), row.SerializeAsString());
      absl::StatusOr<std::optional<store::v1::ReservationRow>> missing =
          store_->FindClosedReservation("r-2");
      ASSERT_TRUE(missing.ok()) << missing.status();
      EXPECT_FALSE(missing->has_value());
      absl::StatusOr<std::optional<store::v1::ReservationRow>> bad =
          store_->FindClosedReservation("bad");
      EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
      EXPECT_TRUE(absl::StrContains(bad.status().message(), "\"bad\"")) << bad.status();
    }
    rocksdb::ColumnFamilyDescriptor descriptor;
    ASSERT_TRUE(store_->projection(Cf::kClosedReservations)->GetDescriptor(&descriptor).ok());
    EXPECT_TRUE(descriptor.options.memtable_whole_key_filtering);
    EXPECT_GT(descriptor.options.memtable_prefix_bloom_size_ratio, 0);

    ASSERT_TRUE(store_->ClearProjections().ok());
    absl::StatusOr<std::optional<store::v1::ReservationRow>> cleared =
        store_->FindClosedReservation("r-1");
    ASSERT_TRUE(cleared.ok()) << cleared.status();
    EXPECT_FALSE(cleared->has_value());
  }
}

// The committer reads every idempotency key from its row (the in-memory state keeps none):
// found as stored, not found, and a row that cannot be decoded or holds a fingerprint
// longer than a keyed hash is DATA_LOSS naming the key. The family keeps its lookup
// filters when a rebuild creates it again.
TEST_F(StoreTest, FindStoredIdempotencyReadsTheKeyBeforeAndAfterAClear) {
  const std::string fingerprint(IdempotencyEntry::kMaxFingerprintBytes, '\xfe');
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "as opened" : "after ClearProjections");
    store::v1::IdempotencyRow row;
    row.set_fingerprint(fingerprint);
    row.set_sequence(41);
    store::v1::IdempotencyRow too_long = row;
    too_long.set_fingerprint(fingerprint + "f");
    rocksdb::ColumnFamilyHandle* family = store_->projection(Cf::kIdempotency);
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put(family, "AddCredit/k", row.SerializeAsString()).ok());
    ASSERT_TRUE(batch.Put(family, "AddCredit/long", too_long.SerializeAsString()).ok());
    ASSERT_TRUE(batch.Put(family, "AddCredit/bad", "\xff\xff").ok());
    ASSERT_TRUE(store_->WriteSynced(&batch).ok());

    // From the memtable, then from a table file.
    for (bool flushed : {false, true}) {
      if (flushed) {
        ASSERT_TRUE(store_->db()->Flush(rocksdb::FlushOptions(), family).ok());
      }
      absl::StatusOr<std::optional<IdempotencyEntry>> found =
          store_->FindStoredIdempotency("AddCredit/k");
      ASSERT_TRUE(found.ok()) << found.status();
      ASSERT_TRUE(found->has_value());
      EXPECT_EQ((*found)->fingerprint(), fingerprint);
      EXPECT_EQ((*found)->sequence(), 41u);
      absl::StatusOr<std::optional<IdempotencyEntry>> missing =
          store_->FindStoredIdempotency("AddCredit/other");
      ASSERT_TRUE(missing.ok()) << missing.status();
      EXPECT_FALSE(missing->has_value());
      for (const char* key : {"AddCredit/long", "AddCredit/bad"}) {
        absl::StatusOr<std::optional<IdempotencyEntry>> bad = store_->FindStoredIdempotency(key);
        EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss) << key;
        EXPECT_EQ(bad.status().message(),
                  absl::StrCat("the idempotency row of key \"", absl::CHexEscape(std::string(key)),
                               "\" cannot be decoded"));
      }
    }
    rocksdb::ColumnFamilyDescriptor descriptor;
    ASSERT_TRUE(family->GetDescriptor(&descriptor).ok());
    EXPECT_TRUE(descriptor.options.memtable_whole_key_filtering);
    EXPECT_GT(descriptor.options.memtable_prefix_bloom_size_ratio, 0);

    ASSERT_TRUE(store_->ClearProjections().ok());
    absl::StatusOr<std::optional<IdempotencyEntry>> cleared =
        store_->FindStoredIdempotency("AddCredit/k");
    ASSERT_TRUE(cleared.ok()) << cleared.status();
    EXPECT_FALSE(cleared->has_value());
  }
}

// Every column family's table files share one block cache, which holds their index and
// filter blocks as well, so what RocksDB keeps for them is bounded; a rebuild creates the
// projection families again with the same. The cache's usage is what Memory() reports.
TEST_F(StoreTest, EveryFamilySharesOneBlockCacheThatHoldsIndexAndFilterBlocks) {
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "as opened" : "after ClearProjections");
    std::vector<rocksdb::ColumnFamilyHandle*> families = {store_->events(), store_->config()};
    for (int i = 0; i < kProjectionCfCount; ++i) {
      families.push_back(store_->projection(static_cast<Cf>(i)));
    }
    rocksdb::Cache* shared = nullptr;
    for (rocksdb::ColumnFamilyHandle* family : families) {
      rocksdb::ColumnFamilyDescriptor descriptor;
      ASSERT_TRUE(family->GetDescriptor(&descriptor).ok());
      const auto* tables =
          descriptor.options.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>();
      ASSERT_NE(tables, nullptr) << descriptor.name;
      ASSERT_NE(tables->block_cache, nullptr) << descriptor.name;
      if (shared == nullptr) shared = tables->block_cache.get();
      EXPECT_EQ(tables->block_cache.get(), shared) << descriptor.name;
      EXPECT_TRUE(tables->cache_index_and_filter_blocks) << descriptor.name;
      const bool lookups =
          descriptor.name == "closed_reservations" || descriptor.name == "idempotency";
      EXPECT_EQ(tables->filter_policy != nullptr, lookups) << descriptor.name;
      // In partitions (store_lookup_test.cc), also after a rebuild's clear.
      EXPECT_EQ(tables->index_type, rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch)
          << descriptor.name;
      EXPECT_EQ(tables->partition_filters, lookups) << descriptor.name;
    }
    EXPECT_EQ(shared->GetCapacity(), StoreOptions().block_cache_bytes);

    // A row written, flushed and read back: its table's blocks are in the cache.
    Put(store_->projection(Cf::kCallerIds), "k");
    ASSERT_TRUE(store_->FlushProjections().ok());
    std::string value;
    ASSERT_TRUE(store_->db()
                    ->Get(rocksdb::ReadOptions(), store_->projection(Cf::kCallerIds), "k", &value)
                    .ok());
    EXPECT_GT(store_->Memory().block_cache, 0u);
    EXPECT_EQ(store_->Memory().block_cache, shared->GetUsage());
    ASSERT_TRUE(store_->ClearProjections().ok());
  }
}

// What the data directory's table files take, family by family: every family once, by its
// name; a family's figure grows when its rows reach a table file, and the others' do not.
TEST_F(StoreTest, TableFileBytesNamesEveryFamilyAndGrowsWithItsFlushedRows) {
  auto by_name = [this]() {
    std::map<std::string, uint64_t> bytes;
    for (const auto& [name, size] : store_->TableFileBytes()) {
      EXPECT_TRUE(bytes.emplace(name, size).second) << name << " twice";
    }
    return bytes;
  };
  const std::map<std::string, uint64_t> before = by_name();
  ASSERT_EQ(before.size(),
            static_cast<size_t>(kProjectionCfCount + 3));  // + default, events, config
  ASSERT_TRUE(before.count("events"));
  for (int i = 0; i < kProjectionCfCount; ++i) {
    ASSERT_TRUE(before.count(CfName(static_cast<Cf>(i)))) << CfName(static_cast<Cf>(i));
  }

  std::mt19937 random(11);
  for (uint64_t sequence = 1; sequence <= 1000; ++sequence) {
    std::string value(100, '\0');
    for (char& c : value) c = static_cast<char>(random());  // does not compress
    ASSERT_TRUE(store_->db()
                    ->Put(rocksdb::WriteOptions(), store_->events(), BigEndian64(sequence), value)
                    .ok());
  }
  // In the log and the memtable only: no table file yet.
  EXPECT_EQ(by_name().at("events"), before.at("events"));
  ASSERT_TRUE(store_->FlushAll().ok());

  const std::map<std::string, uint64_t> after = by_name();
  EXPECT_GE(after.at("events"), before.at("events") + 1000 * 100)
      << "events: " << before.at("events") << " -> " << after.at("events");
  EXPECT_EQ(after.at(CfName(Cf::kCallerIds)), before.at(CfName(Cf::kCallerIds)));
}

// Every family reads back in key order with the latest value of each key, its deleted keys
// gone: from the memtable (the vector memtables of the families only read whole sort their
// rows when read), after a restart that replays the log, and from table files. Rows go in
// out of order, are overwritten and deleted, as the committer writes them.
TEST_F(StoreTest, EveryFamilyReadsBackInKeyOrderFromMemtablesAndFiles) {
  std::vector<std::map<std::string, std::string>> want(kProjectionCfCount);
  std::mt19937 random(7);
  for (int round = 0; round < 3; ++round) {
    rocksdb::WriteBatch batch;
    for (int i = 0; i < kProjectionCfCount; ++i) {
      rocksdb::ColumnFamilyHandle* cf = store_->projection(static_cast<Cf>(i));
      for (int n = 0; n < 300; ++n) {
        const std::string key = BigEndian64(random() % 200);
        if (random() % 4 == 0) {
          ASSERT_TRUE(batch.Delete(cf, key).ok());
          want[i].erase(key);
        } else {
          const std::string value = absl::StrCat("round ", round, " write ", n);
          ASSERT_TRUE(batch.Put(cf, key, value).ok());
          want[i][key] = value;
        }
      }
    }
    ASSERT_TRUE(store_->WriteSynced(&batch).ok());
  }
  auto expect_rows = [&](const std::string& where) {
    for (int i = 0; i < kProjectionCfCount; ++i) {
      std::map<std::string, std::string> got;
      std::string last;
      std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
          rocksdb::ReadOptions(), store_->projection(static_cast<Cf>(i))));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        EXPECT_TRUE(got.empty() || it->key().ToString() > last) << where;
        last = it->key().ToString();
        got[last] = it->value().ToString();
      }
      ASSERT_TRUE(it->status().ok()) << it->status().ToString();
      EXPECT_EQ(got, want[i]) << CfName(static_cast<Cf>(i)) << ", " << where;
    }
  };
  expect_rows("from the memtables");
  Reopen();
  expect_rows("after a restart");
  ASSERT_TRUE(store_->FlushAll().ok());
  expect_rows("from table files");
}

// A rebuild writes the State's CallerIDs straight into a table file and adds it whole: its
// rows read back in order, after a restart too, and above an older row of the same key; a
// row out of key order is refused; and the file leaves no name of its own in the data
// directory.
TEST_F(StoreTest, SortedRowsAreAddedWholeAboveTheFamilysRows) {
  Put(store_->projection(Cf::kCallerIds), BigEndian64(2));  // "value", to be replaced
  absl::StatusOr<std::unique_ptr<rocksdb::SstFileWriter>> rows =
      store_->NewSortedRows(Cf::kCallerIds);
  ASSERT_TRUE(rows.ok()) << rows.status();
  for (uint64_t id = 1; id <= 3; ++id) {
    ASSERT_TRUE((*rows)->Put(BigEndian64(id), absl::StrCat("row ", id)).ok());
  }
  EXPECT_FALSE((*rows)->Put(BigEndian64(3), "again").ok());
  ASSERT_TRUE(store_->IngestSortedRows(Cf::kCallerIds, rows->get()).ok());

  auto rows_now = [this] {
    std::vector<std::string> got;
    std::unique_ptr<rocksdb::Iterator> it(
        store_->db()->NewIterator(rocksdb::ReadOptions(), store_->projection(Cf::kCallerIds)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) got.push_back(it->value().ToString());
    return got;
  };
  const std::vector<std::string> want = {"row 1", "row 2", "row 3"};
  EXPECT_EQ(rows_now(), want);
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/data")) {
    EXPECT_FALSE(absl::StrContains(entry.path().filename().string(), "rebuilt")) << entry.path();
  }
  Reopen();
  EXPECT_EQ(rows_now(), want);
}

// A key looked up one by one in a vector memtable would sort a copy of the memtable for each
// lookup: the families the ledger looks keys up in (closed reservations, idempotency keys,
// the meta row at a start) and reads by range (recharges, calls, the event log) keep skip
// lists; only the two families every call rewrites and a start reads whole have vectors.
TEST_F(StoreTest, OnlyTheFamiliesReadWholeHaveVectorMemtables) {
  auto memtable = [this](rocksdb::ColumnFamilyHandle* cf) {
    return std::string(store_->db()->GetOptions(cf).memtable_factory->Name());
  };
  for (int i = 0; i < kProjectionCfCount; ++i) {
    const Cf cf = static_cast<Cf>(i);
    const bool whole = cf == Cf::kCallerIds || cf == Cf::kReservations;
    EXPECT_EQ(memtable(store_->projection(cf)), whole ? "VectorRepFactory" : "SkipListFactory")
        << CfName(cf);
  }
  EXPECT_EQ(memtable(store_->events()), "SkipListFactory");
  EXPECT_EQ(memtable(store_->config()), "SkipListFactory");
  // A rebuild creates the families again with the same memtables.
  ASSERT_TRUE(store_->ClearProjections().ok());
  EXPECT_EQ(memtable(store_->projection(Cf::kCallerIds)), "VectorRepFactory");
  EXPECT_EQ(memtable(store_->projection(Cf::kClosedReservations)), "SkipListFactory");
}

// The event log keeps one memtable insert hint, and "calls" one per extension (not per
// CallerID, whose rows come far apart and whose hints would fill memory); no other family
// has any. A rebuild creates "calls" again with its hints.
TEST_F(StoreTest, TheEventLogAndEachExtensionsCallsKeepAnInsertHint) {
  auto hints = [this](rocksdb::ColumnFamilyHandle* cf) {
    return store_->db()->GetOptions(cf).memtable_insert_with_hint_prefix_extractor;
  };
  for (int i = 0; i < kProjectionCfCount; ++i) {
    const Cf cf = static_cast<Cf>(i);
    EXPECT_EQ(hints(store_->projection(cf)) != nullptr, cf == Cf::kCalls) << CfName(cf);
  }
  EXPECT_EQ(hints(store_->config()), nullptr);
  const auto events = hints(store_->events());
  ASSERT_NE(events, nullptr);
  EXPECT_TRUE(events->InDomain(BigEndian64(7)));
  EXPECT_EQ(events->Transform(BigEndian64(7)).ToString(), "") << "one hint for every event";

  ASSERT_TRUE(store_->ClearProjections().ok());
  const auto calls = hints(store_->projection(Cf::kCalls));
  ASSERT_NE(calls, nullptr);
  const std::string by_extension = CallKeyByExtension("100", 1'700'000'000'000'000, 9);
  ASSERT_TRUE(calls->InDomain(by_extension));
  EXPECT_EQ(calls->Transform(by_extension).ToString(), CallKeyPrefixByExtension("100"));
  EXPECT_FALSE(calls->InDomain(CallKeyByCallerId(5, 1'700'000'000'000'000, 9)));
  EXPECT_FALSE(calls->InDomain("e"));
}

// A rebuild writes its rows without the log and counts on FlushProjections to put every
// family's rows on disk before it marks the projections whole: the flushes run side by
// side, but FlushProjections returns only once none is left in a memtable, waiting or not,
// and a clean stop's FlushAll the same for every family.
TEST_F(StoreTest, FlushesLeaveNoRowOfAnyFamilyInAMemtable) {
  auto in_memtables = [this](rocksdb::ColumnFamilyHandle* cf) {
    uint64_t active = 0, immutable = 0;
    EXPECT_TRUE(store_->db()->GetIntProperty(cf, "rocksdb.num-entries-active-mem-table", &active));
    EXPECT_TRUE(store_->db()->GetIntProperty(cf, "rocksdb.num-entries-imm-mem-tables", &immutable));
    return active + immutable;
  };
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kProjectionCfCount; ++i) {
      rocksdb::WriteBatch batch;
      for (int row = 0; row < 2000; ++row) {
        ASSERT_TRUE(batch
                        .Put(store_->projection(static_cast<Cf>(i)),
                             absl::StrCat("key-", round, "-", row), std::string(100, 'v'))
                        .ok());
      }
      ASSERT_TRUE(store_->WriteUnlogged(&batch).ok());
    }
    ASSERT_TRUE(store_->FlushProjections().ok());
    for (int i = 0; i < kProjectionCfCount; ++i) {
      const Cf cf = static_cast<Cf>(i);
      EXPECT_EQ(in_memtables(store_->projection(cf)), 0u) << CfName(cf);
      rocksdb::ColumnFamilyMetaData meta;
      store_->db()->GetColumnFamilyMetaData(store_->projection(cf), &meta);
      EXPECT_EQ(meta.file_count, static_cast<size_t>(round + 1)) << CfName(cf);
    }
  }
  Put(store_->events(), BigEndian64(1));
  Put(store_->projection(Cf::kCallerIds), "after");
  ASSERT_TRUE(store_->FlushAll().ok());
  EXPECT_EQ(in_memtables(store_->events()), 0u);
  EXPECT_EQ(in_memtables(store_->projection(Cf::kCallerIds)), 0u);
}

// What the metrics show: the live log files' bytes, as the directory has them.
TEST_F(StoreTest, WriteAheadLogBytesAreTheLiveLogFiles) {
  Put(store_->events(), BigEndian64(1));
  Put(store_->events(), BigEndian64(2));
  EXPECT_GT(store_->WriteAheadLogBytes(), 0u);
  EXPECT_EQ(store_->WriteAheadLogBytes(), WriteAheadLogBytes(dir_ + "/data"));
}

// The committer's thread (and a rebuild's) writes and looks up keys without RocksDB
// counting each key comparison into its thread-local PerfContext: a thread that never wrote
// counts (RocksDB's default), one that wrote or looked up through the store does not.
TEST_F(StoreTest, WritesAndLookupsLeaveRocksDbPerfCountingOff) {
  auto level_after = [](auto use_store) {
    rocksdb::PerfLevel level = rocksdb::PerfLevel::kUninitialized;
    std::thread([&] {
      use_store();
      level = rocksdb::GetPerfLevel();
    }).join();
    return level;
  };
  EXPECT_EQ(level_after([] {}), rocksdb::PerfLevel::kEnableCount);
  EXPECT_EQ(level_after([this] { Put(store_->events(), BigEndian64(1)); }),
            rocksdb::PerfLevel::kDisable);
  EXPECT_EQ(level_after([this] {
              rocksdb::WriteBatch batch;
              ASSERT_TRUE(batch.Put(store_->projection(Cf::kCallerIds), "k", "v").ok());
              ASSERT_TRUE(store_->WriteUnlogged(&batch).ok());
            }),
            rocksdb::PerfLevel::kDisable);
  EXPECT_EQ(level_after([this] { EXPECT_TRUE(store_->FindClosedReservation("r").ok()); }),
            rocksdb::PerfLevel::kDisable);
  EXPECT_EQ(level_after([this] { EXPECT_TRUE(store_->FindStoredIdempotency("k").ok()); }),
            rocksdb::PerfLevel::kDisable);

  // No count grows on such a thread, however many keys its writes compare.
  uint64_t comparisons = 1;
  std::thread([&] {
    for (int i = 0; i < 100; ++i) Put(store_->events(), BigEndian64(100 + i));
    comparisons = rocksdb::get_perf_context()->user_key_comparison_count;
  }).join();
  EXPECT_EQ(comparisons, 0u);
}

// A family written once (config) holds rows of the first log file until it is flushed; the
// log grows meanwhile with every write to the others. With a bound, the families holding
// the oldest file are flushed once the log passes it, so a start after a crash replays
// about that much and no more; every row stays.
TEST_F(StoreTest, TheWriteAheadLogStaysNearItsBound) {
  const std::string path = dir_ + "/data";
  store_.reset();
  StoreOptions options;
  options.path = path;
  options.max_wal_bytes = 1 << 20;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
  Put(store_->config(), "written once");

  constexpr int kBatches = 128, kRowsABatch = 16;  // 8 MiB of 4 KiB rows
  const std::string value(4096, 'v');
  for (int b = 0; b < kBatches; ++b) {
    rocksdb::WriteBatch batch;
    for (int r = 0; r < kRowsABatch; ++r) {
      ASSERT_TRUE(batch.Put(store_->events(), BigEndian64(b * kRowsABatch + r), value).ok());
    }
    ASSERT_TRUE(store_->WriteSynced(&batch).ok());
  }
  // The flushes and the deletion of the log files they free run in the background, and
  // RocksDB looks at the bound when a write comes: while a flush is still running, writes
  // go on into the log. More small writes, once the flushes are done, trigger the next.
  int more = 0;
  for (; more < 200 && WriteAheadLogBytes(path) > (3u << 20); ++more) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Put(store_->events(), BigEndian64(kBatches * kRowsABatch + more));
  }
  EXPECT_LE(WriteAheadLogBytes(path), 3u << 20) << "8 MiB written against a bound of 1 MiB";

  store_.reset();
  store = Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
  EXPECT_EQ(Keys(store_->config()), std::vector<std::string>{"written once"});
  EXPECT_EQ(Keys(store_->events()).size(), size_t{kBatches * kRowsABatch} + more);
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

// The events of a log of `count` events, sequences 1..count, each with a callerid_id of
// its own.
void AppendEvents(Store* store, uint64_t count) {
  rocksdb::WriteBatch batch;
  for (uint64_t sequence = 1; sequence <= count; ++sequence) {
    v1::Event event;
    event.set_sequence(sequence);
    event.mutable_caller_id_added()->set_callerid_id(1000 + sequence);
    ASSERT_TRUE(batch.Put(store->events(), BigEndian64(sequence), event.SerializeAsString()).ok());
  }
  ASSERT_TRUE(store->WriteSynced(&batch).ok());
}

// A scan hands every event from the first asked for, in order, in chunks of the size asked
// for (the last one shorter); each chunk's events stay whole until `each` returns, while
// the next chunks are read and parsed on the scan's own thread.
TEST_F(StoreTest, ScanEventsHandsEveryEventInOrderInChunks) {
  ASSERT_NO_FATAL_FAILURE(AppendEvents(store_.get(), 103));
  std::vector<size_t> sizes;
  std::vector<uint64_t> seen;
  absl::Status scanned =
      store_->ScanEvents(4, 10, [&](const std::vector<const v1::Event*>& events) {
        sizes.push_back(events.size());
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the reader runs ahead
        for (const v1::Event* event : events) {
          EXPECT_EQ(event->caller_id_added().callerid_id(), 1000 + event->sequence());
          seen.push_back(event->sequence());
        }
        return absl::OkStatus();
      });
  ASSERT_TRUE(scanned.ok()) << scanned;
  std::vector<uint64_t> want;
  for (uint64_t sequence = 4; sequence <= 103; ++sequence) want.push_back(sequence);
  EXPECT_EQ(seen, want);
  EXPECT_EQ(sizes, std::vector<size_t>(10, 10));

  // Past the end: nothing, and no error.
  int calls = 0;
  EXPECT_TRUE(store_
                  ->ScanEvents(104, 10,
                               [&](const std::vector<const v1::Event*>&) {
                                 ++calls;
                                 return absl::OkStatus();
                               })
                  .ok());
  EXPECT_EQ(calls, 0);
}

// The scan stops at the first error: `each`'s, returned as it is, or an undecodable event,
// DATA_LOSS naming its key, after the chunks before it.
TEST_F(StoreTest, ScanEventsStopsAtTheFirstError) {
  ASSERT_NO_FATAL_FAILURE(AppendEvents(store_.get(), 50));
  int calls = 0;
  absl::Status scanned = store_->ScanEvents(1, 4, [&](const std::vector<const v1::Event*>&) {
    return ++calls == 3 ? absl::CancelledError("enough") : absl::OkStatus();
  });
  EXPECT_EQ(scanned, absl::CancelledError("enough"));
  EXPECT_EQ(calls, 3);

  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put(store_->events(), BigEndian64(30), "\xff\xff not an event").ok());
  ASSERT_TRUE(store_->WriteSynced(&batch).ok());
  uint64_t last = 0;
  scanned = store_->ScanEvents(1, 4, [&](const std::vector<const v1::Event*>& events) {
    last = events.back()->sequence();
    return absl::OkStatus();
  });
  EXPECT_EQ(scanned.code(), absl::StatusCode::kDataLoss) << scanned;
  EXPECT_TRUE(absl::StrContains(scanned.message(), "undecodable event")) << scanned;
  EXPECT_EQ(last, 28u);  // the chunks before the one holding event 30
}

}  // namespace
}  // namespace callbackledger
