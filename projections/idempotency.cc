#include "projections/idempotency.h"

#include <algorithm>

#include "projections/check.h"

namespace callbackledger {

IdempotencyEntry::IdempotencyEntry(std::string_view fingerprint, uint64_t sequence)
    : sequence_(sequence), size_(static_cast<uint8_t>(fingerprint.size())) {
  LEDGER_CHECK(fingerprint.size() <= kMaxFingerprintBytes);
  std::copy(fingerprint.begin(), fingerprint.end(), bytes_.begin());
}

std::optional<IdempotencyEntry> IdempotencyEntry::FromRow(const store::v1::IdempotencyRow& row) {
  if (row.fingerprint().size() > kMaxFingerprintBytes) return std::nullopt;
  return IdempotencyEntry(row.fingerprint(), row.sequence());
}

void IdempotencyEntry::ToRow(store::v1::IdempotencyRow* row) const {
  row->set_fingerprint(fingerprint().data(), fingerprint().size());
  row->set_sequence(sequence_);
}

}  // namespace callbackledger
