#include "ledger/replay.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
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
  void Merge(Cf cf, std::string_view key, std::string_view value) override {
    LEDGER_CHECK(MergeCallTotalsRow(&rows[static_cast<int>(cf)], key, value));
  }
  std::map<std::string, std::string> rows[kProjectionCfCount];
};

std::string Printable(std::string_view key) {
  return absl::CHexEscape(absl::string_view(key.data(), key.size()));
}

// RocksDB's estimate of a column family's rows (0 if it has none): a size hint only.
size_t EstimatedRows(Store* store, Cf cf) {
  uint64_t rows = 0;
  if (!store->db()->GetIntProperty(store->projection(cf), "rocksdb.estimate-num-keys", &rows)) {
    return 0;
  }
  return static_cast<size_t>(rows);
}

// Parses every row of `cf` in key order and hands it to `load`, which may refuse it; an
// undecodable row is data loss. A sequential scan: read ahead, and keep the block cache for
// serving.
template <typename Row, typename Load>
absl::Status ForEachRow(Store* store, Cf cf, const char* row_name, const char* rows_name,
                        Load load) {
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  options.readahead_size = 4 << 20;
  std::unique_ptr<rocksdb::Iterator> it(store->db()->NewIterator(options, store->projection(cf)));
  Row row;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!row.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("an undecodable ", row_name));
    }
    if (absl::Status s = load(it->key(), row); !s.ok()) return s;
  }
  if (!it->status().ok()) return FromRocks(it->status(), absl::StrCat("loading ", rows_name));
  return absl::OkStatus();
}

absl::Status LoadMetaRow(Store* store, State* state) {
  std::string meta_value;
  rocksdb::Status got = store->db()->Get(rocksdb::ReadOptions(), store->projection(Cf::kMeta),
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

}  // namespace

absl::Status ReplayLog(Store* store, State* state, RowSink* sink,
                       const std::function<void(uint64_t sequence)>& progress) {
  LEDGER_CHECK(state->meta().last_sequence == 0);
  // The events are durable already and nobody reads `state` while it is replayed into: the
  // changes go straight into it, with no Delta to copy them through.
  AppendedRows rows;
  View view = View::Direct(state, &rows);
  state->SuspendReservationIndexes();
  state->KeepLapsedReservations();  // a late Settle further on may charge one
  uint64_t next = 1;
  absl::Status replayed = store->ScanEvents(
      next, kReplayChunk, [&](const std::vector<const v1::Event*>& events) -> absl::Status {
        for (const v1::Event* event : events) {
          if (event->sequence() != next) {
            return absl::DataLossError(absl::StrCat("the event log has a gap: expected event ",
                                                    next, ", found ", event->sequence()));
          }
          ApplyEvent(*event, &view);
          ++next;
        }
        EmitAppended(rows, sink);
        rows.Clear();
        if (progress) progress(next - 1);
        return absl::OkStatus();
      });
  // The expired and orphaned reservations no event settled join the closed ones on disk.
  for (ReservationState& lapsed : state->TakeLapsedReservations()) {
    rows.reservations.Add()->Swap(&lapsed);
  }
  if (replayed.ok()) EmitAppended(rows, sink);
  state->IndexOpenReservations();
  return replayed;
}

void ReserveForStoredRows(Store* store, State* state, size_t most) {
  // Not the reservations: most stored rows are of closed ones, which stay on disk; nor the
  // idempotency keys, which stay there all.
  state->ReserveForLoad(std::min(EstimatedRows(store, Cf::kCallerIds), most));
}

absl::Status LoadProjections(Store* store, State* state) {
  ReserveForStoredRows(store, state);
  absl::Status s = ForEachRow<store::v1::CallerIdRow>(
      store, Cf::kCallerIds, "CallerID row", "CallerIDs",
      [state](const rocksdb::Slice&, store::v1::CallerIdRow& row) {
        state->LoadCallerId(FromRow(row));
        return absl::OkStatus();
      });
  if (s.ok()) {
    s = ForEachRow<store::v1::ExtensionRow>(
        store, Cf::kExtensions, "extension row", "extensions",
        [state](const rocksdb::Slice&, store::v1::ExtensionRow& row) {
          state->LoadExtension(row.extension(), FromRow(row));
          return absl::OkStatus();
        });
  }
  // Format 2 kept expired and orphaned reservations in the reservations family too: they
  // move to closed_reservations, where a late Settle finds them, and stay out of memory.
  rocksdb::WriteBatch lapsed;
  if (s.ok()) {
    // Indexed once they are all in.
    state->SuspendReservationIndexes();
    BatchSink move(store, &lapsed);
    std::string value;
    s = ForEachRow<store::v1::ReservationRow>(
        store, Cf::kReservations, "reservation row", "reservations",
        [state, &move, &value](const rocksdb::Slice& key, store::v1::ReservationRow& row) {
          if (!IsOpen(row)) {
            row.SerializeToString(&value);
            move.Delete(Cf::kReservations, std::string_view(key.data(), key.size()));
            move.Put(Cf::kClosedReservations, std::string_view(key.data(), key.size()), value);
            return absl::OkStatus();
          }
          state->LoadReservation(std::move(row));
          return absl::OkStatus();
        });
    state->IndexOpenReservations();
  }
  if (s.ok() && lapsed.Count() > 0) s = store->WriteSynced(&lapsed);
  if (!s.ok()) return s;
  return LoadMetaRow(store, state);
}

absl::Status FillCallTotals(Store* store) {
  constexpr int kRowsPerWrite = 4096;
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  options.readahead_size = 4 << 20;
  std::unique_ptr<rocksdb::Iterator> it(
      store->db()->NewIterator(options, store->projection(Cf::kCalls)));
  rocksdb::WriteBatch batch;
  BatchSink sink(store, &batch);
  // The rows of one extension's hour are next to each other in key order; the CallerIDs'
  // rows ("c...") have no hours.
  std::string hour_key;
  CallTotals hour;
  auto put_hour = [&]() -> absl::Status {
    if (hour.calls == 0) return absl::OkStatus();
    sink.Put(Cf::kCallTotals, hour_key, EncodeCallTotals(hour));
    hour = CallTotals();
    if (batch.Count() < kRowsPerWrite) return absl::OkStatus();
    absl::Status written = store->WriteSynced(&batch);
    batch.Clear();
    return written;
  };
  for (it->Seek("e"); it->Valid() && it->key().starts_with("e"); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key.size() < 1 + kCallKeySuffixBytes) {
      return absl::DataLossError("a call row's key is short");
    }
    const std::string_view prefix = key.substr(0, key.size() - kCallKeySuffixBytes);
    const int64_t started = ReadOrderedInt64(key.substr(prefix.size()));
    std::string key_of_hour = CallTotalsKey(prefix, CallTotalsHour(started));
    if (key_of_hour != hour_key) {
      if (absl::Status s = put_hour(); !s.ok()) return s;
      hour_key = std::move(key_of_hour);
    }
    CallAmounts amounts;
    if (!ReadCallAmounts(std::string_view(it->value().data(), it->value().size()), &amounts)) {
      return absl::DataLossError("an undecodable call row");
    }
    hour.Add(amounts);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the calls");
  if (absl::Status s = put_hour(); !s.ok()) return s;
  return batch.Count() > 0 ? store->WriteSynced(&batch) : absl::OkStatus();
}

absl::StatusOr<VerifyReport> VerifyProjections(
    Store* store, size_t max_samples, const std::function<void(uint64_t sequence)>& progress) {
  if (std::string format = store->format(); format != Store::kFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the data directory is in format ", format, ", whose projections this ",
        "build does not check: start ledgerd once, which brings them to format ", Store::kFormat));
  }
  State replayed;
  MapSink expected;
  VerifyReport report;
  if (absl::Status s = ReplayLog(store, &replayed, &expected, progress); !s.ok()) return s;
  EmitReplayedState(replayed, &expected);
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
