#include "ledger/wal_zero_ahead.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ledger/store.h"

namespace callbackledger {
namespace {

namespace fs = std::filesystem;

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class WalZeroAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "wal_zero_ahead.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<rocksdb::FSWritableFile> NewFile(rocksdb::FileSystem* fs,
                                                   const std::string& name) {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s =
        fs->NewWritableFile(dir_ + "/" + name, rocksdb::FileOptions(), &file, nullptr);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return file;
  }

  static void Append(rocksdb::FSWritableFile* file, const std::string& data) {
    rocksdb::IOStatus s = file->Append(data, rocksdb::IOOptions(), nullptr);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string dir_;
};

TEST_F(WalZeroAheadTest, OnlyWriteAheadLogFilesAreZeroedAhead) {
  EXPECT_TRUE(IsWriteAheadLogName("/data/000012.log"));
  EXPECT_TRUE(IsWriteAheadLogName("000004.log"));
  for (const char* other : {"/data/LOG", "/data/LOG.old.1700000000", "/data/000012.sst",
                            "/data/MANIFEST-000005", "/data/OPTIONS-000007", "/data/x.log",
                            "/data/.log", "/data/000012.logs", "/data.log/CURRENT"}) {
    EXPECT_FALSE(IsWriteAheadLogName(other)) << other;
  }
}

// The zeros run a chunk ahead of what was appended, never over it, and are cut off when the
// log is closed; a table file written through the same file system gets none.
TEST_F(WalZeroAheadTest, ZerosRunAChunkAheadOfTheLogAndACloseCutsThemOff) {
  constexpr uint64_t kChunk = 16 << 10;
  std::shared_ptr<rocksdb::FileSystem> fs =
      NewZeroAheadFileSystem(rocksdb::FileSystem::Default(), kChunk);
  const std::string log = dir_ + "/000007.log";
  std::unique_ptr<rocksdb::FSWritableFile> file = NewFile(fs.get(), "000007.log");
  ASSERT_NE(file, nullptr);

  ASSERT_NO_FATAL_FAILURE(Append(file.get(), "abc"));
  EXPECT_EQ(fs::file_size(log), 20480u) << "3 bytes and a chunk, in whole pages";
  std::string expected = "abc";
  EXPECT_EQ(Contents(log), expected + std::string(20480 - 3, '\0'));

  // Still half a chunk of zeros ahead: no more written.
  const std::string block(10000, 'x');
  ASSERT_NO_FATAL_FAILURE(Append(file.get(), block));
  expected += block;
  EXPECT_EQ(fs::file_size(log), 20480u);
  // Less than half a chunk ahead: the next chunk past the end.
  ASSERT_NO_FATAL_FAILURE(Append(file.get(), block));
  expected += block;
  EXPECT_EQ(fs::file_size(log), 36864u) << "20003 bytes and a chunk, in whole pages";
  EXPECT_EQ(Contents(log), expected + std::string(36864 - expected.size(), '\0'));
  EXPECT_EQ(file->GetFileSize(rocksdb::IOOptions(), nullptr), expected.size());

  ASSERT_TRUE(file->Sync(rocksdb::IOOptions(), nullptr).ok());
  ASSERT_TRUE(file->Close(rocksdb::IOOptions(), nullptr).ok());
  EXPECT_EQ(Contents(log), expected);

  std::unique_ptr<rocksdb::FSWritableFile> table = NewFile(fs.get(), "000008.sst");
  ASSERT_NE(table, nullptr);
  ASSERT_NO_FATAL_FAILURE(Append(table.get(), "abc"));
  EXPECT_EQ(Contents(dir_ + "/000008.sst"), "abc");
  ASSERT_TRUE(table->Close(rocksdb::IOOptions(), nullptr).ok());
}

// A disk that cannot take the zeros cannot take the log either: the append fails with an
// error naming the file, and appends nothing (here the file size limit stands for a full disk).
TEST_F(WalZeroAheadTest, AppendFailsWhenTheZerosCannotBeWritten) {
  std::shared_ptr<rocksdb::FileSystem> fs =
      NewZeroAheadFileSystem(rocksdb::FileSystem::Default(), 1 << 20);
  std::unique_ptr<rocksdb::FSWritableFile> file = NewFile(fs.get(), "000009.log");
  ASSERT_NE(file, nullptr);
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &before), 0);
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGXFSZ, &ignore, &previous), 0);
  rlimit small = before;
  small.rlim_cur = 64 << 10;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  rocksdb::IOStatus s = file->Append("abc", rocksdb::IOOptions(), nullptr);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &before), 0);
  ASSERT_EQ(sigaction(SIGXFSZ, &previous, nullptr), 0);

  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.ToString().find("cannot write zeros ahead of the log " + dir_ + "/000009.log"),
            std::string::npos)
      << s.ToString();
  EXPECT_EQ(file->GetFileSize(rocksdb::IOOptions(), nullptr), 0u);
  EXPECT_EQ(Contents(dir_ + "/000009.log"), std::string(64 << 10, '\0'))
      << "zeros up to the limit, and not one byte of the log";
  ASSERT_TRUE(file->Close(rocksdb::IOOptions(), nullptr).ok());
  EXPECT_EQ(fs::file_size(dir_ + "/000009.log"), 0u);
}

// What a crash leaves: the data directory as it is on disk while the store is open, its
// log ending in zeros. Opened, it holds every synced write, and goes on.
TEST_F(WalZeroAheadTest, ACrashImageWhoseLogEndsInZerosHoldsEverySyncedWrite) {
  StoreOptions options;
  options.path = dir_ + "/data";
  ASSERT_GT(options.wal_zero_ahead_bytes, 0u) << "on by default";
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  constexpr int kWrites = 500;
  const std::string value(300, 'v');
  for (int i = 1; i <= kWrites; ++i) {
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put((*store)->events(), BigEndian64(i), absl::StrCat(value, i)).ok());
    ASSERT_TRUE((*store)->WriteSynced(&batch).ok());
  }
  const std::string image = dir_ + "/image";
  fs::copy(options.path, image, fs::copy_options::recursive);
  store->reset();

  int logs = 0;
  for (const auto& entry : fs::directory_iterator(image)) {
    if (!IsWriteAheadLogName(entry.path().string()) || entry.file_size() == 0) continue;
    ++logs;
    const std::string contents = Contents(entry.path().string());
    EXPECT_GT(contents.size(), size_t{kWrites} * value.size());
    EXPECT_EQ(contents.substr(contents.size() - 4096), std::string(4096, '\0'))
        << entry.path() << " ends in zeros";
  }
  EXPECT_EQ(logs, 1);

  options.path = image;
  store = Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto read_all = [&store]() {
    std::vector<std::string> values;
    std::unique_ptr<rocksdb::Iterator> it(
        (*store)->db()->NewIterator(rocksdb::ReadOptions(), (*store)->events()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) values.push_back(it->value().ToString());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return values;
  };
  std::vector<std::string> values = read_all();
  ASSERT_EQ(values.size(), size_t{kWrites});
  for (int i = 1; i <= kWrites; ++i) EXPECT_EQ(values[i - 1], absl::StrCat(value, i));

  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put((*store)->events(), BigEndian64(kWrites + 1), "after").ok());
  ASSERT_TRUE((*store)->WriteSynced(&batch).ok());
  store->reset();
  store = Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  values = read_all();
  ASSERT_EQ(values.size(), size_t{kWrites} + 1);
  EXPECT_EQ(values.back(), "after");
}

}  // namespace
}  // namespace callbackledger
