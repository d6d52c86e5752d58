#include "ledger/rebuild.h"

#include <algorithm>
#include <deque>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ledger/replay.h"
#include "ledger/sync.h"
#include "projections/rows.h"

namespace callbackledger {
namespace {

struct Row {
  Cf cf;
  std::string key;
  std::string value;
};

// Writes runs of rows on a thread of its own, sorted by column family and key, in batches
// that skip the write-ahead log: a memtable takes keys in ascending order far more cheaply
// than in random order. At most two runs wait, so memory stays bounded.
class RunWriter {
 public:
  explicit RunWriter(Store* store) : store_(store), thread_([this] { Loop(); }) {}
  ~RunWriter() { Close().IgnoreError(); }

  void Submit(std::vector<Row> rows) {
    MutexLock lock(&mu_);
    mu_.Await(Condition(
        +[](RunWriter* w) { return w->queue_.size() < 2; }, this));
    queue_.push_back(std::move(rows));
  }

  // Waits until every run is written; the first error, if any.
  absl::Status Close() {
    {
      MutexLock lock(&mu_);
      closed_ = true;
    }
    if (thread_.joinable()) thread_.join();
    MutexLock lock(&mu_);
    return status_;
  }

 private:
  void Loop() {
    while (true) {
      std::vector<Row> rows;
      {
        MutexLock lock(&mu_);
        mu_.Await(Condition(
            +[](RunWriter* w) { return w->closed_ || !w->queue_.empty(); }, this));
        if (queue_.empty()) return;
        rows = std::move(queue_.front());
        queue_.pop_front();
      }
      absl::Status written = Write(rows);
      MutexLock lock(&mu_);
      if (status_.ok()) status_ = written;
    }
  }

  absl::Status Write(const std::vector<Row>& rows) {
    std::vector<const Row*> order;
    order.reserve(rows.size());
    size_t bytes = 0;
    for (const Row& row : rows) {
      order.push_back(&row);
      bytes += row.key.size() + row.value.size() + 16;
    }
    auto before = [](const Row* a, const Row* b) {
      return a->cf != b->cf ? a->cf < b->cf : a->key < b->key;
    };
    if (!std::is_sorted(order.begin(), order.end(), before)) {
      std::sort(order.begin(), order.end(), before);
    }
    rocksdb::WriteBatch batch(bytes);
    BatchSink sink(store_, &batch);
    for (const Row* row : order) sink.Put(row->cf, row->key, row->value);
    return store_->WriteUnlogged(&batch);
  }

  Store* const store_;
  Mutex mu_;
  std::deque<std::vector<Row>> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts once the rest is ready
};

// Buffers the rebuilt rows into runs for a RunWriter, and holds the meta row back until
// Finish.
class RebuildSink : public RowSink {
 public:
  explicit RebuildSink(Store* store) : store_(store), writer_(store) {}

  void Put(Cf cf, std::string_view key, std::string_view value) override {
    if (cf == Cf::kMeta) {
      meta_.assign(value.data(), value.size());
      return;
    }
    buffered_bytes_ += key.size() + value.size();
    rows_.push_back({cf, std::string(key), std::string(value)});
    if (buffered_bytes_ >= kRunBytes) EndOfRun();
  }

  // A replay only appends and a rebuild starts from empty projections: nothing to delete.
  void Delete(Cf cf, std::string_view) override {
    if (deleted_.ok()) {
      deleted_ = absl::InternalError(absl::StrCat("a rebuild deleted a ", CfName(cf), " row"));
    }
  }

  // Hands what is buffered to the writer now (at the end of a run of rows in key order, so
  // that it is not sorted with rows that are not).
  void EndOfRun() {
    if (rows_.empty()) return;
    writer_.Submit(std::move(rows_));
    rows_.clear();
    buffered_bytes_ = 0;
  }

  // Writes what is buffered, flushes the projections to disk, then writes the meta row,
  // synced: the projections are whole only from then on.
  absl::Status Finish() {
    EndOfRun();
    if (absl::Status s = writer_.Close(); !s.ok()) return s;
    if (!deleted_.ok()) return deleted_;
    if (absl::Status s = store_->FlushProjections(); !s.ok()) return s;
    rocksdb::WriteBatch batch;
    BatchSink(store_, &batch).Put(Cf::kMeta, kMetaKey, meta_);
    return store_->WriteSynced(&batch);
  }

 private:
  static constexpr size_t kRunBytes = 16 << 20;

  Store* store_;
  RunWriter writer_;
  std::vector<Row> rows_;
  size_t buffered_bytes_ = 0;
  std::string meta_;
  absl::Status deleted_;
};

}  // namespace

absl::Status RebuildProjections(Store* store, State* state,
                                const std::function<void(uint64_t sequence)>& progress) {
  if (absl::Status s = store->ClearProjections(); !s.ok()) return s;
  RebuildSink sink(store);
  if (absl::Status s = ReplayLog(store, state, &sink, progress); !s.ok()) return s;
  sink.EndOfRun();
  EmitState(*state, &sink);
  return sink.Finish();
}

}  // namespace callbackledger
