// The RocksDB store: the event log and the projection rows, each in its own column
// family, plus a "config" family for what the data directory is bound to (its currency
// and its secret key).
//
// Column families:
//   events       key: big-endian sequence (from 1), value: v1::Event
//   config       "format" (kFormat), "currency", "secret_key"
//   callerids, numbers, extensions, recharges, idempotency, meta, reservations, calls,
//   closed_reservations: see projections/rows.h
//
// Thread-safety: a Store may be used from any thread; RocksDB serializes writes. Only the
// committer writes after startup.
//
// It is also the committer's RowArchive: the reservations the State let go of when they
// closed, and the idempotency keys, which the State never keeps, are read back from their
// rows (closed_reservations and idempotency have a bloom filter, so that the lookup of a
// new reservation_id or request_id seldom reads a block).
#ifndef CALLBACKLEDGER_LEDGER_STORE_H_
#define CALLBACKLEDGER_LEDGER_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "callbackledger/v1/events.pb.h"
#include "projections/rows.h"
#include "projections/state.h"
#include "rocksdb/db.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/write_batch.h"

namespace callbackledger {

struct StoreOptions {
  std::string path;
  bool read_only = false;
  // The write-ahead log files kept before RocksDB flushes the column families whose
  // unflushed rows hold the oldest one (RocksDB's max_total_wal_size). A start after a
  // crash replays at most about this much. Without a bound, a column family written
  // rarely keeps every log file since its last flush alive: 425 MB after a minute of load.
  uint64_t max_wal_bytes = uint64_t{64} << 20;
  // The block cache every column family shares, for data blocks read and for the index and
  // filter blocks of the table files, which would otherwise all stay in memory.
  uint64_t block_cache_bytes = uint64_t{128} << 20;
  // Zeros written ahead of each write-ahead log file, so that a synced write overwrites
  // blocks the file has instead of growing it (ledger/wal_zero_ahead.h); at most an eighth
  // of max_wal_bytes. 0: the log grows with each append, as RocksDB writes it. Only with
  // the default Env.
  uint64_t wal_zero_ahead_bytes = uint64_t{1} << 20;
  // For tests that inject storage faults; null means the default Env.
  rocksdb::Env* env = nullptr;
};

class Store : public RowArchive {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store() override;

  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* events() { return handles_[kEvents]; }
  rocksdb::ColumnFamilyHandle* config() { return handles_[kConfig]; }
  rocksdb::ColumnFamilyHandle* projection(Cf cf) const {
    return handles_[kFirstProjection + static_cast<int>(cf)];
  }

  // Writes a batch durably (WAL synced before it returns).
  absl::Status WriteSynced(rocksdb::WriteBatch* batch);
  // Writes a batch to the memtables only, without the write-ahead log: a crash loses it
  // unless FlushProjections returned after it. For rebuilt projection rows only.
  absl::Status WriteUnlogged(rocksdb::WriteBatch* batch);
  // Writes every projection column family's memtable to its files and waits until they
  // are on disk.
  absl::Status FlushProjections();
  // A table file for rows of one projection family given in strictly ascending key order,
  // written outside the memtables: a rebuild writes the CallerIDs and open reservations of
  // its State this way, as it emits them in key order, so they take neither a memtable
  // insert nor a flush. The file lives in the data directory, under a name RocksDB leaves
  // alone, until IngestSortedRows adds it to the family; a rebuild cut short leaves it
  // there, and the next one writes it anew.
  absl::StatusOr<std::unique_ptr<rocksdb::SstFileWriter>> NewSortedRows(Cf cf);
  // Finishes `rows` (synced; it must hold a row at least) and adds its file to the family
  // `cf`, durably, above every row the family has.
  absl::Status IngestSortedRows(Cf cf, rocksdb::SstFileWriter* rows);
  // Writes every column family's memtable to its files and waits, so that the next open
  // has no write-ahead log to replay (a clean stop does this).
  absl::Status FlushAll();
  // The bytes of the live write-ahead log files: what a start after a crash would replay.
  uint64_t WriteAheadLogBytes();
  // What RocksDB holds in memory, in bytes, over every column family (RocksDB's own
  // figures; 0 for one it cannot give).
  struct MemoryUsage {
    uint64_t memtables = 0;      // written rows not yet flushed to table files
    uint64_t table_readers = 0;  // what the open table files hold outside the block cache
    uint64_t block_cache = 0;    // blocks read, and index and filter blocks
  };
  MemoryUsage Memory();
  // The bytes of each column family's table files on disk, by family name, in the order
  // the families were opened (RocksDB's own figure; 0 for one it cannot give). With
  // WriteAheadLogBytes, what the data directory takes: it grows with every call taken.
  std::vector<std::pair<std::string, uint64_t>> TableFileBytes();

  // The event with this sequence number; NOT_FOUND when there is none.
  absl::StatusOr<v1::Event> ReadEvent(uint64_t sequence);
  // Up to `limit` events from `from_sequence` on, in order.
  absl::StatusOr<std::vector<v1::Event>> ReadEvents(uint64_t from_sequence, size_t limit);
  // Every event from `from_sequence` on, in order, handed to `each` in chunks of up to
  // `chunk` events. The events live in an arena that the next chunk reuses: `each` must
  // copy what it keeps. Stops at the first error, of the scan or of `each`.
  absl::Status ScanEvents(
      uint64_t from_sequence, size_t chunk,
      const std::function<absl::Status(const std::vector<const v1::Event*>&)>& each);
  // The last sequence number in the log (0 when empty).
  absl::StatusOr<uint64_t> LastSequence();

  std::optional<std::string> GetConfig(const std::string& key);

  // The row of a reservation closed for good, from the closed_reservations family; nullopt
  // when there is none. UNAVAILABLE when it cannot be read, DATA_LOSS when it cannot be
  // decoded.
  absl::StatusOr<std::optional<store::v1::ReservationRow>> FindClosedReservation(
      std::string_view reservation_id) const override;
  // The stored idempotency key; nullopt when there is none. UNAVAILABLE when it cannot be
  // read, DATA_LOSS when its row cannot be decoded or holds too long a fingerprint.
  absl::StatusOr<std::optional<IdempotencyEntry>> FindStoredIdempotency(
      std::string_view key) const override;

  // The layout of the data directory (its column families, keys and rows) this build reads
  // and writes, kept under kFormatKey in the config family. Open refuses a directory that
  // says a format it does not know; one that says none (made before the key existed) is
  // format 1. Format 1 kept closed reservations in the reservations family; its log is the
  // same, so Ledger::Open rebuilds the projections of a format 1 directory and then marks
  // it with kFormat. Format 2 kept expired and orphaned reservations there too: Ledger::Open
  // moves those (LoadProjections). Formats 2 and 3 had no call_totals family: Ledger::Open
  // fills it from the calls rows (FillCallTotals) and then marks the directory format 4
  // (kFormat).
  static constexpr char kFormatKey[] = "format";
  static constexpr char kFormat[] = "4";
  static constexpr char kFormatThree[] = "3";
  static constexpr char kFormatTwo[] = "2";
  static constexpr char kOldFormat[] = "1";
  // The format the directory says (kOldFormat when it says none).
  std::string format();

  // Empties every projection column family (for a rebuild) by dropping it and creating it
  // again, the meta family first; durable when it returns.
  absl::Status ClearProjections();

 private:
  enum { kDefault = 0, kEvents = 1, kConfig = 2, kFirstProjection = 3 };
  Store() = default;
  // Stands in for a projection column family that a read-only open did not find (a clear
  // was cut short): it holds no rows.
  rocksdb::ColumnFamilyHandle* default_handle() { return db_->DefaultColumnFamily(); }
  absl::Status Flush(const std::vector<rocksdb::ColumnFamilyHandle*>& handles, const char* what);
  std::string path_;
  std::shared_ptr<rocksdb::Cache> block_cache_;  // outlives db_
  std::unique_ptr<rocksdb::Env> env_;            // outlives db_; null: options.env or the default
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

absl::Status FromRocks(const rocksdb::Status& status, const std::string& what);

// A RowSink that adds puts, deletes and merges to a WriteBatch.
class BatchSink : public RowSink {
 public:
  BatchSink(Store* store, rocksdb::WriteBatch* batch) : store_(store), batch_(batch) {}
  void Put(Cf cf, std::string_view key, std::string_view value) override;
  void Delete(Cf cf, std::string_view key) override;
  void Merge(Cf cf, std::string_view key, std::string_view value) override;

 private:
  Store* store_;
  rocksdb::WriteBatch* batch_;
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_STORE_H_
