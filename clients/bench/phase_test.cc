#include "clients/bench/phase.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace callbackledger::bench {
namespace {

// Ends units on a thread of its own, after `unit_time` each, as RPC answers would come.
class Finisher {
 public:
  explicit Finisher(std::chrono::microseconds unit_time)
      : unit_time_(unit_time), thread_([this] { Loop(); }) {}
  ~Finisher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void Later(std::function<void()> done) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back({std::chrono::steady_clock::now() + unit_time_, std::move(done)});
    }
    cv_.notify_all();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto [at, done] = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      std::this_thread::sleep_until(at);
      done();
      lock.lock();
    }
  }

  const std::chrono::microseconds unit_time_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::function<void()>>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// Records which units started, at most how many were open at once, and fails the ones
// `fails` says.
class CountingPhase : public Phase {
 public:
  CountingPhase(int slots, double max_seconds, uint64_t max_units, uint64_t max_errors,
                std::function<bool(uint64_t)> fails, Finisher* finisher, double drain_seconds = 60)
      : Phase("test", slots, max_seconds, max_units, max_errors, drain_seconds),
        fails_(std::move(fails)),
        finisher_(finisher) {}

  std::set<uint64_t> indexes() {
    std::lock_guard<std::mutex> lock(mu_);
    return indexes_;
  }
  int most_open() {
    std::lock_guard<std::mutex> lock(mu_);
    return most_open_;
  }

 protected:
  void Start(int slot, uint64_t index) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      indexes_.insert(index);
      most_open_ = std::max(most_open_, ++open_);
    }
    if (finisher_ == nullptr) return;  // never ends
    finisher_->Later([this, slot, index] {
      const bool error = fails_(index);
      if (error) NoteError(absl::StrCat("unit ", index, " failed"));
      {
        std::lock_guard<std::mutex> lock(mu_);
        --open_;
      }
      Done(slot, error);
    });
  }

 private:
  const std::function<bool(uint64_t)> fails_;
  Finisher* const finisher_;
  std::mutex mu_;
  std::set<uint64_t> indexes_;
  int open_ = 0;
  int most_open_ = 0;
};

auto Never() {
  return [](uint64_t) { return false; };
}

TEST(PhaseTest, StopsAtTheCountWithEveryUnitStartedOnce) {
  Finisher finisher(std::chrono::microseconds(100));
  CountingPhase phase(4, 600, 50, 0, Never(), &finisher);
  EXPECT_GE(phase.Run(), 0);
  std::set<uint64_t> want;
  for (uint64_t i = 0; i < 50; ++i) want.insert(i);
  EXPECT_EQ(phase.indexes(), want);
  EXPECT_EQ(phase.started(), 50u);
  EXPECT_EQ(phase.errors(), 0u);
  EXPECT_FALSE(phase.hit_error_bound());
  EXPECT_EQ(phase.first_error(), "");
}

TEST(PhaseTest, NeverHasMoreUnitsOpenThanSlots) {
  Finisher finisher(std::chrono::microseconds(200));
  CountingPhase phase(3, 600, 60, 0, Never(), &finisher);
  EXPECT_GE(phase.Run(), 0);
  EXPECT_EQ(phase.most_open(), 3);
}

TEST(PhaseTest, StopsAtTheDeadlineWhateverTheCount) {
  Finisher finisher(std::chrono::microseconds(1000));
  CountingPhase phase(2, 0.2, std::numeric_limits<uint64_t>::max(), 0, Never(), &finisher);
  const double seconds = phase.Run();
  // No unit starts after 0.2 s; the last ones end a unit's time later.
  EXPECT_GE(seconds, 0.2);
  EXPECT_LT(seconds, 30);
  EXPECT_GT(phase.started(), 0u);
  EXPECT_LE(phase.started(), 2 * 200u + 2);  // a unit takes at least 1 ms on each slot
}

TEST(PhaseTest, StopsOnceMoreUnitsFailedThanAllowedAndKeepsTheFirstError) {
  Finisher finisher(std::chrono::microseconds(100));
  CountingPhase phase(
      1, 600, 1000, 5, [](uint64_t index) { return index >= 10; }, &finisher);
  EXPECT_GE(phase.Run(), 0);
  // Units 0-9 pass, 10-15 fail: the sixth failure is one more than the five allowed.
  EXPECT_EQ(phase.errors(), 6u);
  EXPECT_TRUE(phase.hit_error_bound());
  EXPECT_EQ(phase.started(), 16u);
  EXPECT_EQ(phase.first_error(), "unit 10 failed");
}

TEST(PhaseTest, AtTheErrorBoundButNotOverItGoesOn) {
  Finisher finisher(std::chrono::microseconds(100));
  CountingPhase phase(
      2, 600, 40, 5, [](uint64_t index) { return index % 10 == 0; }, &finisher);
  EXPECT_GE(phase.Run(), 0);
  EXPECT_EQ(phase.errors(), 4u);  // units 0, 10, 20 and 30
  EXPECT_FALSE(phase.hit_error_bound());
  EXPECT_EQ(phase.started(), 40u);
}

TEST(PhaseTest, UnitsThatNeverEndAreGivenUpAfterTheDrainTime) {
  CountingPhase phase(2, 0.05, 10, 0, Never(), nullptr, /*drain_seconds=*/0.1);
  EXPECT_LT(phase.Run(), 0);
  EXPECT_EQ(phase.started(), 2u);  // one a slot, then nothing ended
}

}  // namespace
}  // namespace callbackledger::bench
