// One phase of ledger-bench (the preload, the calls, the floor, the reservations left open):
// units of work run on a fixed number of slots, each slot starting its next unit when the
// previous one is done, until the time bound, the count bound or the error bound is hit.
// Every load loop of the tool is bounded by it, in count and in time.
#ifndef CALLBACKLEDGER_CLIENTS_BENCH_PHASE_H_
#define CALLBACKLEDGER_CLIENTS_BENCH_PHASE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

namespace callbackledger::bench {

class Phase {
 public:
  using Clock = std::chrono::steady_clock;

  // `slots` units at once, for at most `max_seconds` (no unit starts after that), at most
  // `max_units` units in all; once more than `max_errors` units failed, no more start.
  // `drain_seconds`: how long Run waits past the deadline for the open units to end.
  Phase(std::string name, int slots, double max_seconds, uint64_t max_units, uint64_t max_errors,
        double drain_seconds = 60);
  virtual ~Phase() = default;

  // Runs the phase and returns its wall time in seconds, from the first start to the last
  // unit done. Returns a negative number when units were still open `drain_seconds` after
  // the deadline (their Done may still come: the phase must outlive them).
  double Run();

  uint64_t started() const { return next_.load() < max_units_ ? next_.load() : max_units_; }
  uint64_t errors() const { return errors_.load(); }
  bool hit_error_bound() const { return errors_.load() > max_errors_; }
  std::string first_error();

 protected:
  // Starts unit `index` on `slot`; must lead to exactly one Done(slot, ...) later, from
  // this thread or another.
  virtual void Start(int slot, uint64_t index) = 0;

  void Done(int slot, bool error);

  Clock::time_point deadline() const { return deadline_; }

  // Keeps the first error's description, for the report.
  void NoteError(std::string what);

 private:
  void Next(int slot);

  const std::string name_;
  const int slots_;
  const Clock::duration max_time_;
  const uint64_t max_units_;
  const uint64_t max_errors_;
  const Clock::duration drain_time_;
  Clock::time_point start_;
  Clock::time_point deadline_;
  Clock::time_point end_;
  std::atomic<uint64_t> next_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;
  std::mutex error_mu_;
  std::string first_error_;
};

}  // namespace callbackledger::bench

#endif  // CALLBACKLEDGER_CLIENTS_BENCH_PHASE_H_
