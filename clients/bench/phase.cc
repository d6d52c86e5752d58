#include "clients/bench/phase.h"

#include <iostream>
#include <utility>

namespace callbackledger::bench {
namespace {

Phase::Clock::duration FromSeconds(double seconds) {
  return std::chrono::duration_cast<Phase::Clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

Phase::Phase(std::string name, int slots, double max_seconds, uint64_t max_units,
             uint64_t max_errors, double drain_seconds)
    : name_(std::move(name)),
      slots_(slots),
      max_time_(FromSeconds(max_seconds)),
      max_units_(max_units),
      max_errors_(max_errors),
      drain_time_(FromSeconds(drain_seconds)) {}

double Phase::Run() {
  start_ = Clock::now();
  deadline_ = start_ + max_time_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_ = slots_;
  }
  for (int slot = 0; slot < slots_; ++slot) Next(slot);
  std::unique_lock<std::mutex> lock(mu_);
  // Every RPC has a deadline, so the slots drain soon after ours.
  const bool drained =
      cv_.wait_until(lock, deadline_ + drain_time_, [this] { return active_ == 0; });
  if (!drained) {
    stop_ = true;
    std::cerr << name_ << ": units still open "
              << std::chrono::duration<double>(drain_time_).count() << " s after the deadline\n";
    return -1;
  }
  return std::chrono::duration<double>(end_ - start_).count();
}

std::string Phase::first_error() {
  std::lock_guard<std::mutex> lock(error_mu_);
  return first_error_;
}

void Phase::Done(int slot, bool error) {
  if (error && errors_.fetch_add(1) + 1 > max_errors_) stop_ = true;
  Next(slot);
}

void Phase::NoteError(std::string what) {
  std::lock_guard<std::mutex> lock(error_mu_);
  if (first_error_.empty()) first_error_ = std::move(what);
}

void Phase::Next(int slot) {
  if (!stop_.load() && Clock::now() < deadline_) {
    const uint64_t index = next_.fetch_add(1);
    if (index < max_units_) {
      Start(slot, index);
      return;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (--active_ == 0) {
    end_ = Clock::now();
    cv_.notify_all();
  }
}

}  // namespace callbackledger::bench
