// Per-identity token buckets of failed PIN attempts, so PINs cannot be guessed quickly
// even across many CallerIDs (the ledger's lockout counts per CallerID). An attempt takes
// a token before it is checked; one that turns out right gives it back, so a PBX node whose
// callers type their PINs correctly is never slowed down.
#ifndef CALLBACKLEDGER_SERVER_PIN_RATE_LIMITER_H_
#define CALLBACKLEDGER_SERVER_PIN_RATE_LIMITER_H_

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace callbackledger {

class PinRateLimiter {
 public:
  // Buckets kept at most; beyond, the fullest (idle) ones are forgotten first. Identities
  // come from the access table, so this bound is rarely reached.
  static constexpr size_t kMaxIdentities = 10000;

  // `per_second` attempts refill each bucket, which holds at most `burst` (>= 1).
  PinRateLimiter(double per_second, double burst);

  // Takes one attempt from `identity`'s bucket at time `now`; false when it is empty.
  bool Allow(const std::string& identity, absl::Time now);
  // Gives back the attempt Allow took (the PIN was right).
  void Refund(const std::string& identity);

  double per_second() const { return per_second_; }
  double burst() const { return burst_; }

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  void ForgetFullBuckets(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  double Refilled(const Bucket& bucket, absl::Time now) const;

  const double per_second_;
  const double burst_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_PIN_RATE_LIMITER_H_
