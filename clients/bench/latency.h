// Latency samples of one kind of RPC, and their percentiles. Samples are microseconds kept
// in a vector (a 10-second run at a few thousand RPCs/s is a few hundred kilobytes), so
// percentiles are exact rather than bucketed.
//
// Thread-safety: Record() and Summarize() may be called from any thread.
#ifndef CALLBACKLEDGER_CLIENTS_BENCH_LATENCY_H_
#define CALLBACKLEDGER_CLIENTS_BENCH_LATENCY_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace callbackledger::bench {

struct LatencySummary {
  uint64_t count = 0;
  uint64_t errors = 0;
  double mean_us = 0;
  uint64_t p50_us = 0;
  uint64_t p99_us = 0;
  uint64_t p999_us = 0;
  uint64_t max_us = 0;
};

// The sample at quantile q (0 < q <= 1) of sorted samples: the smallest sample that at
// least q of all samples are less than or equal to ("nearest rank").
inline uint64_t Quantile(const std::vector<uint32_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

class LatencyRecorder {
 public:
  explicit LatencyRecorder(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  void Record(uint64_t micros, bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ok) {
      ++errors_;
      return;
    }
    samples_.push_back(static_cast<uint32_t>(std::min<uint64_t>(micros, UINT32_MAX)));
  }

  LatencySummary Summarize() const {
    std::vector<uint32_t> sorted;
    LatencySummary summary;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sorted = samples_;
      summary.errors = errors_;
    }
    std::sort(sorted.begin(), sorted.end());
    summary.count = sorted.size();
    if (sorted.empty()) return summary;
    double sum = 0;
    for (uint32_t s : sorted) sum += s;
    summary.mean_us = sum / static_cast<double>(sorted.size());
    summary.p50_us = Quantile(sorted, 0.50);
    summary.p99_us = Quantile(sorted, 0.99);
    summary.p999_us = Quantile(sorted, 0.999);
    summary.max_us = sorted.back();
    return summary;
  }

 private:
  const std::string name_;
  mutable std::mutex mu_;
  std::vector<uint32_t> samples_;
  uint64_t errors_ = 0;
};

}  // namespace callbackledger::bench

#endif  // CALLBACKLEDGER_CLIENTS_BENCH_LATENCY_H_
