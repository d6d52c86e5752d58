#include "ledger/store.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace callbackledger {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

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
  db_options.keep_log_file_num = 5;
  if (options.env != nullptr) db_options.env = options.env;

  rocksdb::ColumnFamilyOptions cf_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {"events", cf_options},
      {"config", cf_options},
  };
  for (int i = 0; i < kProjectionCfCount; ++i) {
    descriptors.push_back({CfName(static_cast<Cf>(i)), cf_options});
  }

  std::unique_ptr<Store> store(new Store());
  rocksdb::DB* db = nullptr;
  rocksdb::Status status;
  if (options.read_only) {
    status =
        rocksdb::DB::OpenForReadOnly(db_options, options.path, descriptors, &store->handles_, &db);
  } else {
    status = rocksdb::DB::Open(db_options, options.path, descriptors, &store->handles_, &db);
  }
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot open the data directory ", options.path, ": ", status.ToString()));
  }
  store->db_.reset(db);
  return store;
}

Store::~Store() {
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  handles_.clear();
  db_->Close().PermitUncheckedError();
}

absl::Status Store::WriteSynced(rocksdb::WriteBatch* batch) {
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  return FromRocks(db_->Write(write_options, batch), "writing to the event log");
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

absl::StatusOr<std::vector<v1::Event>> Store::ReadEvents(uint64_t from_sequence, size_t limit) {
  std::vector<v1::Event> events_read;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events()));
  std::string start = BigEndian64(from_sequence);
  for (it->Seek(start); it->Valid() && events_read.size() < limit; it->Next()) {
    v1::Event event;
    if (it->key().size() != 8 || !event.ParseFromArray(it->value().data(), it->value().size())) {
      return absl::DataLossError(
          absl::StrCat("undecodable event at key ", it->key().ToString(/*hex=*/true)));
    }
    events_read.push_back(std::move(event));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the event log");
  return events_read;
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
  // One range deletion per column family, from its first key to just past its last,
  // rather than a tombstone per row.
  rocksdb::WriteBatch batch;
  for (int i = 0; i < kProjectionCfCount; ++i) {
    rocksdb::ColumnFamilyHandle* handle = projection(static_cast<Cf>(i));
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle));
    it->SeekToFirst();
    if (!it->status().ok()) return FromRocks(it->status(), "clearing projections");
    if (!it->Valid()) continue;
    const std::string first = it->key().ToString();
    it->SeekToLast();
    if (!it->status().ok()) return FromRocks(it->status(), "clearing projections");
    if (!it->Valid()) continue;
    const std::string past_last = it->key().ToString() + std::string(1, '\0');
    rocksdb::Status status = batch.DeleteRange(handle, first, past_last);
    if (!status.ok()) return FromRocks(status, "clearing projections");
  }
  return WriteSynced(&batch);
}

void BatchSink::Put(Cf cf, std::string_view key, std::string_view value) {
  batch_->Put(store_->projection(cf), ToSlice(key), ToSlice(value)).PermitUncheckedError();
}

void BatchSink::Delete(Cf cf, std::string_view key) {
  batch_->Delete(store_->projection(cf), ToSlice(key)).PermitUncheckedError();
}

}  // namespace callbackledger
