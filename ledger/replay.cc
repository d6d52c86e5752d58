#include "ledger/replay.h"

#include <map>
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "projections/check.h"
#include "projections/projector.h"
#include "projections/rows.h"

namespace callbackledger {
namespace {

constexpr size_t kReplayChunk = 4096;

// Collects rows in memory, per column family.
class MapSink : public RowSink {
 public:
  void Put(Cf cf, std::string_view key, std::string_view value) override {
    rows[static_cast<int>(cf)][std::string(key)] = std::string(value);
  }
  void Delete(Cf cf, std::string_view key) override {
    rows[static_cast<int>(cf)].erase(std::string(key));
  }
  std::map<std::string, std::string> rows[kProjectionCfCount];
};

// Writes rows to the store in bounded batches (synced once at the end by the caller).
class ChunkedSink : public RowSink {
 public:
  explicit ChunkedSink(Store* store) : store_(store), sink_(store, &batch_) {}
  void Put(Cf cf, std::string_view key, std::string_view value) override {
    sink_.Put(cf, key, value);
    MaybeFlush();
  }
  void Delete(Cf cf, std::string_view key) override {
    sink_.Delete(cf, key);
    MaybeFlush();
  }
  absl::Status Flush() {
    if (!status_.ok() || batch_.Count() == 0) return status_;
    status_ = store_->WriteSynced(&batch_);
    batch_.Clear();
    return status_;
  }

 private:
  void MaybeFlush() {
    if (batch_.Count() >= 10000) Flush().IgnoreError();
  }
  Store* store_;
  rocksdb::WriteBatch batch_;
  BatchSink sink_;
  absl::Status status_;
};

std::string Printable(std::string_view key) {
  return absl::CHexEscape(absl::string_view(key.data(), key.size()));
}

}  // namespace

absl::Status ReplayLog(Store* store, State* state, RowSink* appended,
                       const std::function<void(uint64_t sequence)>& progress) {
  LEDGER_CHECK(state->meta().last_sequence == 0);
  Delta delta;
  View view(state, &delta);
  uint64_t next = 1;
  while (true) {
    absl::StatusOr<std::vector<v1::Event>> events = store->ReadEvents(next, kReplayChunk);
    if (!events.ok()) return events.status();
    if (events->empty()) break;
    for (const v1::Event& event : *events) {
      if (event.sequence() != next) {
        return absl::DataLossError(absl::StrCat("the event log has a gap: expected event ", next,
                                                ", found ", event.sequence()));
      }
      ApplyEvent(event, &view);
      ++next;
    }
    EmitAppended(view.appended(), appended);
    state->Merge(&delta);
    if (progress) progress(next - 1);
  }
  return absl::OkStatus();
}

absl::Status RebuildProjections(Store* store, State* state,
                                const std::function<void(uint64_t sequence)>& progress) {
  if (absl::Status s = store->ClearProjections(); !s.ok()) return s;
  ChunkedSink sink(store);
  if (absl::Status s = ReplayLog(store, state, &sink, progress); !s.ok()) return s;
  EmitState(*state, &sink);
  return sink.Flush();
}

absl::Status LoadProjections(Store* store, State* state) {
  rocksdb::DB* db = store->db();
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), store->projection(Cf::kCallerIds)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      store::v1::CallerIdRow row;
      if (!row.ParseFromArray(it->value().data(), it->value().size())) {
        return absl::DataLossError("an undecodable CallerID row");
      }
      state->LoadCallerId(FromRow(row));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "loading CallerIDs");
  }
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), store->projection(Cf::kExtensions)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      store::v1::ExtensionRow row;
      if (!row.ParseFromArray(it->value().data(), it->value().size())) {
        return absl::DataLossError("an undecodable extension row");
      }
      state->LoadExtension(row.extension(), FromRow(row));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "loading extensions");
  }
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), store->projection(Cf::kIdempotency)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      store::v1::IdempotencyRow row;
      if (!row.ParseFromArray(it->value().data(), it->value().size())) {
        return absl::DataLossError("an undecodable idempotency row");
      }
      state->LoadIdempotency(it->key().ToString(), std::move(row));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "loading idempotency keys");
  }
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), store->projection(Cf::kReservations)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      store::v1::ReservationRow row;
      if (!row.ParseFromArray(it->value().data(), it->value().size())) {
        return absl::DataLossError("an undecodable reservation row");
      }
      state->LoadReservation(std::move(row));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "loading reservations");
  }
  std::string meta_value;
  rocksdb::Status got = db->Get(rocksdb::ReadOptions(), store->projection(Cf::kMeta),
                                std::string(kMetaKey), &meta_value);
  if (got.ok()) {
    store::v1::MetaRow row;
    if (!row.ParseFromString(meta_value)) return absl::DataLossError("an undecodable meta row");
    state->LoadMeta(FromRow(row));
  } else if (!got.IsNotFound()) {
    return FromRocks(got, "loading the meta row");
  }
  return absl::OkStatus();
}

absl::StatusOr<VerifyReport> VerifyProjections(
    Store* store, size_t max_samples, const std::function<void(uint64_t sequence)>& progress) {
  State replayed;
  MapSink expected;
  VerifyReport report;
  if (absl::Status s = ReplayLog(store, &replayed, &expected, progress); !s.ok()) return s;
  EmitState(replayed, &expected);
  report.events = replayed.meta().last_sequence;

  auto differ = [&](std::string what) {
    ++report.differences;
    if (report.samples.size() < max_samples) report.samples.push_back(std::move(what));
  };
  for (int i = 0; i < kProjectionCfCount; ++i) {
    Cf cf = static_cast<Cf>(i);
    std::map<std::string, std::string>& want = expected.rows[i];
    std::unique_ptr<rocksdb::Iterator> it(
        store->db()->NewIterator(rocksdb::ReadOptions(), store->projection(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report.rows_checked;
      std::string key = it->key().ToString();
      auto found = want.find(key);
      if (found == want.end()) {
        differ(absl::StrCat(CfName(cf), " row \"", Printable(key), "\" is not in the replay"));
        continue;
      }
      if (found->second != it->value().ToString()) {
        differ(absl::StrCat(CfName(cf), " row \"", Printable(key), "\" differs from the replay"));
      }
      want.erase(found);
    }
    if (!it->status().ok()) return FromRocks(it->status(), "reading projections");
    for (const auto& [key, value] : want) {
      differ(absl::StrCat(CfName(cf), " row \"", Printable(key), "\" is missing"));
    }
  }
  return report;
}

}  // namespace callbackledger
