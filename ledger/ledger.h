// The ledger: the one entry point the server and the tools use. It checks requests for
// form, turns them into commands for the committer, and serves reads from the in-memory
// projections and the stored rows, never through the committer.
//
// Writes answer through `done`, called exactly once: on the calling thread when the
// request is refused before it is queued (malformed, or the ledger accepts no writes),
// otherwise on a committer thread once the change is durable. `done` must not block.
// Reads may be called from any thread.
//
// Status codes follow the API: INVALID_ARGUMENT (malformed), NOT_FOUND, ALREADY_EXISTS,
// RESOURCE_EXHAUSTED (license), FAILED_PRECONDITION (a ledger rule), PERMISSION_DENIED (a
// node touching another node's reservation), DEADLINE_EXCEEDED (the origin's deadline
// passed before the committer reached the write; nothing written), UNAVAILABLE (queue
// full, shutting down, or after a storage failure).
#ifndef CALLBACKLEDGER_LEDGER_LEDGER_H_
#define CALLBACKLEDGER_LEDGER_LEDGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/calls.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "callbackledger/v1/events.pb.h"
#include "callbackledger/v1/reports.pb.h"
#include "ledger/clock.h"
#include "ledger/committer.h"
#include "ledger/decide.h"
#include "ledger/secrets.h"
#include "ledger/store.h"
#include "ledger/sync.h"
#include "projections/state.h"

namespace callbackledger {

struct LedgerOptions {
  std::string data_dir = "./data";
  std::string currency = "USD";
  int decimals = 2;
  uint32_t license_max_active_callerids = 1000;
  // Consecutive wrong PINs that lock a CallerID (0: never).
  uint32_t pin_max_attempts = 5;
  // A reservation's time-to-live when the node gives none.
  uint32_t default_ttl_seconds = 300;
  // How often the expiry thread looks for reservations past their expiry (0: no thread;
  // ExpireDue() must then be called).
  int expiry_poll_milliseconds = 200;
  // Rebuild every projection from the log before serving.
  bool rebuild_projections = false;
  // The write-ahead log kept before the oldest file's column families are flushed, in MiB
  // (1-65536): about the most a start after a crash replays (StoreOptions::max_wal_bytes).
  uint32_t max_wal_mib = 64;
  // The block cache every column family shares, MiB (1-65536): blocks read, and the index
  // and filter blocks of the table files (StoreOptions::block_cache_bytes).
  uint32_t block_cache_mib = 128;
  // Zeros kept ahead of the write-ahead log's end, MiB (0-1024; 0: none), so that a synced
  // write overwrites blocks instead of growing the file (StoreOptions::wal_zero_ahead_bytes).
  uint32_t wal_zero_ahead_mib = 1;
  // Told how far a rebuild got (events replayed, events in the log) every few thousand
  // events, and once more with replayed == total when the rebuilt rows are on disk (the
  // replay itself ends earlier); may be empty.
  std::function<void(uint64_t replayed, uint64_t total)> rebuild_progress;
  // How many CallerIDs ListCallerIds looks at each time it holds the readers' lock, which
  // the committer needs, briefly, after every group: at most about 0.3 ms of work (a search by
  // number, the costliest, looks at a CallerID in about 30 ns).
  size_t list_scan_chunk = 8192;
  Clock* clock = nullptr;       // null: the system clock
  rocksdb::Env* env = nullptr;  // null: the default Env
  CommitterOptions committer;
};

// Who asks for a write (recorded as its events' actor) and until when the answer is
// wanted: a write still queued at its deadline is answered DEADLINE_EXCEEDED and never
// applied. Built implicitly from the actor's name, with no deadline.
struct Origin {
  Origin(std::string actor, absl::Time deadline = absl::InfiniteFuture())  // NOLINT
      : actor(std::move(actor)), deadline(deadline) {}
  Origin(const char* actor) : Origin(std::string(actor)) {}  // NOLINT
  std::string actor;
  absl::Time deadline;
};

template <typename Reply>
using Done = std::function<void(absl::StatusOr<Reply>)>;

class Ledger {
 public:
  static absl::StatusOr<std::unique_ptr<Ledger>> Open(const LedgerOptions& options);
  ~Ledger();  // Shutdown()s

  // Writes.
  void AddCallerId(const v1::AddCallerIdRequest& request, const Origin& origin,
                   Done<v1::CallerId> done);
  void UpdateCallerId(const v1::UpdateCallerIdRequest& request, const Origin& origin,
                      Done<v1::CallerId> done);
  void RemoveCallerIds(const v1::RemoveCallerIdsRequest& request, const Origin& origin,
                       Done<v1::RemoveCallerIdsResponse> done);
  void SetExtensionPolicy(const v1::SetExtensionPolicyRequest& request, const Origin& origin,
                          Done<v1::ExtensionPolicy> done);
  void AddCredit(const v1::AddCreditRequest& request, const Origin& origin,
                 Done<v1::Recharge> done);

  // The call-credit protocol (PBX nodes).
  void Authorize(const v1::AuthorizeRequest& request, const Origin& origin,
                 Done<v1::AuthorizeResponse> done);
  void Reserve(const v1::ReserveRequest& request, const Origin& origin,
               Done<v1::ReserveResponse> done);
  void Extend(const v1::ExtendRequest& request, const Origin& origin,
              Done<v1::ExtendResponse> done);
  void Settle(const v1::SettleRequest& request, const Origin& origin,
              Done<v1::SettleResponse> done);
  void Release(const v1::ReleaseRequest& request, const Origin& origin,
               Done<v1::ReleaseResponse> done);
  void SyncReservations(const v1::SyncReservationsRequest& request, const Origin& origin,
                        Done<v1::SyncReservationsResponse> done);
  // Releases every open reservation past its expiry by the clock; answers how many.
  void ExpireDue(Done<uint64_t> done);

  // Reads.
  absl::StatusOr<v1::GetCostReportResponse> GetCostReport(const v1::GetCostReportRequest& request);
  absl::StatusOr<v1::CallerId> GetCallerId(const v1::GetCallerIdRequest& request);
  absl::StatusOr<v1::ListCallerIdsResponse> ListCallerIds(const v1::ListCallerIdsRequest& request);
  absl::StatusOr<v1::LicenseUsage> GetLicenseUsage(const v1::GetLicenseUsageRequest& request);
  absl::StatusOr<v1::ListRechargesResponse> ListRecharges(const v1::ListRechargesRequest& request);
  absl::StatusOr<v1::ReadEventsResponse> ReadEvents(const v1::ReadEventsRequest& request);

  // OK while writes are accepted.
  absl::Status WriteHealth() const;
  uint64_t last_sequence() const;
  // The write-ahead log a start after a crash would replay, in bytes (Store).
  uint64_t write_ahead_log_bytes() const { return store_->WriteAheadLogBytes(); }
  // What the store holds in memory (Store::Memory).
  Store::MemoryUsage storage_memory() const { return store_->Memory(); }
  std::vector<std::pair<std::string, uint64_t>> table_file_bytes() const {
    return store_->TableFileBytes();
  }
  // Reservations open now (held, not yet settled, released or expired).
  size_t open_reservations() const;
  const LedgerOptions& options() const { return options_; }
  Committer* committer() { return committer_.get(); }

  // Answers everything queued, stops the committer and closes the store. Idempotent.
  void Shutdown();

 private:
  Ledger(const LedgerOptions& options, std::unique_ptr<Store> store, std::string secret_key);
  absl::Status Load();
  absl::Status LoadOrRebuild();
  void Submit(Command command, const Origin& origin);
  void RunExpiry();
  v1::AuthorizeResponse AuthorizeAnswer(const CallerIdState& callerid,
                                        const std::optional<v1::RateMicros>& rate) const;
  // A reservation as it stands now: kept in the State, or, closed for good, its stored row.
  // For an answer its command's event does not carry; nullopt when there is none (or its
  // row cannot be read: the answer then leaves out what it would have told).
  std::optional<ReservationState> CurrentReservation(const std::string& reservation_id) const;
  absl::StatusOr<uint64_t> ResolveCallerId(uint64_t id, uint64_t alias,
                                           const std::string& extension,
                                           const std::string& number) const;

  const LedgerOptions options_;
  SystemClock system_clock_;
  Clock* clock_;
  std::unique_ptr<Store> store_;
  Secrets secrets_;
  mutable Mutex state_mu_;
  State state_;  // written by the committer under state_mu_; read under it shared
  std::unique_ptr<Committer> committer_;

  Mutex expiry_mu_;
  bool expiry_stop_ ABSL_GUARDED_BY(expiry_mu_) = false;
  std::thread expiry_thread_;
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_LEDGER_H_
