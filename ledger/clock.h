// Time is injected so that expiry and reports are testable without sleeping.
#ifndef CALLBACKLEDGER_LEDGER_CLOCK_H_
#define CALLBACKLEDGER_LEDGER_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace callbackledger {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch. May be called from any thread.
  virtual int64_t NowMicros() = 0;
};

// The wall clock.
class SystemClock : public Clock {
 public:
  int64_t NowMicros() override;
};

// A clock that moves only when told to; for tests.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now_micros) : now_micros_(now_micros) {}
  int64_t NowMicros() override { return now_micros_.load(); }
  void AdvanceMicros(int64_t micros) { now_micros_ += micros; }
  void SetMicros(int64_t micros) { now_micros_ = micros; }

 private:
  std::atomic<int64_t> now_micros_;
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_CLOCK_H_
