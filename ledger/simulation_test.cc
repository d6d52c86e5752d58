// A deterministic, seeded, randomized simulation of the call-credit protocol (SPEC sections
// 2, 3 and 5), in the style of TigerBeetle's simulator: thousands of random operations
// (Reserve, Extend, Settle, Release, SyncReservations, expiry, recharges, status and PIN
// changes, Authorize, and retries of earlier calls with the same and with other arguments)
// run against a real Ledger on a fresh RocksDB directory and a fake clock. Every answer is
// checked against a simple reference model, and after every step so is every CallerID:
// credit left = recharges - charges, available = credit left - open holds >= 0, holds gone
// once they expired, retries answered from the log without writing anything. At the end
// the ledger is reopened (every CallerID must be equal) and the projections are verified
// against a replay of the log.
// The model and the simulation itself are in ledger/testing/simulation.h and
// ledger/testing/simulation*.cc; this file runs them for each seed.
//
// A seed reproduces a run exactly (std::mt19937_64 and our own bounded draws, no
// std::uniform_*_distribution). A failure names its seed and step; replay it with
//   SIMULATION_SEED=<seed> ledger/simulation_test
// and SIMULATION_STEPS=<n> to change the number of random steps per seed.
#include "ledger/testing/simulation.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace callbackledger::simulation {

using ::absl::StrCat;
namespace {

std::vector<uint64_t> Seeds() {
  if (const char* seed = getenv("SIMULATION_SEED"); seed != nullptr && *seed != '\0') {
    return {std::strtoull(seed, nullptr, 0)};
  }
  return std::vector<uint64_t>(std::begin(kDefaultSeeds), std::end(kDefaultSeeds));
}

int Steps() {
  if (const char* steps = getenv("SIMULATION_STEPS"); steps != nullptr && *steps != '\0') {
    return std::max(1, atoi(steps));
  }
  return kDefaultSteps;
}

TEST(SimulationTest, CallCreditProtocolAgreesWithTheModel) {
  for (uint64_t seed : Seeds()) {
    SCOPED_TRACE(StrCat("seed=", seed, " (replay: SIMULATION_SEED=", seed, ")"));
    Simulation simulation(seed, Steps());
    simulation.Run();
  }
}

}  // namespace
}  // namespace callbackledger::simulation
