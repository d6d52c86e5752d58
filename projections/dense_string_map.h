// A hash map from strings to values for millions of keys, as the number index and the
// idempotency keys grow to: the entries (key and value) sit in one vector, and the hash
// table holds 4-byte positions in it. A flat hash map keeps whole entries in its slots,
// and a table sized for 1.1 million keys has 2 million slots (at most 7/8 of them used):
// 80-byte idempotency entries made that 168 MB, where this takes 8 MB of positions plus the
// entries themselves. The vector is reserved as far as the table can grow before it is
// resized, so adding a key does not move them all (capacity never touched is not resident).
//
// Lookups take a string_view and make no key. Erasing moves the last entry into the hole.
// Not copyable or movable: the table's hash and equality functions point at the vector.
#ifndef CALLBACKLEDGER_PROJECTIONS_DENSE_STRING_MAP_H_
#define CALLBACKLEDGER_PROJECTIONS_DENSE_STRING_MAP_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "projections/check.h"
#include "projections/compact_string.h"

namespace callbackledger {

template <typename Value>
class DenseStringMap {
 public:
  DenseStringMap() : index_(0, Hash{&entries_}, Eq{&entries_}) {}
  DenseStringMap(const DenseStringMap&) = delete;
  DenseStringMap& operator=(const DenseStringMap&) = delete;

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  const Value* Find(std::string_view key) const {
    auto it = index_.find(View(key));
    return it == index_.end() ? nullptr : &entries_[*it].second;
  }

  void InsertOrAssign(std::string_view key, const Value& value) {
    auto it = index_.find(View(key));
    if (it != index_.end()) {
      entries_[*it].second = value;
      return;
    }
    LEDGER_CHECK(entries_.size() < std::numeric_limits<uint32_t>::max());
    if (entries_.size() == entries_.capacity()) ReserveEntries(2 * entries_.size() + 1);
    entries_.emplace_back(CompactString(key), value);
    index_.insert(static_cast<uint32_t>(entries_.size() - 1));
  }

  // False when the key is not there.
  bool Erase(std::string_view key) {
    auto it = index_.find(View(key));
    if (it == index_.end()) return false;
    const uint32_t hole = *it;
    index_.erase(it);
    const uint32_t last = static_cast<uint32_t>(entries_.size() - 1);
    if (hole != last) {
      // The last entry moves into the hole; its position in the table changes with it.
      index_.erase(index_.find(last));
      entries_[hole] = std::move(entries_[last]);
      entries_.pop_back();
      index_.insert(hole);
    } else {
      entries_.pop_back();
    }
    return true;
  }

  // Room for about `keys` keys without resizing.
  void Reserve(size_t keys) {
    index_.reserve(keys);
    ReserveEntries(keys);
  }

  void Clear() {
    index_.clear();
    entries_.clear();
  }

  // Calls each(key, value) for every entry, the key as a std::string_view, in no particular
  // order.
  template <typename Each>
  void ForEach(Each each) const {
    for (const auto& [key, value] : entries_) each(key.view(), value);
  }

 private:
  // A key of up to 15 bytes is kept in its entry; a longer one (a number index key, an
  // extension and a number, mostly is) in an allocation of its own size.
  using Entries = std::vector<std::pair<CompactString, Value>>;

  static absl::string_view View(std::string_view key) {
    return absl::string_view(key.data(), key.size());
  }

  // Positions hash and compare as the keys they point at; a lookup by key needs no
  // position.
  struct Hash {
    using is_transparent = void;
    const Entries* entries;
    size_t operator()(uint32_t position) const {
      return absl::Hash<absl::string_view>()(View((*entries)[position].first));
    }
    size_t operator()(absl::string_view key) const { return absl::Hash<absl::string_view>()(key); }
  };
  struct Eq {
    using is_transparent = void;
    const Entries* entries;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t position, absl::string_view key) const {
      return View((*entries)[position].first) == key;
    }
    bool operator()(absl::string_view key, uint32_t position) const {
      return (*this)(position, key);
    }
  };

  // The vector gets room for as many entries as the table holds before its next resize
  // (7/8 of its slots), so that it does not move every entry at the next key.
  void ReserveEntries(size_t at_least) {
    size_t room = index_.capacity() - index_.capacity() / 8;
    entries_.reserve(std::max(at_least, room));
  }

  Entries entries_;
  absl::flat_hash_set<uint32_t, Hash, Eq> index_;
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_PROJECTIONS_DENSE_STRING_MAP_H_
