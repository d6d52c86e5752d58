// What an idempotency key remembers: the fingerprint of the request that used it first and
// the event that answered it. The in-memory form of store::v1::IdempotencyRow, without a
// message's allocations: a group's Delta holds one for each key it writes or reads back
// from the idempotency family, and a replay makes one an event.
#ifndef CALLBACKLEDGER_PROJECTIONS_IDEMPOTENCY_H_
#define CALLBACKLEDGER_PROJECTIONS_IDEMPOTENCY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "callbackledger/store/v1/store.pb.h"

namespace callbackledger {

class IdempotencyEntry {
 public:
  // A request's fingerprint is a 32-byte keyed hash (Secrets::Fingerprint).
  static constexpr size_t kMaxFingerprintBytes = 32;

  // The fingerprint must be at most kMaxFingerprintBytes long (checked).
  IdempotencyEntry(std::string_view fingerprint, uint64_t sequence);
  // nullopt when the row's fingerprint is longer than kMaxFingerprintBytes.
  static std::optional<IdempotencyEntry> FromRow(const store::v1::IdempotencyRow& row);

  std::string_view fingerprint() const { return std::string_view(bytes_.data(), size_); }
  uint64_t sequence() const { return sequence_; }
  // Fills `row` (reused by callers that serialize many): the same bytes as the row it
  // was made from.
  void ToRow(store::v1::IdempotencyRow* row) const;

  bool operator==(const IdempotencyEntry& other) const {
    return sequence_ == other.sequence_ && fingerprint() == other.fingerprint();
  }

 private:
  uint64_t sequence_ = 0;
  uint8_t size_ = 0;
  std::array<char, kMaxFingerprintBytes> bytes_{};
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_PROJECTIONS_IDEMPOTENCY_H_
