#include "server/pin_rate_limiter.h"

#include <algorithm>

namespace callbackledger {

PinRateLimiter::PinRateLimiter(double per_second, double burst)
    : per_second_(std::max(0.0, per_second)), burst_(std::max(1.0, burst)) {}

double PinRateLimiter::Refilled(const Bucket& bucket, absl::Time now) const {
  const double seconds = std::max(0.0, absl::ToDoubleSeconds(now - bucket.updated));
  return std::min(burst_, bucket.tokens + seconds * per_second_);
}

void PinRateLimiter::ForgetFullBuckets(absl::Time now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    auto current = it++;
    if (Refilled(current->second, now) >= burst_) buckets_.erase(current);
  }
}

bool PinRateLimiter::Allow(const std::string& identity, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto found = buckets_.find(identity);
  if (found == buckets_.end()) {
    if (buckets_.size() >= kMaxIdentities) ForgetFullBuckets(now);
    // Still full of busy buckets: refuse rather than grow without bound.
    if (buckets_.size() >= kMaxIdentities) return false;
    found = buckets_.emplace(identity, Bucket{burst_, now}).first;
  }
  Bucket& bucket = found->second;
  bucket.tokens = Refilled(bucket, now);
  bucket.updated = std::max(bucket.updated, now);
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

void PinRateLimiter::Refund(const std::string& identity) {
  absl::MutexLock lock(&mu_);
  auto found = buckets_.find(identity);
  if (found != buckets_.end()) found->second.tokens = std::min(burst_, found->second.tokens + 1.0);
}

}  // namespace callbackledger
