#include "clients/bench/host_probe.h"

#include <time.h>

#include <algorithm>
#include <random>

namespace callbackledger::bench {
namespace {

constexpr size_t kBufferWords = 64 * 1024 / sizeof(uint64_t);

// This thread's CPU time, in nanoseconds.
int64_t ThreadCpuNanos() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

}  // namespace

HostProbe::HostProbe(size_t table_bytes, size_t loads, size_t compute_kib, uint64_t seed)
    : next_(std::max<size_t>(2, table_bytes / sizeof(uint32_t))),
      buffer_(kBufferWords),
      loads_(std::max<size_t>(1, loads)),
      compute_kib_(std::max<size_t>(1, compute_kib)) {
  std::mt19937_64 random(seed);
  // Sattolo's shuffle of the identity: a uniformly random permutation with a single cycle.
  for (size_t i = 0; i < next_.size(); ++i) next_[i] = static_cast<uint32_t>(i);
  for (size_t i = next_.size() - 1; i > 0; --i) {
    std::uniform_int_distribution<size_t> pick(0, i - 1);
    std::swap(next_[i], next_[pick(random)]);
  }
  for (uint64_t& word : buffer_) word = random();
}

HostSpeed HostProbe::Measure() {
  HostSpeed speed;
  // Compute: four independent lanes of multiply-and-rotate over the buffer, which stays in
  // the core's own cache after the first pass.
  const size_t passes = std::max<size_t>(1, compute_kib_ / (kBufferWords * 8 / 1024));
  uint64_t lanes[4] = {1, 2, 3, 4};
  int64_t started = ThreadCpuNanos();
  for (size_t pass = 0; pass < passes; ++pass) {
    for (size_t i = 0; i + 4 <= buffer_.size(); i += 4) {
      for (int lane = 0; lane < 4; ++lane) {
        const uint64_t mixed = (lanes[lane] ^ buffer_[i + lane]) * 0x9E3779B97F4A7C15ull;
        lanes[lane] = (mixed << 31) | (mixed >> 33);
      }
    }
  }
  int64_t elapsed = ThreadCpuNanos() - started;
  const double kib = static_cast<double>(passes * kBufferWords * 8) / 1024;
  speed.compute_ns_per_kib = static_cast<double>(elapsed) / kib;
  sink_ += lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3];

  // Memory: each load's address is the value of the one before.
  uint32_t slot = position_;
  started = ThreadCpuNanos();
  for (size_t i = 0; i < loads_; ++i) slot = next_[slot];
  elapsed = ThreadCpuNanos() - started;
  position_ = slot;
  sink_ += slot;
  speed.memory_ns_per_load = static_cast<double>(elapsed) / static_cast<double>(loads_);
  return speed;
}

}  // namespace callbackledger::bench
