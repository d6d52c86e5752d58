// Latency samples of one kind of RPC, and their percentiles. Percentiles are exact (nearest
// rank over every sample), in memory that does not grow with the run: a count for each
// microsecond below LatencyHistogram::kCountedBelow (65.536 ms; 512 KiB), and each slower
// sample itself. A run of hours at tens of thousands of RPCs a second takes the same memory as
// one of seconds, unless most of its RPCs take longer than that.
//
// Thread-safety: LatencyRecorder's methods may be called from any thread; a LatencyHistogram
// is not shared.
#ifndef CALLBACKLEDGER_CLIENTS_BENCH_LATENCY_H_
#define CALLBACKLEDGER_CLIENTS_BENCH_LATENCY_H_

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

// Latencies in microseconds, kept exactly.
class LatencyHistogram {
 public:
  // Samples below this are counted, one count a microsecond; the others are kept one by one.
  static constexpr uint32_t kCountedBelow = uint32_t{1} << 16;

  void Add(uint32_t micros);

  uint64_t count() const { return count_; }

  // Its summary, with `errors` failed RPCs. A percentile q is the smallest sample that at
  // least q of all samples are less than or equal to ("nearest rank").
  LatencySummary Summarize(uint64_t errors) const;

 private:
  friend class LatencyRecorder;

  std::vector<uint64_t> counts_;  // kCountedBelow of them once a sample is counted, else none
  std::vector<uint32_t> slow_;    // the samples of kCountedBelow or more, in the order recorded
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
};

class LatencyRecorder {
 public:
  explicit LatencyRecorder(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  void Record(uint64_t micros, bool ok);

  LatencySummary Summarize() const;

  // What was recorded so far. The samples between two marks are those recorded in between.
  struct Mark {
    std::vector<uint64_t> counts;  // a copy of the recorder's counts (empty: none counted)
    size_t slow = 0;               // how many slow samples it had
    uint64_t count = 0;
    uint64_t sum = 0;
    uint64_t errors = 0;
  };
  Mark Now() const;

  // Adds the samples recorded between `from` and `to` (two marks of this recorder, `from` the
  // earlier) to `histogram`, and their errors to `errors`.
  void AddBetween(const Mark& from, const Mark& to, LatencyHistogram* histogram,
                  uint64_t* errors) const;

 private:
  const std::string name_;
  mutable std::mutex mu_;
  LatencyHistogram histogram_;
  uint64_t errors_ = 0;
};

}  // namespace callbackledger::bench

#endif  // CALLBACKLEDGER_CLIENTS_BENCH_LATENCY_H_
