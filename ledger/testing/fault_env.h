// A fault-injecting rocksdb::Env for tests of power loss and storage failures (an
// EnvWrapper over a real Env, usually Env::Default()):
//
//   - it keeps, for every file RocksDB writes, how much of it was synced. A simulated power
//     loss freezes the disk (every later write or sync fails), and once the ledger is
//     closed truncates every file to what was synced: what the page cache held is gone.
//   - It can fail the appends or the syncs of the write-ahead log on demand, with an
//     IOError or with NoSpace (ENOSPC, a full disk), and the syncs of table files (what a
//     flush or a compaction writes).
#ifndef CALLBACKLEDGER_LEDGER_TESTING_FAULT_ENV_H_
#define CALLBACKLEDGER_LEDGER_TESTING_FAULT_ENV_H_

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ledger/sync.h"
#include "rocksdb/env.h"
#include "rocksdb/status.h"

namespace callbackledger {
namespace testing {

// What is known of one file RocksDB writes: its length, and how much of it was synced.
struct FileState {
  uint64_t size = 0;
  uint64_t synced = 0;
};

// A write-ahead log file ("000012.log"); the info log is "LOG" and is not written
// through NewWritableFile.
inline bool IsWal(const std::string& path) { return absl::EndsWith(path, ".log"); }
inline bool IsTable(const std::string& path) { return absl::EndsWith(path, ".sst"); }

class FaultEnv;

class FaultFile : public rocksdb::WritableFileWrapper {
 public:
  FaultFile(FaultEnv* env, std::string path, std::shared_ptr<FileState> state,
            std::unique_ptr<rocksdb::WritableFile> target)
      : rocksdb::WritableFileWrapper(target.get()),
        env_(env),
        path_(std::move(path)),
        state_(std::move(state)),
        target_(std::move(target)) {}

  rocksdb::Status Append(const rocksdb::Slice& data) override;
  rocksdb::Status Append(const rocksdb::Slice& data,
                         const rocksdb::DataVerificationInfo& /*info*/) override {
    return Append(data);
  }
  rocksdb::Status PositionedAppend(const rocksdb::Slice& data, uint64_t offset) override;
  rocksdb::Status PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                   const rocksdb::DataVerificationInfo& /*info*/) override {
    return PositionedAppend(data, offset);
  }
  rocksdb::Status Truncate(uint64_t size) override;
  rocksdb::Status Flush() override;
  rocksdb::Status Sync() override;
  rocksdb::Status Fsync() override;
  // A range sync is not a promise that the file is durable: it counts as no sync.
  rocksdb::Status RangeSync(uint64_t offset, uint64_t nbytes) override;
  rocksdb::Status Close() override { return target_->Close(); }

 private:
  FaultEnv* const env_;
  const std::string path_;
  const std::shared_ptr<FileState> state_;
  const std::unique_ptr<rocksdb::WritableFile> target_;
};

class FaultEnv : public rocksdb::EnvWrapper {
 public:
  explicit FaultEnv(rocksdb::Env* base) : rocksdb::EnvWrapper(base) {}

  const char* Name() const override { return "LedgerFaultEnv"; }

  rocksdb::Status NewWritableFile(const std::string& path,
                                  std::unique_ptr<rocksdb::WritableFile>* result,
                                  const rocksdb::EnvOptions& options) override {
    MutexLock lock(&mu_);
    if (dead_) return PowerIsOff();
    std::unique_ptr<rocksdb::WritableFile> file;
    rocksdb::Status s = target()->NewWritableFile(path, &file, options);
    if (!s.ok()) return s;
    auto state = std::make_shared<FileState>();  // a new (or emptied) file: nothing synced
    files_[path] = state;
    *result = std::make_unique<FaultFile>(this, path, std::move(state), std::move(file));
    return s;
  }

  rocksdb::Status ReopenWritableFile(const std::string& path,
                                     std::unique_ptr<rocksdb::WritableFile>* result,
                                     const rocksdb::EnvOptions& options) override {
    MutexLock lock(&mu_);
    if (dead_) return PowerIsOff();
    std::unique_ptr<rocksdb::WritableFile> file;
    rocksdb::Status s = target()->ReopenWritableFile(path, &file, options);
    if (!s.ok()) return s;
    *result = std::make_unique<FaultFile>(this, path, TrackExisting(path), std::move(file));
    return s;
  }

  rocksdb::Status ReuseWritableFile(const std::string& path, const std::string& old_path,
                                    std::unique_ptr<rocksdb::WritableFile>* result,
                                    const rocksdb::EnvOptions& options) override {
    MutexLock lock(&mu_);
    if (dead_) return PowerIsOff();
    std::unique_ptr<rocksdb::WritableFile> file;
    rocksdb::Status s = target()->ReuseWritableFile(path, old_path, &file, options);
    if (!s.ok()) return s;
    files_.erase(old_path);
    auto state = std::make_shared<FileState>();
    files_[path] = state;
    *result = std::make_unique<FaultFile>(this, path, std::move(state), std::move(file));
    return s;
  }

  rocksdb::Status DeleteFile(const std::string& path) override {
    MutexLock lock(&mu_);
    if (dead_) return PowerIsOff();
    rocksdb::Status s = target()->DeleteFile(path);
    if (s.ok()) files_.erase(path);
    return s;
  }

  rocksdb::Status RenameFile(const std::string& from, const std::string& to) override {
    MutexLock lock(&mu_);
    if (dead_) return PowerIsOff();
    rocksdb::Status s = target()->RenameFile(from, to);
    if (!s.ok()) return s;
    auto it = files_.find(from);
    if (it != files_.end()) {
      files_[to] = it->second;
      files_.erase(from);
    } else {
      files_.erase(to);  // replaced by a file that is all on disk
    }
    return s;
  }

  // Power loss, part one: from now on nothing reaches the disk (every write, sync,
  // rename or delete fails). A sync that returned before this is kept.
  void PowerLoss() {
    MutexLock lock(&mu_);
    dead_ = true;
  }

  // Power loss at the n-th sync of the write-ahead log from now: that sync does not
  // happen, so the group it was to make durable is appended but never synced.
  void PowerLossAtWalSync(uint64_t n) {
    MutexLock lock(&mu_);
    power_loss_at_sync_ = wal_sync_calls_ + n;
  }

  // Power loss at the n-th sync of any file from now (the log, a table, the manifest, an
  // options file): that sync does not happen.
  void PowerLossAtSync(uint64_t n) {
    MutexLock lock(&mu_);
    power_loss_at_any_sync_ = sync_calls_ + n;
  }

  bool power_is_off() const {
    MutexLock lock(&mu_);
    return dead_;
  }

  // Power loss, part two, once every file is closed: drops every byte that was not
  // synced, then powers the disk back on. Returns how many bytes were dropped.
  uint64_t DropUnsyncedDataAndRestart() {
    MutexLock lock(&mu_);
    uint64_t dropped = 0;
    for (const auto& [path, state] : files_) {
      std::error_code error;
      uint64_t size = std::filesystem::file_size(path, error);
      if (error) continue;  // deleted meanwhile
      if (size > state->synced) {
        dropped += size - state->synced;
        std::filesystem::resize_file(path, state->synced, error);
        EXPECT_FALSE(error) << path << ": " << error.message();
      }
    }
    files_.clear();  // what is left is on disk
    dead_ = false;
    power_loss_at_sync_ = 0;
    power_loss_at_any_sync_ = 0;
    return dropped;
  }

  // Makes every later append (or sync) of the write-ahead log fail with `status`, until
  // Heal(). The failing bytes never reach the file.
  void FailWalAppends(rocksdb::Status status) {
    MutexLock lock(&mu_);
    append_fault_ = std::move(status);
  }
  void FailWalSyncs(rocksdb::Status status) {
    MutexLock lock(&mu_);
    sync_fault_ = std::move(status);
  }
  // Makes every later sync of a table file fail with `status`, until Heal(): the file is
  // written, but the flush or compaction that wrote it fails.
  void FailTableSyncs(rocksdb::Status status) {
    MutexLock lock(&mu_);
    table_sync_fault_ = std::move(status);
  }
  void Heal() {
    MutexLock lock(&mu_);
    append_fault_ = rocksdb::Status::OK();
    sync_fault_ = rocksdb::Status::OK();
    table_sync_fault_ = rocksdb::Status::OK();
  }

  uint64_t wal_syncs() const {
    MutexLock lock(&mu_);
    return wal_syncs_;
  }
  // Syncs of any file that succeeded.
  uint64_t syncs() const {
    MutexLock lock(&mu_);
    return syncs_;
  }
  uint64_t faults_injected() const {
    MutexLock lock(&mu_);
    return faults_injected_;
  }

 private:
  friend class FaultFile;

  static rocksdb::Status PowerIsOff() { return rocksdb::Status::IOError("simulated power loss"); }

  // A file that existed before: what it holds now is taken to be on disk.
  std::shared_ptr<FileState> TrackExisting(const std::string& path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = files_.find(path);
    if (it != files_.end()) return it->second;
    auto state = std::make_shared<FileState>();
    std::error_code error;
    uint64_t size = std::filesystem::file_size(path, error);
    state->size = state->synced = error ? 0 : size;
    files_[path] = state;
    return state;
  }

  // A write of `length` bytes at `offset` (at the end of the file when nullopt): injects
  // the fault, or writes and counts the bytes as not yet synced.
  rocksdb::Status Write(const std::string& path, FileState* state, std::optional<uint64_t> offset,
                        uint64_t length, const std::function<rocksdb::Status()>& write) {
    MutexLock lock(&mu_);
    if (dead_) return PowerIsOff();
    if (IsWal(path) && !append_fault_.ok()) {
      ++faults_injected_;
      return append_fault_;
    }
    rocksdb::Status s = write();
    if (s.ok()) state->size = std::max(state->size, offset.value_or(state->size) + length);
    return s;
  }

  rocksdb::Status Sync(const std::string& path, FileState* state,
                       const std::function<rocksdb::Status()>& sync) {
    MutexLock lock(&mu_);
    if (dead_) return PowerIsOff();
    if (IsWal(path) && power_loss_at_sync_ != 0 && ++wal_sync_calls_ >= power_loss_at_sync_) {
      power_loss_at_sync_ = 0;
      dead_ = true;
      return PowerIsOff();
    }
    if (power_loss_at_any_sync_ != 0 && ++sync_calls_ >= power_loss_at_any_sync_) {
      power_loss_at_any_sync_ = 0;
      dead_ = true;
      return PowerIsOff();
    }
    if (IsWal(path) && !sync_fault_.ok()) {
      ++faults_injected_;
      return sync_fault_;
    }
    if (IsTable(path) && !table_sync_fault_.ok()) {
      ++faults_injected_;
      return table_sync_fault_;
    }
    rocksdb::Status s = sync();
    if (s.ok()) {
      state->synced = state->size;
      ++syncs_;
      if (IsWal(path)) ++wal_syncs_;
    }
    return s;
  }

  rocksdb::Status Other(const std::function<rocksdb::Status()>& op) {
    MutexLock lock(&mu_);
    if (dead_) return PowerIsOff();
    return op();
  }

  mutable Mutex mu_;
  bool dead_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::shared_ptr<FileState>> files_ ABSL_GUARDED_BY(mu_);
  rocksdb::Status append_fault_ ABSL_GUARDED_BY(mu_);
  rocksdb::Status sync_fault_ ABSL_GUARDED_BY(mu_);
  rocksdb::Status table_sync_fault_ ABSL_GUARDED_BY(mu_);
  uint64_t wal_syncs_ ABSL_GUARDED_BY(mu_) = 0;       // WAL syncs that succeeded
  uint64_t wal_sync_calls_ ABSL_GUARDED_BY(mu_) = 0;  // counted while a power loss is armed
  uint64_t power_loss_at_sync_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t syncs_ ABSL_GUARDED_BY(mu_) = 0;       // syncs of any file that succeeded
  uint64_t sync_calls_ ABSL_GUARDED_BY(mu_) = 0;  // of any file, counted when armed
  uint64_t power_loss_at_any_sync_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t faults_injected_ ABSL_GUARDED_BY(mu_) = 0;
};

inline rocksdb::Status FaultFile::Append(const rocksdb::Slice& data) {
  return env_->Write(path_, state_.get(), std::nullopt, data.size(),
                     [&] { return target_->Append(data); });
}

inline rocksdb::Status FaultFile::PositionedAppend(const rocksdb::Slice& data, uint64_t offset) {
  return env_->Write(path_, state_.get(), offset, data.size(),
                     [&] { return target_->PositionedAppend(data, offset); });
}

inline rocksdb::Status FaultFile::Truncate(uint64_t size) {
  return env_->Other([&] {
    rocksdb::Status s = target_->Truncate(size);
    if (s.ok()) {
      state_->size = size;
      state_->synced = std::min(state_->synced, size);
    }
    return s;
  });
}

inline rocksdb::Status FaultFile::Flush() {
  return env_->Other([&] { return target_->Flush(); });
}

inline rocksdb::Status FaultFile::Sync() {
  return env_->Sync(path_, state_.get(), [&] { return target_->Sync(); });
}

inline rocksdb::Status FaultFile::Fsync() {
  return env_->Sync(path_, state_.get(), [&] { return target_->Fsync(); });
}

inline rocksdb::Status FaultFile::RangeSync(uint64_t offset, uint64_t nbytes) {
  return env_->Other([&] { return target_->RangeSync(offset, nbytes); });
}

}  // namespace testing
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_TESTING_FAULT_ENV_H_
