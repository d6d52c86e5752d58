// A map from the ledger's own ids (1, 2, 3, ... as it hands them out) to values, for the
// million CallerIDs a ledger may hold: the values sit in a vector indexed by id, so finding
// one is one index, not a walk down a tree. A CallerIdState is 144 bytes, so an ordered
// tree of them holds only a few per node: a million of them made a tree ten levels deep, and
// finding a CallerID was most of a replayed event's cost.
//
// Ids far beyond the last (more than kMaxGap ahead, which the ledger never hands out, but a
// log could hold) go to an ordered map beside it, so no id can make the vector huge. Every id
// in that map is above every id in the vector, so visiting the vector, then the map, visits
// the ids in ascending order.
//
// As with any vector or tree, adding or erasing an id may move the values: pointers from
// Find are valid until the next change. Value must be default-constructible: a slot of the
// vector that holds no id holds a default Value.
#ifndef CALLBACKLEDGER_PROJECTIONS_ID_TABLE_H_
#define CALLBACKLEDGER_PROJECTIONS_ID_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"

namespace callbackledger {

template <typename Value>
class IdTable {
 public:
  // How far beyond the ids held a new id may be and still go into the vector.
  static constexpr uint64_t kMaxGap = 1 << 16;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  const Value* Find(uint64_t id) const {
    if (id < slots_.size()) return held_[id] ? &slots_[id] : nullptr;
    auto it = beyond_.find(id);
    return it == beyond_.end() ? nullptr : &it->second;
  }

  // True when the id is new.
  bool InsertOrAssign(uint64_t id, Value value) {
    if (id < slots_.size()) {
      const bool added = !held_[id];
      slots_[id] = std::move(value);
      held_[id] = true;
      size_ += added ? 1 : 0;
      return added;
    }
    if (InVectorRange(id)) {
      slots_.resize(id + 1);
      held_.resize(id + 1);
      slots_[id] = std::move(value);
      held_[id] = true;
      ++size_;
      return true;
    }
    const bool added = beyond_.insert_or_assign(id, std::move(value)).second;
    size_ += added ? 1 : 0;
    return added;
  }

  // False when the id is not there.
  bool Erase(uint64_t id) {
    if (id < slots_.size()) {
      if (!held_[id]) return false;
      slots_[id] = Value();  // lets go of what the value held
      held_[id] = false;
    } else if (beyond_.erase(id) == 0) {
      return false;
    }
    --size_;
    return true;
  }

  void Clear() {
    slots_.clear();
    slots_.shrink_to_fit();
    held_.clear();
    held_.shrink_to_fit();
    beyond_.clear();
    size_ = 0;
  }

  // Room for ids up to about `ids` without moving the values as they come.
  void Reserve(size_t ids) {
    slots_.reserve(ids + 1);
    held_.reserve(ids + 1);
  }

  // Calls f(id, value) for every id, in ascending order.
  template <typename F>
  void ForEach(F&& f) const {
    for (uint64_t id = 0; id < slots_.size(); ++id) {
      if (held_[id]) f(id, slots_[id]);
    }
    for (const auto& [id, value] : beyond_) f(id, value);
  }

  // Calls f(id, value) for the ids from `first` on, in ascending order, until f returns
  // false or `max_ids` ids (held or not) have been looked at. Returns the id to go on from
  // (for another call, which may come after changes), or nullopt when no id is left.
  template <typename F>
  std::optional<uint64_t> VisitFrom(uint64_t first, size_t max_ids, F&& f) const {
    uint64_t id = first;
    for (; id < slots_.size(); ++id) {
      if (max_ids == 0) return id;
      --max_ids;
      if (held_[id] && !f(id, slots_[id])) return id + 1;
    }
    for (auto it = beyond_.lower_bound(id); it != beyond_.end(); ++it) {
      if (max_ids == 0) return it->first;
      --max_ids;
      if (!f(it->first, it->second)) {
        if (it->first == UINT64_MAX) return std::nullopt;
        return it->first + 1;
      }
    }
    return std::nullopt;
  }

 private:
  // Whether an id not held yet, at or above slots_.size(), goes into the vector: near enough
  // to the ids held, and below every id in beyond_ (so the order stays vector first).
  bool InVectorRange(uint64_t id) const {
    if (id - slots_.size() > kMaxGap) return false;
    return beyond_.empty() || id < beyond_.begin()->first;
  }

  // Indexed by id (the ledger's start at 1); held_[id] tells whether slots_[id] is one. A bit
  // beside the vector rather than a std::optional in it: 8 bytes less a slot, with padding.
  std::vector<Value> slots_;
  std::vector<bool> held_;
  absl::btree_map<uint64_t, Value> beyond_;
  size_t size_ = 0;
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_PROJECTIONS_ID_TABLE_H_
