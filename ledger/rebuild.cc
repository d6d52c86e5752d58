#include "ledger/rebuild.h"

#include <algorithm>
#include <deque>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "ledger/replay.h"
#include "ledger/sync.h"
#include "ledger/thread_name.h"
#include "projections/rows.h"

namespace callbackledger {
namespace {

// A run of rows: their bytes in one buffer, each row's key followed by its value, and
// where each row is. One buffer instead of two strings a row: a rebuild writes millions.
class Run {
 public:
  enum class Kind : uint8_t { kPut, kDelete, kMerge };
  void Add(Cf cf, std::string_view key, std::string_view value, Kind kind = Kind::kPut) {
    entries_.push_back({cf, kind, bytes_.size(), static_cast<uint32_t>(key.size()),
                        static_cast<uint32_t>(value.size())});
    bytes_.append(key);
    bytes_.append(value);
  }
  void AddDeletion(Cf cf, std::string_view key) { Add(cf, key, {}, Kind::kDelete); }
  size_t bytes() const { return bytes_.size(); }
  bool empty() const { return entries_.empty(); }
  void Clear() {
    bytes_.clear();
    entries_.clear();
  }

  // Sorts the rows by column family and key (unless they are in that order already), and
  // puts them into `batch`. The sort is stable: of two changes to one key, the later
  // stays later, and wins.
  void SortInto(Store* store, rocksdb::WriteBatch* batch) {
    auto before = [this](const Entry& a, const Entry& b) {
      return a.cf != b.cf ? a.cf < b.cf : Key(a) < Key(b);
    };
    if (!std::is_sorted(entries_.begin(), entries_.end(), before)) {
      std::stable_sort(entries_.begin(), entries_.end(), before);
    }
    BatchSink sink(store, batch);
    for (const Entry& entry : entries_) {
      switch (entry.kind) {
        case Kind::kPut:
          sink.Put(entry.cf, Key(entry), Value(entry));
          break;
        case Kind::kDelete:
          sink.Delete(entry.cf, Key(entry));
          break;
        case Kind::kMerge:
          sink.Merge(entry.cf, Key(entry), Value(entry));
          break;
      }
    }
  }

 private:
  struct Entry {
    Cf cf;
    Kind kind;
    size_t offset;
    uint32_t key_size;
    uint32_t value_size;
  };
  std::string_view Key(const Entry& e) const { return {bytes_.data() + e.offset, e.key_size}; }
  std::string_view Value(const Entry& e) const {
    return {bytes_.data() + e.offset + e.key_size, e.value_size};
  }

  std::string bytes_;
  std::vector<Entry> entries_;
};

// Writes runs of rows on a thread of its own, each sorted by column family and key, in
// batches that skip the write-ahead log: a memtable takes keys in ascending order far more
// cheaply than in random order, and the sorting is off the replaying thread. At most two
// runs wait, so memory stays bounded; written runs are handed back to be filled again, so
// their memory is not given back to the system and faulted in anew for every run.
class RunWriter {
 public:
  explicit RunWriter(Store* store)
      : store_(store), thread_(StartNamedThread("ledger-rebuild", [this] { Loop(); })) {}
  ~RunWriter() { Close().IgnoreError(); }

  void Submit(Run run) {
    MutexLock lock(&mu_);
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queue_.size() < 2; };
    mu_.Await(Condition(&room));
    queue_.push_back(std::move(run));
  }

  // An empty run to fill: one written before, when there is one.
  Run Recycled() {
    MutexLock lock(&mu_);
    if (written_.empty()) return Run();
    Run run = std::move(written_.back());
    written_.pop_back();
    return run;
  }

  // Waits until every run is written; the first error, if any.
  absl::Status Close() {
    {
      MutexLock lock(&mu_);
      closed_ = true;
    }
    if (thread_.joinable()) thread_.join();
    MutexLock lock(&mu_);
    written_.clear();
    return status_;
  }

 private:
  void Loop() {
    // One batch, cleared after each run: its buffer (the size of a run) is faulted in once,
    // not for every run.
    rocksdb::WriteBatch batch;
    while (true) {
      Run run;
      {
        MutexLock lock(&mu_);
        auto ready = [this]()
                         ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || !queue_.empty(); };
        mu_.Await(Condition(&ready));
        if (queue_.empty()) return;
        run = std::move(queue_.front());
        queue_.pop_front();
      }
      batch.Clear();
      run.SortInto(store_, &batch);
      absl::Status written = store_->WriteUnlogged(&batch);
      run.Clear();
      MutexLock lock(&mu_);
      if (status_.ok()) status_ = written;
      written_.push_back(std::move(run));
    }
  }

  Store* const store_;
  Mutex mu_;
  std::deque<Run> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<Run> written_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts once the rest is ready
};

// Buffers the rebuilt rows into runs for a RunWriter, and holds the meta row back until
// Finish. The CallerIDs and open reservations, which only the State's rows at the end of
// the replay fill, in key order, go straight into table files instead (Store::NewSortedRows):
// the memtables of those two families are vectors (see Store), which would sort them again
// at the flush.
class RebuildSink : public RowSink {
 public:
  explicit RebuildSink(Store* store) : store_(store), writer_(store) {}

  void Put(Cf cf, std::string_view key, std::string_view value) override {
    if (cf == Cf::kMeta) {
      meta_.assign(value.data(), value.size());
      return;
    }
    if (cf == Cf::kCallerIds || cf == Cf::kReservations) {
      AddSorted(cf, key, value);
      return;
    }
    Filling().Add(cf, key, value);
    if (run_.bytes() >= kRunBytes) EndOfRun();
  }

  // A number index entry the replay erased (a CallerID removed, or its number changed).
  void Delete(Cf cf, std::string_view key) override {
    Filling().AddDeletion(cf, key);
    if (run_.bytes() >= kRunBytes) EndOfRun();
  }

  // The calls of a chunk of the log added to their hours: the flush adds up the merges.
  void Merge(Cf cf, std::string_view key, std::string_view value) override {
    Filling().Add(cf, key, value, Run::Kind::kMerge);
    if (run_.bytes() >= kRunBytes) EndOfRun();
  }

  // Hands what is buffered to the writer now (at the end of the replay, so that the
  // State's rows, emitted in key order, are not sorted with the replay's, which are not).
  void EndOfRun() {
    if (run_.empty()) return;
    writer_.Submit(std::move(run_));
    run_ = Run();
  }

  // Writes what is buffered, flushes the projections to disk, then writes the meta row,
  // synced: the projections are whole only from then on.
  absl::Status Finish() {
    EndOfRun();
    if (absl::Status s = writer_.Close(); !s.ok()) return s;
    if (!sorted_status_.ok()) return sorted_status_;
    if (absl::Status s = store_->FlushProjections(); !s.ok()) return s;
    for (SortedRows& sorted : sorted_) {
      if (sorted.file == nullptr) continue;
      if (absl::Status s = store_->IngestSortedRows(sorted.cf, sorted.file.get()); !s.ok()) {
        return s;
      }
    }
    rocksdb::WriteBatch batch;
    BatchSink(store_, &batch).Put(Cf::kMeta, kMetaKey, meta_);
    return store_->WriteSynced(&batch);
  }

 private:
  static constexpr size_t kRunBytes = 16 << 20;

  Run& Filling() {
    if (run_.empty()) run_ = writer_.Recycled();
    return run_;
  }

  // A table file takes keys in strictly ascending order only: a row out of it (which the
  // State's key order rules out) fails the rebuild, rather than leaving a row unwritten.
  void AddSorted(Cf cf, std::string_view key, std::string_view value) {
    if (!sorted_status_.ok()) return;
    SortedRows& sorted = sorted_[cf == Cf::kCallerIds ? 0 : 1];
    if (sorted.file == nullptr) {
      absl::StatusOr<std::unique_ptr<rocksdb::SstFileWriter>> file = store_->NewSortedRows(cf);
      if (!file.ok()) {
        sorted_status_ = file.status();
        return;
      }
      sorted.file = *std::move(file);
    } else if (key <= sorted.last_key) {
      sorted_status_ = absl::InternalError(
          absl::StrCat("rebuilt ", CfName(cf), " rows out of key order at \"",
                       absl::CHexEscape(absl::string_view(key.data(), key.size())), "\""));
      return;
    }
    sorted.last_key.assign(key.data(), key.size());
    sorted_status_ = FromRocks(sorted.file->Put(rocksdb::Slice(key.data(), key.size()),
                                                rocksdb::Slice(value.data(), value.size())),
                               absl::StrCat("writing rebuilt ", CfName(cf), " rows"));
  }

  struct SortedRows {
    Cf cf;
    std::unique_ptr<rocksdb::SstFileWriter> file;  // opened at its first row
    std::string last_key;
  };

  Store* store_;
  RunWriter writer_;
  Run run_;
  std::string meta_;
  SortedRows sorted_[2] = {{Cf::kCallerIds, nullptr, ""}, {Cf::kReservations, nullptr, ""}};
  absl::Status sorted_status_;
};

}  // namespace

absl::Status RebuildProjections(Store* store, State* state,
                                const std::function<void(uint64_t sequence)>& progress) {
  // The rows about to be cleared say about how large the State's hash maps will grow: they
  // are sized once (for no more keys than the log has events), not rehashed at every
  // doubling. A clear cut short leaves no estimate, and the maps grow as they go.
  absl::StatusOr<uint64_t> events = store->LastSequence();
  if (!events.ok()) return events.status();
  ReserveForStoredRows(store, state, static_cast<size_t>(*events));
  if (absl::Status s = store->ClearProjections(); !s.ok()) return s;
  RebuildSink sink(store);
  if (absl::Status s = ReplayLog(store, state, &sink, progress); !s.ok()) return s;
  sink.EndOfRun();
  EmitReplayedState(*state, &sink);
  return sink.Finish();
}

}  // namespace callbackledger
