// The projections of the event log kept in memory: the CallerID table, the number index,
// extension policies and counters, license counters and the open reservations. The
// committer decides every command against this state; it reads RocksDB only for a
// reservation that is not in it (a new reservation_id, mostly answered by a bloom filter, a
// repeated call on a closed one, or a late Settle of an expired one) and for a request_id
// (idempotency keys live on disk only: a new one is answered by a bloom filter too).
//
// State is the committed view. A Delta holds the changes of the group of commands being
// decided; a View reads through the Delta to the State and writes only to the Delta.
// When the group is durable, State::Merge folds the Delta in; when it is not, the Delta
// is dropped and the State never saw it. A replay, whose events are durable already,
// writes straight into a State nobody else reads yet (View::Direct).
//
// Threading: one writer (the committer, or a replay) owns the Delta and calls Merge
// while holding the lock that readers of State hold shared. Readers never see a Delta.
#ifndef CALLBACKLEDGER_PROJECTIONS_STATE_H_
#define CALLBACKLEDGER_PROJECTIONS_STATE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "callbackledger/store/v1/store.pb.h"
#include "callbackledger/v1/common.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/timestamp.pb.h"
#include "projections/compact_string.h"
#include "projections/dense_string_map.h"
#include "projections/id_table.h"
#include "projections/idempotency.h"

namespace callbackledger {

struct CallerIdState {
  // Ordered so that nothing is padding: a million of these are allocated, and zeroed by the
  // kernel, at every start.
  uint64_t id = 0;
  CompactString extension;
  CompactString callback_number;
  CompactString pin_salt;  // empty when no PIN is set
  CompactString pin_hash;
  CompactString order_no;
  int64_t total_credit_micros = 0;
  int64_t credit_left_micros = 0;
  int64_t held_micros = 0;
  int64_t created_at_micros = 0;  // Unix time
  int64_t updated_at_micros = 0;
  v1::CallerId::Status status = v1::CallerId::ENABLED;
  uint32_t failed_pin_attempts = 0;
  uint32_t open_reservations = 0;
  bool unlimited = false;
  bool pin_locked = false;

  bool enabled() const { return status == v1::CallerId::ENABLED; }
  bool pin_set() const { return !pin_hash.empty(); }
  int64_t available_micros() const { return credit_left_micros - held_micros; }
};
// A million of them are in memory: a field that adds padding, or a string that is not a
// CompactString, shows here (docs/benchmarks-history.md, "A smaller CallerID slot").
static_assert(sizeof(CallerIdState) <= 144, "a CallerIdState outgrew its 144 bytes");

struct ExtensionState {
  uint32_t max_active_callerids = 0;  // 0: only the license limit
  int64_t min_credit_to_call_micros = 0;
  uint32_t active_callerids = 0;
  uint32_t total_callerids = 0;
};

struct MetaState {
  uint64_t last_sequence = 0;
  uint64_t last_callerid_id = 0;
  uint32_t active_callerids = 0;
  uint32_t total_callerids = 0;
};

// Timestamps as Unix microseconds, and back. A timestamp beyond what int64 microseconds
// hold (only a corrupt event or row has one: requests' times are validated) gives the
// nearest of INT64_MIN and INT64_MAX.
int64_t ToUnixMicros(const google::protobuf::Timestamp& timestamp);
google::protobuf::Timestamp FromUnixMicros(int64_t micros);
// The same, into a timestamp that already exists (a row's, reused: no allocation).
void SetFromUnixMicros(int64_t micros, google::protobuf::Timestamp* timestamp);

// The key of the number index: extension, NUL, number.
std::string NumberKey(std::string_view extension, std::string_view number);

// The same key in a buffer of its own, made without an allocation when it is as short as
// keys of real numbers are: for a lookup, which keeps no key.
class NumberKeyBuffer {
 public:
  NumberKeyBuffer(std::string_view extension, std::string_view number);
  NumberKeyBuffer(const NumberKeyBuffer&) = delete;
  NumberKeyBuffer& operator=(const NumberKeyBuffer&) = delete;

  std::string_view view() const { return view_; }

 private:
  std::array<char, 64> inline_;
  std::string heap_;  // when the key does not fit inline_
  std::string_view view_;
};

// Rows that only ever get appended (recharge history, settled calls), produced while
// applying events. A direct View also lists here, in order, its changes to idempotency
// keys and to the number index (a Delta keeps those itself): a replay writes them as they
// come, the last change of a key winning, rather than with the rest of the State at its end.
// Clear keeps the recharge and call messages, cleared, and the memory of the lists, for the
// next Add to fill again: the committer and a replay reuse one AppendedRows group after
// group, chunk after chunk. The listed keys are kept back to back in one buffer, not as a
// string each: a replay lists one or two a CallerID.
struct AppendedRows {
  void Clear();

  void AddIdempotency(std::string_view key, const IdempotencyEntry& entry);
  void AddNumber(std::string_view key, std::optional<uint64_t> id);  // nullopt: erased
  size_t idempotency_count() const { return idempotency_.size(); }
  size_t number_count() const { return numbers_.size(); }
  // Calls each(key, entry) for every listed idempotency change, in order.
  template <typename Each>
  void ForEachIdempotency(Each each) const {
    for (const IdempotencyChange& c : idempotency_) each(KeyOf(c.offset, c.size), c.entry);
  }
  // Calls each(key, id) for every listed number index change, in order.
  template <typename Each>
  void ForEachNumber(Each each) const {
    for (const NumberChange& c : numbers_) each(KeyOf(c.offset, c.size), c.id);
  }

  google::protobuf::RepeatedPtrField<store::v1::RechargeRow> recharges;
  google::protobuf::RepeatedPtrField<store::v1::CallRow> calls;
  // Reservations that left the State of a direct View (see View::PutReservation): their
  // rows are written with the appended ones.
  google::protobuf::RepeatedPtrField<store::v1::ReservationRow> reservations;

 private:
  struct IdempotencyChange {
    size_t offset;
    uint32_t size;
    IdempotencyEntry entry;
  };
  struct NumberChange {
    size_t offset;
    uint32_t size;
    std::optional<uint64_t> id;
  };
  std::string_view KeyOf(size_t offset, uint32_t size) const {
    return std::string_view(keys_.data() + offset, size);
  }
  size_t AppendKey(std::string_view key);

  std::string keys_;
  std::vector<IdempotencyChange> idempotency_;
  std::vector<NumberChange> numbers_;
};

using ReservationState = store::v1::ReservationRow;

// The State keeps only open reservations: their holds count against credit, they expire,
// and their node's SyncReservations may release them. Every other one leaves it as it
// closes (memory would otherwise grow with every call, and with every call a crashed node
// left to expire), and its stored row, in the closed_reservations family, answers what may
// still come for it through a RowArchive: a repeated Reserve, Settle or Release, and a late
// Settle of an expired or orphaned one.
inline bool IsOpen(const ReservationState& reservation) {
  return reservation.state() == store::v1::ReservationRow::OPEN;
}

// Settled and released reservations are closed for good: no later event changes them.
// Expired and orphaned ones may still be settled, late, once.
inline bool ClosedForGood(const ReservationState& reservation) {
  return reservation.state() == store::v1::ReservationRow::SETTLED ||
         reservation.state() == store::v1::ReservationRow::RELEASED;
}

// Where a View finds what the State does not keep: the reservations it let go of, and
// every idempotency key. A key, like a closed reservation, never changes once written, and
// one is kept for every request ever taken with a request_id: held in memory they would
// grow with the history, by about 75 MiB a million calls.
class RowArchive {
 public:
  virtual ~RowArchive() = default;
  // The stored row of `reservation_id` if it is not open; nullopt when none is stored, an
  // error when the storage cannot be read. (The open ones are all in the State.)
  virtual absl::StatusOr<std::optional<ReservationState>> FindClosedReservation(
      std::string_view reservation_id) const = 0;
  // The stored idempotency key `key` (IdempotencyKey); nullopt when none is stored, an
  // error when the storage cannot be read or the row cannot be decoded.
  virtual absl::StatusOr<std::optional<IdempotencyEntry>> FindStoredIdempotency(
      std::string_view key) const = 0;
};

// The changes of one group. Written through a View; read by State::Merge and EmitDelta.
struct Delta {
  // Whether it holds no change (what it read from the archive is no change).
  bool empty() const;
  // Forgets the changes, and what was read from the archive.
  void Clear();

  absl::flat_hash_map<uint64_t, std::optional<CallerIdState>> callerids_;
  absl::flat_hash_map<std::string, std::optional<uint64_t>> numbers_;
  absl::flat_hash_map<std::string, std::optional<ExtensionState>> extensions_;
  absl::flat_hash_map<std::string, IdempotencyEntry> idempotency_;
  absl::flat_hash_map<std::string, ReservationState> reservations_;
  std::optional<MetaState> meta_;
  AppendedRows appended_;
  // Rows read from the archive while deciding this group (nullopt: none is stored), so that
  // each is read once a group; node maps, for pointers that stay valid. Only this group
  // can change or store one after reading it (a late Settle of an expired reservation, a
  // new key): its own changes are read first, and the pending group's are read before the
  // archive.
  absl::node_hash_map<std::string, std::optional<ReservationState>> archived_reservations_;
  absl::node_hash_map<std::string, std::optional<IdempotencyEntry>> archived_idempotency_;
  // The first failed archive read since the last TakeReadError.
  absl::Status read_error_;
};

class State {
 public:
  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  const CallerIdState* FindCallerId(uint64_t id) const;
  std::optional<uint64_t> FindNumber(std::string_view extension, std::string_view number) const;
  // The same, by the number index's key (NumberKey).
  std::optional<uint64_t> FindNumberKey(std::string_view key) const;
  const ExtensionState* FindExtension(std::string_view extension) const;
  const MetaState& meta() const { return meta_; }
  // An open reservation (see IsOpen); null for any other (but see KeepLapsedReservations).
  const ReservationState* FindReservation(std::string_view reservation_id) const;

  // Open reservations by expiry time (Unix micros), earliest first.
  const absl::btree_set<std::pair<int64_t, std::string>>& expiry_index() const { return expiry_; }
  // The open reservations of a PBX node.
  const absl::btree_set<std::string>* OpenReservationsOfNode(std::string_view node_id) const;
  // The open reservations.
  const absl::flat_hash_map<std::string, ReservationState>& reservations() const {
    return reservations_;
  }

  // CallerIDs in id order: all of them, or those of one extension.
  // Every CallerID, in ascending id order.
  const IdTable<CallerIdState>& callerids() const { return callerids_; }
  const absl::btree_set<uint64_t>* ExtensionIds(std::string_view extension) const;
  const absl::flat_hash_map<std::string, ExtensionState>& extensions() const { return extensions_; }

  // Forgets everything (before a rebuild).
  void Clear();

  // Folds a group's changes in. The caller holds the writers' side of the readers' lock.
  void Merge(Delta* delta);

  // Loading from stored rows at startup (no Delta involved). ReserveForLoad sizes the
  // CallerID table and the number index once for about that many CallerIDs, so loading
  // does not rehash them as they grow.
  void ReserveForLoad(size_t callerids);
  void LoadCallerId(CallerIdState callerid);
  void LoadExtension(std::string extension, ExtensionState state);
  void LoadMeta(const MetaState& meta) { meta_ = meta; }
  // Keeps only an open reservation.
  void LoadReservation(ReservationState reservation);

  // For a replay: expired and orphaned reservations stay in the State (FindReservation,
  // reservations()) until TakeLapsedReservations, since a late Settle further on in the
  // log may still charge one, and a direct View has no archive to read it back from.
  void KeepLapsedReservations() { keep_lapsed_ = true; }
  // Ends KeepLapsedReservations: hands out the expired and orphaned reservations still
  // kept, in no particular order, and lets them go.
  std::vector<ReservationState> TakeLapsedReservations();

  // For a replay into a State nobody reads while it runs: the indexes of the open
  // reservations (expiry_index, OpenReservationsOfNode) are not kept as reservations come
  // and go, which was a seventh of a replay's time, but built once by IndexOpenReservations.
  // Nothing may read them in between.
  void SuspendReservationIndexes() { index_reservations_ = false; }
  void IndexOpenReservations();

 private:
  IdTable<CallerIdState> callerids_;
  DenseStringMap<uint64_t> numbers_;
  absl::flat_hash_map<std::string, ExtensionState> extensions_;
  absl::flat_hash_map<std::string, absl::btree_set<uint64_t>> extension_ids_;
  absl::flat_hash_map<std::string, ReservationState> reservations_;
  absl::btree_set<std::pair<int64_t, std::string>> expiry_;
  absl::flat_hash_map<std::string, absl::btree_set<std::string>> open_by_node_;
  bool index_reservations_ = true;  // false while the indexes are suspended
  bool keep_lapsed_ = false;        // see KeepLapsedReservations
  MetaState meta_;

  // One change each, keeping the indexes: what Merge does for every entry of a Delta, and a
  // direct View for every change.
  friend class View;
  void SetCallerId(uint64_t id, std::optional<CallerIdState> value);
  void SetNumber(std::string key, std::optional<uint64_t> id);
  void EraseNumber(std::string_view key);
  void SetExtension(std::string_view key, const ExtensionState& state);
  // Erases a reservation that is not open (unless lapsed ones are kept).
  void SetReservation(ReservationState reservation);
  void EraseReservation(std::string_view reservation_id);
  void IndexReservation(const ReservationState& reservation, bool add);
};

// Reads through a Delta to a State; writes go to the Delta only. With a pending Delta
// (the changes of the group decided just before, not yet durable and so not yet merged
// into the State), it reads the own Delta first, then the pending one, then the State:
// a group can be decided while the one before it is still being written. The pending
// Delta is only read; merging it into the State leaves the own Delta valid on its own,
// since every entry of a Delta is a whole value, not a change to the value under it.
//
// With an archive, a reservation the State let go of, and an idempotency key, are read from
// it (once a group): see FindReservation and FindIdempotency.
class View {
 public:
  View(const State* state, Delta* delta) : View(state, nullptr, delta) {}
  View(const State* state, const Delta* pending, Delta* delta, const RowArchive* archive = nullptr)
      : state_(state),
        pending_(pending),
        delta_(delta),
        archive_(archive),
        appended_(&delta->appended_) {}
  // A View that writes every change straight into `state`, and the appended rows (and the
  // changes to idempotency keys and the number index) to `appended`: for a replay into a
  // State that nobody else reads while it runs. It saves copying every change into a Delta
  // and then into the State.
  static View Direct(State* state, AppendedRows* appended) { return View(state, appended); }

  const CallerIdState* FindCallerId(uint64_t id) const;
  std::optional<uint64_t> FindNumber(std::string_view extension, std::string_view number) const;
  // The extension's state; a default one for an extension never seen.
  ExtensionState GetExtension(std::string_view extension) const;
  // The key as this View sees it: written in this group or the pending one, or else stored
  // in the archive (null for a View without one: a direct View never looks a key up). When
  // the archive cannot be read it gives null and keeps the error for TakeReadError.
  const IdempotencyEntry* FindIdempotency(std::string_view key) const;
  const MetaState& meta() const;
  // The reservation as this View sees it: changed, in the State, or else stored in the
  // archive. When the archive cannot be read it gives null and keeps the error for
  // TakeReadError: nothing decided on that null may be kept.
  const ReservationState* FindReservation(std::string_view reservation_id) const;
  // The first archive read (of a reservation or a key) that failed since the last call (OK
  // when none did).
  absl::Status TakeReadError();
  // The committed state, for its indexes; entries must be re-read through the View.
  const State& base() const { return *state_; }
  // The ids of the reservations the State does not have yet (opened in this group or in
  // the pending one), each once; re-read them through the View.
  std::vector<std::string> ReservationsNotInBase() const;

  void PutCallerId(CallerIdState callerid);
  void EraseCallerId(uint64_t id);
  void PutNumber(std::string_view extension, std::string_view number, uint64_t id);
  void EraseNumber(std::string_view extension, std::string_view number);
  void PutExtension(std::string_view extension, const ExtensionState& state);
  void PutIdempotency(std::string key, const IdempotencyEntry& entry);
  MetaState& mutable_meta();
  void PutReservation(ReservationState reservation);
  AppendedRows& appended() { return *appended_; }

 private:
  View(State* state, AppendedRows* appended)
      : state_(state), pending_(nullptr), delta_(nullptr), direct_(state), appended_(appended) {}

  // The entry of `key` in the own Delta, else in the pending one; null when neither has it
  // (always, for a direct View).
  template <typename Map, typename Key>
  const typename Map::mapped_type* Changed(Map Delta::*map, const Key& key) const {
    if (delta_ == nullptr) return nullptr;
    auto it = (delta_->*map).find(key);
    if (it != (delta_->*map).end()) return &it->second;
    if (pending_ == nullptr) return nullptr;
    auto pending = (pending_->*map).find(key);
    return pending == (pending_->*map).end() ? nullptr : &pending->second;
  }

  // What the archive stores under `key`, read once a group: kept in the Delta's `read` map,
  // found or not. Null without an archive, for a key not stored, and for a failed read,
  // whose error is kept for TakeReadError (and which is read again next time).
  template <typename Value>
  const Value* ReadOnce(absl::node_hash_map<std::string, std::optional<Value>> Delta::*read,
                        std::string_view key,
                        absl::StatusOr<std::optional<Value>> (RowArchive::*find)(std::string_view)
                            const) const {
    if (archive_ == nullptr || delta_ == nullptr) return nullptr;
    auto& cache = delta_->*read;
    auto it = cache.find(absl::string_view(key.data(), key.size()));
    if (it == cache.end()) {
      absl::StatusOr<std::optional<Value>> stored = (archive_->*find)(key);
      if (!stored.ok()) {
        if (delta_->read_error_.ok()) delta_->read_error_ = stored.status();
        return nullptr;
      }
      it = cache.emplace(std::string(key), *std::move(stored)).first;
    }
    return it->second.has_value() ? &*it->second : nullptr;
  }

  const State* state_;
  const Delta* pending_;                 // may be null
  Delta* delta_;                         // null for a direct View
  const RowArchive* archive_ = nullptr;  // may be null
  State* direct_ = nullptr;              // the State written to, for a direct View
  AppendedRows* appended_;
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_PROJECTIONS_STATE_H_
