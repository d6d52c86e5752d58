#include "ledger/wal_zero_ahead.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace callbackledger {
namespace {

constexpr uint64_t kPage = 4096;

uint64_t RoundUpToPage(uint64_t n) { return (n + kPage - 1) / kPage * kPage; }

rocksdb::IOStatus ErrnoError(const char* what, const std::string& path) {
  return rocksdb::IOStatus::IOError(std::string(what) + " " + path + ": " + std::strerror(errno));
}

// A write-ahead log file with zeros written ahead of its end through a second descriptor.
// RocksDB appends to a log file from one thread at a time, so nothing here is locked.
class ZeroAheadFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  ZeroAheadFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::string path, int fd,
                uint64_t chunk)
      : FSWritableFileOwnerWrapper(std::move(file)),
        path_(std::move(path)),
        fd_(fd),
        chunk_(chunk) {}

  ~ZeroAheadFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    return Appended(written_, data.size(), [&] { return target()->Append(data, options, dbg); });
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& verification_info,
                           rocksdb::IODebugContext* dbg) override {
    return Appended(written_, data.size(),
                    [&] { return target()->Append(data, options, verification_info, dbg); });
  }

  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    return Appended(offset, data.size(),
                    [&] { return target()->PositionedAppend(data, offset, options, dbg); });
  }

  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& verification_info,
                                     rocksdb::IODebugContext* dbg) override {
    return Appended(offset, data.size(), [&] {
      return target()->PositionedAppend(data, offset, options, verification_info, dbg);
    });
  }

  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->Truncate(size, options, dbg);
    if (s.ok()) {
      written_ = size;
      zeroed_ = std::min(zeroed_, size);
    }
    return s;
  }

  // A closed log keeps only what was appended: the zeros past it are cut off.
  rocksdb::IOStatus Close(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->Close(options, dbg);
    if (fd_ < 0) return s;
    struct stat st {};
    if (s.ok() && ::fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) > written_ &&
        ::ftruncate(fd_, static_cast<off_t>(written_)) != 0) {
      s = ErrnoError("cannot cut the zeros off the closed log", path_);
    }
    ::close(fd_);
    fd_ = -1;
    return s;
  }

 private:
  // Zeroes ahead of [offset, offset + size), then writes it with `append`.
  template <typename Append>
  rocksdb::IOStatus Appended(uint64_t offset, uint64_t size, Append append) {
    rocksdb::IOStatus zeroed = ZeroAhead(offset + size);
    if (!zeroed.ok()) return zeroed;
    rocksdb::IOStatus s = append();
    if (s.ok()) written_ = std::max(written_, offset + size);
    return s;
  }

  // Makes sure the file is zeroed up to `end` and half a chunk beyond; when it is not,
  // zeroes the next chunk past `end`, from where the zeros end (never over appended bytes).
  rocksdb::IOStatus ZeroAhead(uint64_t end) {
    if (fd_ < 0 || end + chunk_ / 2 <= zeroed_) return rocksdb::IOStatus::OK();
    static const char kZeros[64 * 1024] = {};
    const uint64_t target = RoundUpToPage(end + chunk_);
    for (uint64_t at = zeroed_; at < target;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof(kZeros), target - at));
      const ssize_t wrote = ::pwrite(fd_, kZeros, n, static_cast<off_t>(at));
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) {
        if (wrote == 0) errno = EIO;  // a regular file takes at least a byte, or fails
        return ErrnoError("cannot write zeros ahead of the log", path_);
      }
      at += static_cast<uint64_t>(wrote);
      zeroed_ = std::max(zeroed_, at);
    }
    return rocksdb::IOStatus::OK();
  }

  const std::string path_;
  int fd_;
  const uint64_t chunk_;
  uint64_t written_ = 0;  // bytes appended: the log itself
  uint64_t zeroed_ = 0;   // the file holds bytes (appended or zeros) up to here
};

class ZeroAheadFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  ZeroAheadFileSystem(std::shared_ptr<rocksdb::FileSystem> base, uint64_t chunk)
      : FileSystemWrapper(std::move(base)), chunk_(chunk) {}

  const char* Name() const override { return "ZeroAheadFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(path, options, result, dbg);
    if (!s.ok() || !IsWriteAheadLogName(path) || options.use_mmap_writes ||
        options.use_direct_writes) {
      return s;
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      result->reset();
      return ErrnoError("cannot open the new log to zero it ahead", path);
    }
    *result = std::make_unique<ZeroAheadFile>(std::move(*result), path, fd, chunk_);
    return s;
  }

 private:
  const uint64_t chunk_;
};

}  // namespace

bool IsWriteAheadLogName(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  constexpr size_t kSuffix = 4;  // ".log"
  if (name.size() <= kSuffix || name.compare(name.size() - kSuffix, kSuffix, ".log") != 0) {
    return false;
  }
  return std::all_of(name.begin(), name.end() - kSuffix,
                     [](char c) { return c >= '0' && c <= '9'; });
}

std::shared_ptr<rocksdb::FileSystem> NewZeroAheadFileSystem(
    std::shared_ptr<rocksdb::FileSystem> base, uint64_t chunk_bytes) {
  return std::make_shared<ZeroAheadFileSystem>(std::move(base),
                                               RoundUpToPage(std::max(chunk_bytes, kPage)));
}

}  // namespace callbackledger
