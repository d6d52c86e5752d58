// A fixed piece of work, timed in the CPU time of the thread that does it, at the end of
// each interval (ledger-bench --interval_seconds): whether the machine itself ran slower in
// an interval, which per-RPC figures alone cannot tell from the ledger doing more work.
// On a virtual machine the host's other guests share its cores, caches and memory, and a
// busy neighbour slows every instruction of ours without showing as steal time; a long run
// whose CPU per RPC rises together with these figures was slowed by the machine, one whose
// CPU per RPC rises while they stay flat was slowed by the ledger.
//
// Two figures: compute (hashing a buffer that fits in a core's own cache, nanoseconds per
// KiB) and memory (a chain of dependent loads at random over a table larger than the
// last-level cache, nanoseconds per load). CPU time, not wall time: a probe the scheduler
// preempts is not counted as slow.
#ifndef CALLBACKLEDGER_CLIENTS_BENCH_HOST_PROBE_H_
#define CALLBACKLEDGER_CLIENTS_BENCH_HOST_PROBE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace callbackledger::bench {

struct HostSpeed {
  double compute_ns_per_kib = 0;
  double memory_ns_per_load = 0;
};

class HostProbe {
 public:
  // Defaults: 64 MiB of table (above the 32 MiB last-level cache of the machine in
  // docs/benchmarks.md), 40,000 loads and 2 MiB hashed a probe: about 4 ms of one CPU.
  static constexpr size_t kDefaultTableBytes = size_t{64} << 20;
  static constexpr size_t kDefaultLoads = 40000;
  static constexpr size_t kDefaultComputeKib = 2048;

  // Builds the table (table_bytes / 4 slots, at least 2): one random cycle through all of its
  // slots, so the chain visits every slot before it comes back and no prefetcher can guess
  // the next.
  explicit HostProbe(size_t table_bytes = kDefaultTableBytes, size_t loads = kDefaultLoads,
                     size_t compute_kib = kDefaultComputeKib, uint64_t seed = 1);

  HostSpeed Measure();

  // The slot after `slot` in the cycle (for the tests).
  uint32_t Next(uint32_t slot) const { return next_[slot]; }
  size_t slots() const { return next_.size(); }

 private:
  std::vector<uint32_t> next_;
  std::vector<uint64_t> buffer_;  // hashed by the compute part: 64 KiB
  const size_t loads_;
  const size_t compute_kib_;
  uint32_t position_ = 0;  // where the chain stopped, so each probe walks on
  uint64_t sink_ = 0;      // results kept so the compiler cannot drop the work
};

}  // namespace callbackledger::bench

#endif  // CALLBACKLEDGER_CLIENTS_BENCH_HOST_PROBE_H_
