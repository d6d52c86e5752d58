#include "ledger/clock.h"

#include <chrono>

namespace callbackledger {

int64_t SystemClock::NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace callbackledger
