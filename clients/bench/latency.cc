#include "clients/bench/latency.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace callbackledger::bench {

void LatencyHistogram::Add(uint32_t micros) {
  if (micros < kCountedBelow) {
    if (counts_.empty()) counts_.assign(kCountedBelow, 0);
    ++counts_[micros];
  } else {
    slow_.push_back(micros);
  }
  ++count_;
  sum_ += micros;
}

LatencySummary LatencyHistogram::Summarize(uint64_t errors) const {
  LatencySummary summary;
  summary.errors = errors;
  summary.count = count_;
  if (count_ == 0) return summary;
  summary.mean_us = static_cast<double>(sum_) / static_cast<double>(count_);
  std::vector<uint32_t> slow = slow_;
  std::sort(slow.begin(), slow.end());
  const uint64_t counted = count_ - slow.size();
  // The sample of rank `rank` (from 1) in sorted order: among the counted ones, or else the
  // slow ones, which are all larger.
  size_t next = 0;     // the first counted microsecond not yet passed
  uint64_t below = 0;  // how many counted samples are below `next`
  auto at_rank = [&](uint64_t rank) -> uint64_t {
    if (rank > counted) return slow[rank - counted - 1];
    while (below + counts_[next] < rank) below += counts_[next++];
    return next;
  };
  // Ranks in increasing order, so the walk over the counts goes forward only.
  for (auto [q, field] :
       {std::pair{0.50, &LatencySummary::p50_us}, std::pair{0.99, &LatencySummary::p99_us},
        std::pair{0.999, &LatencySummary::p999_us}}) {
    auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
    summary.*field = at_rank(std::clamp<uint64_t>(rank, 1, count_));
  }
  summary.max_us = at_rank(count_);
  return summary;
}

void LatencyRecorder::Record(uint64_t micros, bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!ok) {
    ++errors_;
    return;
  }
  histogram_.Add(static_cast<uint32_t>(std::min<uint64_t>(micros, UINT32_MAX)));
}

LatencySummary LatencyRecorder::Summarize() const {
  LatencyHistogram copy;
  uint64_t errors = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    copy = histogram_;
    errors = errors_;
  }
  return copy.Summarize(errors);
}

LatencyRecorder::Mark LatencyRecorder::Now() const {
  Mark mark;
  std::lock_guard<std::mutex> lock(mu_);
  mark.counts = histogram_.counts_;
  mark.slow = histogram_.slow_.size();
  mark.count = histogram_.count_;
  mark.sum = histogram_.sum_;
  mark.errors = errors_;
  return mark;
}

void LatencyRecorder::AddBetween(const Mark& from, const Mark& to, LatencyHistogram* histogram,
                                 uint64_t* errors) const {
  if (to.count > from.count) {
    histogram->count_ += to.count - from.count;
    histogram->sum_ += to.sum - from.sum;
  }
  if (to.errors > from.errors) *errors += to.errors - from.errors;
  if (!to.counts.empty()) {
    if (histogram->counts_.empty()) histogram->counts_.assign(LatencyHistogram::kCountedBelow, 0);
    for (size_t i = 0; i < to.counts.size(); ++i) {
      histogram->counts_[i] += to.counts[i] - (from.counts.empty() ? 0 : from.counts[i]);
    }
  }
  if (to.slow > from.slow) {
    std::lock_guard<std::mutex> lock(mu_);
    // Slow samples are only ever appended, so those of `from` are a prefix of those of `to`.
    const auto begin = histogram_.slow_.begin() + static_cast<std::ptrdiff_t>(from.slow);
    histogram->slow_.insert(histogram->slow_.end(), begin,
                            begin + static_cast<std::ptrdiff_t>(to.slow - from.slow));
  }
}

}  // namespace callbackledger::bench
