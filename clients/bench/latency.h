// Latency samples of one kind of RPC, and their percentiles. Samples are microseconds kept
// in a vector (a 10-second run at a few thousand RPCs/s is a few hundred kilobytes), so
// percentiles are exact rather than bucketed.
//
// Thread-safety: Record() and Summarize() may be called from any thread.
#ifndef CALLBACKLEDGER_CLIENTS_BENCH_LATENCY_H_
#define CALLBACKLEDGER_CLIENTS_BENCH_LATENCY_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
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

// The summary of `samples` (in any order) and `errors` failed RPCs.
inline LatencySummary SummarizeSamples(std::vector<uint32_t> samples, uint64_t errors) {
  LatencySummary summary;
  summary.errors = errors;
  std::sort(samples.begin(), samples.end());
  summary.count = samples.size();
  if (samples.empty()) return summary;
  double sum = 0;
  for (uint32_t s : samples) sum += s;
  summary.mean_us = sum / static_cast<double>(samples.size());
  summary.p50_us = Quantile(samples, 0.50);
  summary.p99_us = Quantile(samples, 0.99);
  summary.p999_us = Quantile(samples, 0.999);
  summary.max_us = samples.back();
  return summary;
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
    uint64_t errors = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sorted = samples_;
      errors = errors_;
    }
    return SummarizeSamples(std::move(sorted), errors);
  }

  // How many samples and errors were recorded so far: samples are kept in the order they
  // were recorded, so the samples between two marks are those recorded in between.
  struct Mark {
    size_t samples = 0;
    uint64_t errors = 0;
  };
  Mark Now() const {
    std::lock_guard<std::mutex> lock(mu_);
    return Mark{samples_.size(), errors_};
  }

  // Appends the samples recorded between `from` and `to` (two marks of this recorder, `from`
  // the earlier) to `samples`, and adds their errors to `errors`.
  void AppendBetween(const Mark& from, const Mark& to, std::vector<uint32_t>* samples,
                     uint64_t* errors) const {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t end = std::min(to.samples, samples_.size());
    if (from.samples < end) {
      samples->insert(samples->end(), samples_.begin() + static_cast<std::ptrdiff_t>(from.samples),
                      samples_.begin() + static_cast<std::ptrdiff_t>(end));
    }
    if (to.errors > from.errors) *errors += to.errors - from.errors;
  }

 private:
  const std::string name_;
  mutable std::mutex mu_;
  std::vector<uint32_t> samples_;
  uint64_t errors_ = 0;
};

}  // namespace callbackledger::bench

#endif  // CALLBACKLEDGER_CLIENTS_BENCH_LATENCY_H_
