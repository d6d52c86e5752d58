#include "clients/bench/host_probe.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace callbackledger::bench {
namespace {

// The chain of loads is one cycle through every slot: it visits each exactly once before it
// comes back, so no part of the table is left out of the walk and no short loop stays in the
// cache.
TEST(HostProbeTest, TheTableIsOneCycleThroughEverySlot) {
  for (uint64_t seed : {1, 2, 3}) {
    HostProbe probe(4096 * sizeof(uint32_t), 100, 64, seed);
    ASSERT_EQ(probe.slots(), 4096u);
    std::vector<bool> seen(probe.slots(), false);
    uint32_t slot = 0;
    for (size_t step = 0; step < probe.slots(); ++step) {
      ASSERT_FALSE(seen[slot]) << "slot " << slot << " again after " << step << " steps";
      seen[slot] = true;
      slot = probe.Next(slot);
      ASSERT_LT(slot, probe.slots());
    }
    EXPECT_EQ(slot, 0u) << "the walk does not come back to where it began";
  }
}

// Two seeds make two different cycles (the order is random, not a stride).
TEST(HostProbeTest, TheOrderIsNotAStride) {
  HostProbe probe(4096 * sizeof(uint32_t), 100, 64, 7);
  int next_door = 0;
  for (uint32_t slot = 0; slot < probe.slots(); ++slot) {
    if (probe.Next(slot) == slot + 1) ++next_door;
  }
  EXPECT_LT(next_door, 20);  // about one expected at random
  HostProbe other(4096 * sizeof(uint32_t), 100, 64, 8);
  int same = 0;
  for (uint32_t slot = 0; slot < probe.slots(); ++slot)
    same += probe.Next(slot) == other.Next(slot);
  EXPECT_LT(same, 20);
}

// A probe gives finite, positive times; a table far beyond the caches costs more a load than
// one that fits in the first-level cache, which is what makes the figure a measure of memory.
TEST(HostProbeTest, MeasuresComputeAndMemory) {
  HostProbe small(1024 * sizeof(uint32_t), 200000, 256, 1);
  HostProbe large(size_t{64} << 20, 200000, 256, 1);
  // The lowest of a few probes: another test or process on the machine only adds time.
  double small_ns = 1e9, large_ns = 1e9;
  for (int i = 0; i < 5; ++i) {
    const HostSpeed s = small.Measure();
    const HostSpeed l = large.Measure();
    ASSERT_TRUE(std::isfinite(s.compute_ns_per_kib) && s.compute_ns_per_kib > 0);
    ASSERT_TRUE(std::isfinite(l.memory_ns_per_load) && l.memory_ns_per_load > 0);
    small_ns = std::min(small_ns, s.memory_ns_per_load);
    large_ns = std::min(large_ns, l.memory_ns_per_load);
  }
  EXPECT_GT(large_ns, 2 * small_ns)
      << "loads over 64 MiB " << large_ns << " ns, over 4 KiB " << small_ns << " ns";
}

}  // namespace
}  // namespace callbackledger::bench
