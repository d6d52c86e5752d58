#include "ledger/store.h"

#include <algorithm>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "ledger/sync.h"
#include "ledger/thread_name.h"
#include "ledger/wal_zero_ahead.h"
#include "rocksdb/cache.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"

namespace callbackledger {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// RocksDB counts into a thread-local PerfContext unless told not to (its default level is
// kEnableCount): every key comparison of a memtable insert or lookup then adds to a counter
// nobody here reads, through a thread-local of a shared library, i.e. a __tls_get_addr call
// each. Turned off once in every thread that writes or looks up keys, and in the thread that
// reads the log ahead of a rebuild.
void StopPerfCounting() {
  static thread_local bool stopped = false;
  if (stopped) return;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  stopped = true;
}

// Parses the event under `it` into `event`; DATA_LOSS when its key or value is malformed.
absl::Status ParseEventAt(const rocksdb::Iterator& it, v1::Event* event) {
  if (it.key().size() != 8 ||
      !event->ParseFromArray(it.value().data(), static_cast<int>(it.value().size()))) {
    return absl::DataLossError(
        absl::StrCat("undecodable event at key ", it.key().ToString(/*hex=*/true)));
  }
  return absl::OkStatus();
}

// Opens `descriptors` for reading. Those from `first_optional` on (the projections) may be
// missing, after a clear cut short by a crash (the next read-write open creates them): they
// get a null handle, for Open to point at the empty default family.
rocksdb::Status OpenReadOnly(const rocksdb::Options& db_options, const std::string& path,
                             const std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors,
                             size_t first_optional,
                             std::vector<rocksdb::ColumnFamilyHandle*>* handles, rocksdb::DB** db) {
  std::vector<std::string> present;
  rocksdb::Status status = rocksdb::DB::ListColumnFamilies(db_options, path, &present);
  if (!status.ok()) return status;
  std::vector<rocksdb::ColumnFamilyDescriptor> found;
  std::vector<int> index;  // of each found family in `descriptors`
  for (size_t i = 0; i < descriptors.size(); ++i) {
    bool missing = std::find(present.begin(), present.end(), descriptors[i].name) == present.end();
    if (missing && i >= first_optional) continue;
    found.push_back(descriptors[i]);
    index.push_back(static_cast<int>(i));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> opened;
  status = rocksdb::DB::OpenForReadOnly(db_options, path, found, &opened, db);
  if (!status.ok()) return status;
  handles->assign(descriptors.size(), nullptr);
  for (size_t i = 0; i < opened.size(); ++i) (*handles)[index[i]] = opened[i];
  return status;
}

// A column family's options. The table files of every family share the store's block cache,
// and their index and filter blocks live in it too (those of level 0 pinned there), so what
// RocksDB holds for them is bounded by the cache instead of growing with the data on disk.
// Families looked up one by one for keys mostly absent get bloom filters.
//
// Index and filter blocks are cut into partitions of about 4 KiB under a small top-level
// index, kept in the cache while its table file is open: a lookup reads the one partition
// of each it needs. Whole, the index of a 130 MB table file of closed reservations is 3 MB
// and its filter 1.2 MB, the filter of an idempotency file 2 MB, while the cache is cut in
// 64 shards (2 MiB each at 128 MiB) and keeps no block larger than a shard, or than what is
// left of it beside another such block: a block that did not stay was read again from its
// file, and its checksum computed, by every lookup that needed it (megabytes a lookup, the
// committer's slow spells of a long run; docs/benchmarks.md, "The long run's slow spells").
rocksdb::ColumnFamilyOptions FamilyOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                           bool lookups) {
  rocksdb::ColumnFamilyOptions options;
  rocksdb::BlockBasedTableOptions tables;
  tables.block_cache = cache;
  tables.cache_index_and_filter_blocks = true;
  tables.pin_l0_filter_and_index_blocks_in_cache = true;
  tables.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  tables.metadata_block_size = 4096;
  tables.pin_top_level_index_and_filter = true;
  tables.cache_index_and_filter_blocks_with_high_priority = true;
  if (lookups) {
    tables.partition_filters = true;
    // Closed reservations and idempotency keys are looked up one by one, for ids mostly
    // not stored (every new Reserve, every new request_id): a bloom filter in each table
    // file and in the memtable answers most of those without reading a block or walking
    // the skip list.
    tables.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    options.memtable_prefix_bloom_size_ratio = 0.05;
    options.memtable_whole_key_filtering = true;
  }
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(tables));
  return options;
}

// The event log's options: its keys only grow, so the memtable keeps one insert hint (one
// empty prefix for every key) and each event goes in after the last one instead of being
// searched for from the top of the skip list.
rocksdb::ColumnFamilyOptions EventsOptions(rocksdb::ColumnFamilyOptions options) {
  options.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(0));
  return options;
}

// The two families every call rewrites and a running ledger never reads: a start and
// `verify` read them whole, in order, and nothing looks a key up in them (the State
// answers). Their memtables are vectors instead of skip lists: the CallerID row and the
// reservation row that every Reserve, Extend, Settle and Release changes go in at the end
// instead of being placed among the others at random (the skip list's search was the
// committer thread's largest cost in RocksDB), and the rows are sorted once, when the
// memtable is flushed or read whole. A rebuild writes their rows straight into table files
// (Store::NewSortedRows), in key order, so it sorts nothing. A point lookup in such a
// memtable would sort a copy of it: the families looked up by key (closed reservations,
// idempotency keys, the meta row) or read by range (recharges, calls, the event log) keep
// the skip list, and so do those a rebuild fills out of key order (numbers).
bool OnlyReadWhole(Cf cf) { return cf == Cf::kCallerIds || cf == Cf::kReservations; }

// Adds up the hours of "call_totals" (MergeCallTotals). A value that is not one refuses the
// merge, which RocksDB reports as corruption of the row.
class CallTotalsMerge : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* merged,
             rocksdb::Logger* /*logger*/) const override {
    std::optional<std::string_view> before;
    if (existing != nullptr) before.emplace(existing->data(), existing->size());
    return MergeCallTotals(before, std::string_view(value.data(), value.size()), merged);
  }
  const char* Name() const override { return "callbackledger.CallTotals"; }
};

// The memtable's insert hint for "calls": its rows of one extension come in start order
// (within a few seconds), so each extension keeps where its last row went and the next one
// goes in from there instead of searching the skip list from the top. Not the CallerIDs'
// rows: a hint costs about 250 bytes a prefix for the memtable's life, and a CallerID's rows
// come far apart.
class ExtensionCallsPrefix : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "callbackledger.ExtensionCallsPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - kCallKeySuffixBytes);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() > kCallKeySuffixBytes && key[0] == 'e';
  }
};

// A projection column family as Open and ClearProjections create it.
rocksdb::ColumnFamilyDescriptor ProjectionDescriptor(Cf cf,
                                                     const std::shared_ptr<rocksdb::Cache>& cache) {
  const bool lookups = cf == Cf::kClosedReservations || cf == Cf::kIdempotency;
  rocksdb::ColumnFamilyOptions options = FamilyOptions(cache, lookups);
  if (OnlyReadWhole(cf)) options.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
  if (cf == Cf::kCallTotals) options.merge_operator = std::make_shared<CallTotalsMerge>();
  if (cf == Cf::kCalls) {
    options.memtable_insert_with_hint_prefix_extractor = std::make_shared<ExtensionCallsPrefix>();
  }
  return rocksdb::ColumnFamilyDescriptor(CfName(cf), options);
}

}  // namespace

absl::Status FromRocks(const rocksdb::Status& status, const std::string& what) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": ", status.ToString());
  if (status.IsNotFound()) return absl::NotFoundError(message);
  if (status.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  return absl::UnavailableError(message);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = !options.read_only;
  db_options.create_missing_column_families = !options.read_only;
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  // Vector memtables (OnlyReadWhole) take one writer at a time; the committer is the only
  // writer while serving anyway.
  db_options.allow_concurrent_memtable_write = false;
  db_options.keep_log_file_num = 5;
  db_options.max_total_wal_size = options.max_wal_bytes;
  // Every write but a rebuild's goes through the write-ahead log, and a rebuild flushes its
  // rows itself before it marks the projections whole; closing must not flush them on its
  // own: after a failed flush, that second attempt trips an assertion in RocksDB 7.8 (and
  // an unfinished rebuild is redone at the next start anyway). A clean stop of a healthy
  // ledger flushes explicitly first (FlushAll), so the next open has no log to replay.
  db_options.avoid_flush_during_shutdown = true;
  std::unique_ptr<Store> store(new Store());
  store->path_ = options.path;
  if (options.env != nullptr) {
    db_options.env = options.env;
  } else if (options.wal_zero_ahead_bytes > 0 && !options.read_only) {
    const uint64_t chunk = std::min(options.wal_zero_ahead_bytes, options.max_wal_bytes / 8);
    store->env_ =
        rocksdb::NewCompositeEnv(NewZeroAheadFileSystem(rocksdb::FileSystem::Default(), chunk));
    db_options.env = store->env_.get();
  }
  store->block_cache_ = rocksdb::NewLRUCache(options.block_cache_bytes);
  const rocksdb::ColumnFamilyOptions cf_options = FamilyOptions(store->block_cache_, false);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {"events", EventsOptions(cf_options)},
      {"config", cf_options},
  };
  for (int i = 0; i < kProjectionCfCount; ++i) {
    descriptors.push_back(ProjectionDescriptor(static_cast<Cf>(i), store->block_cache_));
  }

  rocksdb::DB* db = nullptr;
  rocksdb::Status status;
  if (options.read_only) {
    status = OpenReadOnly(db_options, options.path, descriptors, kFirstProjection, &store->handles_,
                          &db);
  } else {
    status = rocksdb::DB::Open(db_options, options.path, descriptors, &store->handles_, &db);
  }
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot open the data directory ", options.path, ": ", status.ToString()));
  }
  store->db_.reset(db);
  for (rocksdb::ColumnFamilyHandle*& handle : store->handles_) {
    if (handle == nullptr) handle = store->default_handle();
  }
  std::string format = store->format();
  if (format != kFormat && format != kFormatThree && format != kFormatTwo && format != kOldFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the data directory ", options.path, " is in format \"", absl::CHexEscape(format),
        "\", which this ledgerd does not know (it reads formats ", kOldFormat, " to ", kFormat,
        "): a newer ledgerd wrote it; run that one"));
  }
  return store;
}

std::string Store::format() { return GetConfig(kFormatKey).value_or(kOldFormat); }

Store::~Store() {
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    if (handle != default_handle()) db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  handles_.clear();
  db_->Close().PermitUncheckedError();
}

absl::Status Store::WriteSynced(rocksdb::WriteBatch* batch) {
  StopPerfCounting();
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  return FromRocks(db_->Write(write_options, batch), "writing to the event log");
}

absl::Status Store::WriteUnlogged(rocksdb::WriteBatch* batch) {
  StopPerfCounting();
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;
  return FromRocks(db_->Write(write_options, batch), "writing projection rows");
}

uint64_t Store::WriteAheadLogBytes() {
  rocksdb::VectorLogPtr files;
  if (!db_->GetSortedWalFiles(files).ok()) return 0;
  uint64_t bytes = 0;
  for (const std::unique_ptr<rocksdb::LogFile>& file : files) {
    if (file->Type() == rocksdb::kAliveLogFile) bytes += file->SizeFileBytes();
  }
  return bytes;
}

Store::MemoryUsage Store::Memory() {
  auto sum = [this](const std::string& property) {
    uint64_t value = 0;
    return db_->GetAggregatedIntProperty(property, &value) ? value : 0;
  };
  MemoryUsage usage;
  usage.memtables = sum(rocksdb::DB::Properties::kCurSizeAllMemTables);
  usage.table_readers = sum(rocksdb::DB::Properties::kEstimateTableReadersMem);
  // One cache for every family: its usage once, not summed over the families.
  usage.block_cache = block_cache_->GetUsage();
  return usage;
}

std::vector<std::pair<std::string, uint64_t>> Store::TableFileBytes() {
  std::vector<std::pair<std::string, uint64_t>> bytes;
  bytes.reserve(handles_.size());
  for (rocksdb::ColumnFamilyHandle* family : handles_) {
    uint64_t value = 0;
    // Every table file of the family, the ones an older version still holds included:
    // what the disk holds, not only what the next read sees.
    if (!db_->GetIntProperty(family, rocksdb::DB::Properties::kTotalSstFilesSize, &value)) {
      value = 0;
    }
    bytes.emplace_back(family->GetName(), value);
  }
  return bytes;
}

absl::Status Store::FlushProjections() {
  return Flush(std::vector<rocksdb::ColumnFamilyHandle*>(handles_.begin() + kFirstProjection,
                                                         handles_.end()),
               "flushing projection rows");
}

absl::StatusOr<std::unique_ptr<rocksdb::SstFileWriter>> Store::NewSortedRows(Cf cf) {
  rocksdb::ColumnFamilyHandle* family = projection(cf);
  auto rows = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(db_->GetDBOptions()),
                                                       db_->GetOptions(family), family);
  const std::string path = absl::StrCat(path_, "/rebuilt-", CfName(cf), ".sst.tmp");
  if (absl::Status s = FromRocks(rows->Open(path), absl::StrCat("creating ", path)); !s.ok()) {
    return s;
  }
  return rows;
}

absl::Status Store::IngestSortedRows(Cf cf, rocksdb::SstFileWriter* rows) {
  rocksdb::ExternalSstFileInfo file;
  if (absl::Status s = FromRocks(rows->Finish(&file), "writing rebuilt rows"); !s.ok()) return s;
  rocksdb::IngestExternalFileOptions options;
  options.move_files = true;  // a link, not a copy; RocksDB syncs it and the directory
  absl::Status added = FromRocks(db_->IngestExternalFile(projection(cf), {file.file_path}, options),
                                 absl::StrCat("adding the rebuilt ", CfName(cf), " rows"));
  // Once added, RocksDB has removed the name it was written under; after a failure the file
  // goes too (the rebuild is redone).
  db_->GetEnv()->DeleteFile(file.file_path).PermitUncheckedError();
  return added;
}

absl::Status Store::FlushAll() {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    if (handle != default_handle()) handles.push_back(handle);
  }
  return Flush(handles, "flushing every column family");
}

absl::Status Store::Flush(const std::vector<rocksdb::ColumnFamilyHandle*>& handles,
                          const char* what) {
  rocksdb::FlushOptions options;
  options.wait = true;
  options.allow_write_stall = true;
  return FromRocks(db_->Flush(options, handles), what);
}

absl::StatusOr<v1::Event> Store::ReadEvent(uint64_t sequence) {
  std::string value;
  std::string key = BigEndian64(sequence);
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), events(), key, &value);
  if (status.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat("no event ", sequence, " in the log"));
  }
  if (!status.ok()) return FromRocks(status, "reading the event log");
  v1::Event event;
  if (!event.ParseFromString(value)) {
    return absl::DataLossError(absl::StrCat("event ", sequence, " cannot be decoded"));
  }
  return event;
}

absl::StatusOr<std::optional<store::v1::ReservationRow>> Store::FindClosedReservation(
    std::string_view reservation_id) const {
  StopPerfCounting();
  std::string value;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), projection(Cf::kClosedReservations),
                                    ToSlice(reservation_id), &value);
  if (status.IsNotFound()) return std::nullopt;
  if (!status.ok()) return FromRocks(status, "reading a reservation row");
  store::v1::ReservationRow row;
  if (!row.ParseFromString(value)) {
    return absl::DataLossError(absl::StrCat("the reservation row of \"",
                                            absl::CHexEscape(std::string(reservation_id)),
                                            "\" cannot be decoded"));
  }
  return row;
}

absl::StatusOr<std::optional<IdempotencyEntry>> Store::FindStoredIdempotency(
    std::string_view key) const {
  StopPerfCounting();
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), projection(Cf::kIdempotency), ToSlice(key), &value);
  if (status.IsNotFound()) return std::nullopt;
  if (!status.ok()) return FromRocks(status, "reading an idempotency key");
  store::v1::IdempotencyRow row;
  std::optional<IdempotencyEntry> entry;
  if (row.ParseFromString(value)) entry = IdempotencyEntry::FromRow(row);
  if (!entry.has_value()) {
    return absl::DataLossError(absl::StrCat("the idempotency row of key \"",
                                            absl::CHexEscape(std::string(key)),
                                            "\" cannot be decoded"));
  }
  return entry;
}

absl::StatusOr<std::vector<v1::Event>> Store::ReadEvents(uint64_t from_sequence, size_t limit) {
  std::vector<v1::Event> events_read;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events()));
  std::string start = BigEndian64(from_sequence);
  for (it->Seek(start); it->Valid() && events_read.size() < limit; it->Next()) {
    v1::Event event;
    if (absl::Status s = ParseEventAt(*it, &event); !s.ok()) return s;
    events_read.push_back(std::move(event));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the event log");
  return events_read;
}

namespace {

// Reads and parses the events of a scan on a thread of its own, one chunk ahead of the
// scan's consumer: two chunks, each in an arena of its own, which the reader resets only
// once the consumer is done with the chunk it held.
class ChunkReader {
 public:
  ChunkReader(std::unique_ptr<rocksdb::Iterator> it, uint64_t from_sequence, size_t chunk)
      : it_(std::move(it)), from_sequence_(from_sequence), chunk_(chunk) {
    google::protobuf::ArenaOptions options;
    options.start_block_size = 64 << 10;
    options.max_block_size = 1 << 20;
    for (auto& slot : slots_) {
      slot = std::make_unique<Slot>(options);
      slot->events.reserve(chunk);
    }
    thread_ = StartNamedThread("ledger-readlog", [this] {
      StopPerfCounting();
      Read();
    });
  }
  ~ChunkReader() {
    {
      MutexLock lock(&mu_);
      stopped_ = true;
    }
    thread_.join();
  }

  // The n-th chunk (from 0), once read; null after the last one. The chunk before it is
  // handed back to the reader.
  const std::vector<const v1::Event*>* Next(int n) {
    MutexLock lock(&mu_);
    taken_ = n;
    auto read = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return filled_ > taken_ || done_; };
    mu_.Await(Condition(&read));
    if (filled_ <= n) return nullptr;
    return &slots_[n % 2]->events;
  }

  // The first error of the scan, once Next answered null.
  absl::Status status() {
    MutexLock lock(&mu_);
    return status_;
  }

 private:
  struct Slot {
    explicit Slot(const google::protobuf::ArenaOptions& options) : arena(options) {}
    google::protobuf::Arena arena;
    std::vector<const v1::Event*> events;
  };

  void Read() {
    it_->Seek(BigEndian64(from_sequence_));
    for (int n = 0;; ++n) {
      {
        MutexLock lock(&mu_);
        auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopped_ || filled_ - taken_ < 2;
        };
        mu_.Await(Condition(&room));
        if (stopped_) return;
      }
      Slot& slot = *slots_[n % 2];
      slot.events.clear();
      slot.arena.Reset();
      absl::Status status;
      for (; it_->Valid() && slot.events.size() < chunk_; it_->Next()) {
        v1::Event* event = google::protobuf::Arena::CreateMessage<v1::Event>(&slot.arena);
        status = ParseEventAt(*it_, event);
        if (!status.ok()) break;
        slot.events.push_back(event);
      }
      if (status.ok()) status = FromRocks(it_->status(), "reading the event log");
      MutexLock lock(&mu_);
      if (!status.ok() || slot.events.empty()) {
        status_ = status;
        done_ = true;
        return;
      }
      filled_ = n + 1;
    }
  }

  const std::unique_ptr<rocksdb::Iterator> it_;  // the reader thread's alone
  const uint64_t from_sequence_;
  const size_t chunk_;
  std::unique_ptr<Slot> slots_[2];
  Mutex mu_;
  int filled_ ABSL_GUARDED_BY(mu_) = 0;  // chunks read
  int taken_ ABSL_GUARDED_BY(mu_) = 0;   // the chunk the consumer holds (those before are done)
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts once the rest is ready
};

}  // namespace

absl::Status Store::ScanEvents(
    uint64_t from_sequence, size_t chunk,
    const std::function<absl::Status(const std::vector<const v1::Event*>&)>& each) {
  // One sequential scan that reads ahead, parsed on a thread of its own (ChunkReader).
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  options.readahead_size = 4 << 20;
  ChunkReader reader(std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(options, events())),
                     from_sequence, chunk);
  for (int n = 0;; ++n) {
    const std::vector<const v1::Event*>* events_read = reader.Next(n);
    if (events_read == nullptr) return reader.status();
    if (absl::Status s = each(*events_read); !s.ok()) return s;
  }
}

absl::StatusOr<uint64_t> Store::LastSequence() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events()));
  it->SeekToLast();
  if (!it->status().ok()) return FromRocks(it->status(), "reading the event log");
  if (!it->Valid()) return 0;
  if (it->key().size() != 8) return absl::DataLossError("malformed key in the event log");
  return ReadBigEndian64(std::string_view(it->key().data(), it->key().size()));
}

std::optional<std::string> Store::GetConfig(const std::string& key) {
  std::string value;
  if (!db_->Get(rocksdb::ReadOptions(), config(), key, &value).ok()) return std::nullopt;
  return value;
}

absl::Status Store::ClearProjections() {
  // Each projection column family is dropped and created again, empty: a manifest record
  // each, however many rows they held, and no tombstones left for later compactions. (Not
  // a range deletion: when a bottom-level compaction finds every row of its input under a
  // range tombstone, RocksDB 7.8 still opens an output file for the tombstone, and if
  // writing that file fails, a full or failing disk, it asserts on the output's empty
  // smallest key; Debian's build has assertions on, so the process would abort.)
  //
  // The meta family goes first. Manifest records are synced in order, so after a crash
  // part-way the meta row is gone and the next start rebuilds; a family missing then is
  // created again by Open (and reads as empty in a read-only Open).
  std::vector<rocksdb::ColumnFamilyHandle*> others;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (int i = 0; i < kProjectionCfCount; ++i) {
    families.push_back(ProjectionDescriptor(static_cast<Cf>(i), block_cache_));
    if (static_cast<Cf>(i) != Cf::kMeta) others.push_back(projection(static_cast<Cf>(i)));
  }
  rocksdb::Status status = db_->DropColumnFamily(projection(Cf::kMeta));
  if (status.ok()) status = db_->DropColumnFamilies(others);
  if (!status.ok()) return FromRocks(status, "dropping the projection rows");
  // Every handle to a dropped family goes; until the families exist again their handles
  // stand for the empty default family (should creating them fail, a failed clear fails
  // the rebuild, and the next open creates them).
  for (int i = 0; i < kProjectionCfCount; ++i) {
    rocksdb::ColumnFamilyHandle*& handle = handles_[kFirstProjection + i];
    rocksdb::ColumnFamilyHandle* dropped = handle;
    handle = default_handle();
    db_->DestroyColumnFamilyHandle(dropped).PermitUncheckedError();
  }
  std::vector<rocksdb::ColumnFamilyHandle*> created;
  status = db_->CreateColumnFamilies(families, &created);
  for (size_t i = 0; i < created.size(); ++i) handles_[kFirstProjection + i] = created[i];
  return FromRocks(status, "creating the projection column families again");
}

void BatchSink::Put(Cf cf, std::string_view key, std::string_view value) {
  batch_->Put(store_->projection(cf), ToSlice(key), ToSlice(value)).PermitUncheckedError();
}

void BatchSink::Delete(Cf cf, std::string_view key) {
  batch_->Delete(store_->projection(cf), ToSlice(key)).PermitUncheckedError();
}

void BatchSink::Merge(Cf cf, std::string_view key, std::string_view value) {
  batch_->Merge(store_->projection(cf), ToSlice(key), ToSlice(value)).PermitUncheckedError();
}

}  // namespace callbackledger
