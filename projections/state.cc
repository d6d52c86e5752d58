#include "projections/state.h"

#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include "absl/strings/string_view.h"

namespace callbackledger {
namespace {

// Looks a string key up without copying it (the maps hash absl::string_view).
absl::string_view Key(std::string_view key) { return absl::string_view(key.data(), key.size()); }

}  // namespace

int64_t ToUnixMicros(const google::protobuf::Timestamp& timestamp) {
  int64_t micros = 0;
  if (__builtin_mul_overflow(timestamp.seconds(), int64_t{1000000}, &micros) ||
      __builtin_add_overflow(micros, int64_t{timestamp.nanos() / 1000}, &micros)) {
    return timestamp.seconds() < 0 ? std::numeric_limits<int64_t>::min()
                                   : std::numeric_limits<int64_t>::max();
  }
  return micros;
}

google::protobuf::Timestamp FromUnixMicros(int64_t micros) {
  google::protobuf::Timestamp timestamp;
  SetFromUnixMicros(micros, &timestamp);
  return timestamp;
}

void SetFromUnixMicros(int64_t micros, google::protobuf::Timestamp* timestamp) {
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    seconds -= 1;
  }
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(static_cast<int32_t>(rest * 1000));
}

std::string NumberKey(std::string_view extension, std::string_view number) {
  return std::string(NumberKeyBuffer(extension, number).view());
}

NumberKeyBuffer::NumberKeyBuffer(std::string_view extension, std::string_view number) {
  size_t size = extension.size() + 1 + number.size();
  char* key = inline_.data();
  if (size > inline_.size()) {
    heap_.resize(size);
    key = heap_.data();
  }
  std::memcpy(key, extension.data(), extension.size());
  key[extension.size()] = '\0';
  std::memcpy(key + extension.size() + 1, number.data(), number.size());
  view_ = std::string_view(key, size);
}

bool Delta::empty() const {
  return callerids_.empty() && numbers_.empty() && extensions_.empty() && idempotency_.empty() &&
         reservations_.empty() && !meta_.has_value() && appended_.recharges.empty() &&
         appended_.calls.empty() && appended_.reservations.empty();
}

void Delta::Clear() {
  callerids_.clear();
  numbers_.clear();
  extensions_.clear();
  idempotency_.clear();
  reservations_.clear();
  meta_.reset();
  appended_.Clear();
  archived_reservations_.clear();
  archived_idempotency_.clear();
  read_error_ = absl::OkStatus();
}

void AppendedRows::Clear() {
  recharges.Clear();
  calls.Clear();
  reservations.Clear();
  keys_.clear();
  idempotency_.clear();
  numbers_.clear();
}

size_t AppendedRows::AppendKey(std::string_view key) {
  size_t offset = keys_.size();
  keys_.append(key);
  return offset;
}

void AppendedRows::AddIdempotency(std::string_view key, const IdempotencyEntry& entry) {
  idempotency_.push_back({AppendKey(key), static_cast<uint32_t>(key.size()), entry});
}

void AppendedRows::AddNumber(std::string_view key, std::optional<uint64_t> id) {
  numbers_.push_back({AppendKey(key), static_cast<uint32_t>(key.size()), id});
}

const CallerIdState* State::FindCallerId(uint64_t id) const { return callerids_.Find(id); }

std::optional<uint64_t> State::FindNumber(std::string_view extension,
                                          std::string_view number) const {
  return FindNumberKey(NumberKeyBuffer(extension, number).view());
}

std::optional<uint64_t> State::FindNumberKey(std::string_view key) const {
  const uint64_t* id = numbers_.Find(key);
  if (id == nullptr) return std::nullopt;
  return *id;
}

const ExtensionState* State::FindExtension(std::string_view extension) const {
  auto it = extensions_.find(Key(extension));
  return it == extensions_.end() ? nullptr : &it->second;
}

const absl::btree_set<uint64_t>* State::ExtensionIds(std::string_view extension) const {
  auto it = extension_ids_.find(Key(extension));
  return it == extension_ids_.end() ? nullptr : &it->second;
}

void State::Clear() {
  callerids_.Clear();
  numbers_.Clear();
  extensions_.clear();
  extension_ids_.clear();
  reservations_.clear();
  expiry_.clear();
  open_by_node_.clear();
  meta_ = MetaState{};
}

const ReservationState* State::FindReservation(std::string_view reservation_id) const {
  auto it = reservations_.find(Key(reservation_id));
  return it == reservations_.end() ? nullptr : &it->second;
}

const absl::btree_set<std::string>* State::OpenReservationsOfNode(std::string_view node_id) const {
  auto it = open_by_node_.find(Key(node_id));
  return it == open_by_node_.end() ? nullptr : &it->second;
}

void State::IndexReservation(const ReservationState& r, bool add) {
  if (!index_reservations_ || r.state() != store::v1::ReservationRow::OPEN) return;
  int64_t expires = ToUnixMicros(r.expires_at());
  if (add) {
    expiry_.insert({expires, r.reservation_id()});
    open_by_node_[r.node_id()].insert(r.reservation_id());
    return;
  }
  expiry_.erase({expires, r.reservation_id()});
  auto node = open_by_node_.find(r.node_id());
  if (node != open_by_node_.end()) {
    node->second.erase(r.reservation_id());
    if (node->second.empty()) open_by_node_.erase(node);
  }
}

void State::IndexOpenReservations() {
  expiry_.clear();
  open_by_node_.clear();
  index_reservations_ = true;
  for (const auto& [id, reservation] : reservations_) IndexReservation(reservation, true);
}

void State::LoadReservation(ReservationState reservation) {
  SetReservation(std::move(reservation));
}

void State::SetCallerId(uint64_t id, std::optional<CallerIdState> value) {
  const CallerIdState* held = callerids_.Find(id);
  if (!value.has_value()) {
    if (held == nullptr) return;
    auto ids = extension_ids_.find(Key(held->extension));
    if (ids != extension_ids_.end()) {
      ids->second.erase(id);
      if (ids->second.empty()) extension_ids_.erase(ids);
    }
    callerids_.Erase(id);
    return;
  }
  if (held == nullptr) extension_ids_[value->extension.str()].insert(id);
  callerids_.InsertOrAssign(id, std::move(*value));
}

void State::SetNumber(std::string key, std::optional<uint64_t> id) {
  if (id.has_value()) {
    numbers_.InsertOrAssign(key, *id);
  } else {
    EraseNumber(key);
  }
}

void State::EraseNumber(std::string_view key) { numbers_.Erase(key); }

void State::SetExtension(std::string_view key, const ExtensionState& state) {
  // Most changes are to an extension that is there already: no key to make for those.
  auto it = extensions_.find(Key(key));
  if (it != extensions_.end()) {
    it->second = state;
  } else {
    extensions_.emplace(std::string(key), state);
  }
}

void State::SetReservation(ReservationState reservation) {
  if (ClosedForGood(reservation) || (!IsOpen(reservation) && !keep_lapsed_)) {
    return EraseReservation(reservation.reservation_id());
  }
  auto it = reservations_.find(reservation.reservation_id());
  if (it != reservations_.end()) {
    IndexReservation(it->second, false);
    it->second = std::move(reservation);
    IndexReservation(it->second, true);
  } else {
    IndexReservation(reservation, true);
    std::string id = reservation.reservation_id();
    reservations_.emplace(std::move(id), std::move(reservation));
  }
}

std::vector<ReservationState> State::TakeLapsedReservations() {
  keep_lapsed_ = false;
  std::vector<ReservationState> lapsed;
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    if (IsOpen(it->second)) {
      ++it;
      continue;
    }
    lapsed.push_back(std::move(it->second));
    reservations_.erase(it++);
  }
  return lapsed;
}

void State::EraseReservation(std::string_view reservation_id) {
  auto it = reservations_.find(Key(reservation_id));
  if (it == reservations_.end()) return;
  IndexReservation(it->second, false);
  reservations_.erase(it);
}

void State::Merge(Delta* delta) {
  for (auto& [id, value] : delta->callerids_) SetCallerId(id, std::move(value));
  for (auto& [key, id] : delta->numbers_) SetNumber(key, id);
  for (auto& [key, value] : delta->extensions_) {
    if (value.has_value()) SetExtension(key, *value);
  }
  // The keys stay on disk only: the archive finds them once the group is durable.
  for (auto& [id, reservation] : delta->reservations_) SetReservation(std::move(reservation));
  if (delta->meta_.has_value()) meta_ = *delta->meta_;
  delta->Clear();
}

void State::ReserveForLoad(size_t callerids) {
  callerids_.Reserve(callerids);
  numbers_.Reserve(callerids);
}

void State::LoadCallerId(CallerIdState callerid) {
  uint64_t id = callerid.id;
  extension_ids_[callerid.extension.str()].insert(id);
  numbers_.InsertOrAssign(NumberKeyBuffer(callerid.extension, callerid.callback_number).view(), id);
  callerids_.InsertOrAssign(id, std::move(callerid));
}

void State::LoadExtension(std::string extension, ExtensionState state) {
  SetExtension(extension, state);
}

const CallerIdState* View::FindCallerId(uint64_t id) const {
  if (const auto* changed = Changed(&Delta::callerids_, id)) {
    return changed->has_value() ? &**changed : nullptr;
  }
  return state_->FindCallerId(id);
}

std::optional<uint64_t> View::FindNumber(std::string_view extension,
                                         std::string_view number) const {
  NumberKeyBuffer key(extension, number);
  if (const auto* changed = Changed(&Delta::numbers_, Key(key.view()))) return *changed;
  return state_->FindNumberKey(key.view());
}

ExtensionState View::GetExtension(std::string_view extension) const {
  const auto* changed = Changed(&Delta::extensions_, Key(extension));
  if (changed != nullptr && changed->has_value()) return **changed;
  const ExtensionState* stored = state_->FindExtension(extension);
  return stored == nullptr ? ExtensionState{} : *stored;
}

const IdempotencyEntry* View::FindIdempotency(std::string_view key) const {
  if (const auto* changed = Changed(&Delta::idempotency_, Key(key))) return changed;
  return ReadOnce(&Delta::archived_idempotency_, key, &RowArchive::FindStoredIdempotency);
}

const MetaState& View::meta() const {
  if (delta_ == nullptr) return state_->meta();
  if (delta_->meta_.has_value()) return *delta_->meta_;
  if (pending_ != nullptr && pending_->meta_.has_value()) return *pending_->meta_;
  return state_->meta();
}

void View::PutCallerId(CallerIdState callerid) {
  uint64_t id = callerid.id;
  if (direct_ != nullptr) return direct_->SetCallerId(id, std::move(callerid));
  delta_->callerids_[id] = std::move(callerid);
}

void View::EraseCallerId(uint64_t id) {
  if (direct_ != nullptr) return direct_->SetCallerId(id, std::nullopt);
  delta_->callerids_[id] = std::nullopt;
}

void View::PutNumber(std::string_view extension, std::string_view number, uint64_t id) {
  std::string key = NumberKey(extension, number);
  if (direct_ != nullptr) {
    appended_->AddNumber(key, id);
    direct_->SetNumber(std::move(key), id);
    return;
  }
  delta_->numbers_[std::move(key)] = id;
}

void View::EraseNumber(std::string_view extension, std::string_view number) {
  if (direct_ != nullptr) {
    NumberKeyBuffer key(extension, number);
    appended_->AddNumber(key.view(), std::nullopt);
    direct_->EraseNumber(key.view());
    return;
  }
  delta_->numbers_[NumberKey(extension, number)] = std::nullopt;
}

void View::PutExtension(std::string_view extension, const ExtensionState& state) {
  if (direct_ != nullptr) return direct_->SetExtension(extension, state);
  delta_->extensions_[std::string(extension)] = state;
}

void View::PutIdempotency(std::string key, const IdempotencyEntry& entry) {
  if (direct_ != nullptr) return appended_->AddIdempotency(key, entry);
  delta_->idempotency_.insert_or_assign(std::move(key), entry);
}

const ReservationState* View::FindReservation(std::string_view reservation_id) const {
  if (const auto* changed = Changed(&Delta::reservations_, Key(reservation_id))) return changed;
  if (const ReservationState* kept = state_->FindReservation(reservation_id)) return kept;
  return ReadOnce(&Delta::archived_reservations_, reservation_id,
                  &RowArchive::FindClosedReservation);
}

absl::Status View::TakeReadError() {
  if (delta_ == nullptr) return absl::OkStatus();
  return std::exchange(delta_->read_error_, absl::OkStatus());
}

std::vector<std::string> View::ReservationsNotInBase() const {
  std::vector<std::string> ids;
  if (delta_ == nullptr) return ids;  // a direct View: every reservation is in the State
  for (const auto& [id, reservation] : delta_->reservations_) {
    if (state_->FindReservation(id) == nullptr) ids.push_back(id);
  }
  if (pending_ == nullptr) return ids;
  for (const auto& [id, reservation] : pending_->reservations_) {
    if (!delta_->reservations_.contains(id) && state_->FindReservation(id) == nullptr) {
      ids.push_back(id);
    }
  }
  return ids;
}

void View::PutReservation(ReservationState reservation) {
  if (direct_ != nullptr) {
    // Leaving the State (lapsed ones stay while it keeps them): its row is appended.
    if (ClosedForGood(reservation) || (!IsOpen(reservation) && !direct_->keep_lapsed_)) {
      direct_->EraseReservation(reservation.reservation_id());
      appended_->reservations.Add()->Swap(&reservation);
      return;
    }
    return direct_->SetReservation(std::move(reservation));
  }
  std::string id = reservation.reservation_id();
  delta_->reservations_[std::move(id)] = std::move(reservation);
}

MetaState& View::mutable_meta() {
  if (direct_ != nullptr) return direct_->meta_;
  if (!delta_->meta_.has_value()) delta_->meta_ = meta();
  return *delta_->meta_;
}

}  // namespace callbackledger
