// The ledger's lock types (ledger/sync.h), in whichever form this build has: Abseil's, or
// the pthread-based ones of the ThreadSanitizer tree.
#include "ledger/sync.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace callbackledger {
namespace {

struct Box {
  Mutex mu;
  int value ABSL_GUARDED_BY(mu) = 0;
  int copy ABSL_GUARDED_BY(mu) = 0;  // equal to value whenever the lock is free
};

bool IsReady(Box* box) ABSL_EXCLUSIVE_LOCKS_REQUIRED(box->mu) { return box->value >= 3; }

TEST(SyncTest, AwaitWakesOnAChangeMadeByAnotherThread) {
  Box box;
  std::thread writer([&box] {
    for (int i = 0; i < 3; ++i) {
      MutexLock lock(&box.mu);
      ++box.value;
    }
  });
  {
    MutexLock lock(&box.mu);
    box.mu.Await(Condition(&IsReady, &box));
    EXPECT_EQ(box.value, 3);
  }
  writer.join();
}

TEST(SyncTest, AwaitWithTimeoutWakesOnAChangeAndSaysSo) {
  Box box;
  std::thread writer([&box] {
    MutexLock lock(&box.mu);
    box.value = 5;
  });
  bool ready = false;
  {
    MutexLock lock(&box.mu);
    auto ready_now = [&box]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(box.mu) { return box.value == 5; };
    // Long enough never to expire on a loaded machine: the change wakes it.
    ready = box.mu.AwaitWithTimeout(Condition(&ready_now), absl::Hours(1));
  }
  writer.join();
  EXPECT_TRUE(ready);
}

TEST(SyncTest, AwaitWithTimeoutAnswersFalseWhenTheConditionNeverHolds) {
  Box box;
  MutexLock lock(&box.mu);
  bool never = false;
  EXPECT_FALSE(box.mu.AwaitWithTimeout(Condition(&never), absl::Milliseconds(20)));
  EXPECT_FALSE(box.mu.AwaitWithTimeout(Condition(&never), absl::ZeroDuration()));
  bool always = true;
  EXPECT_TRUE(box.mu.AwaitWithTimeout(Condition(&always), absl::ZeroDuration()));
}

TEST(SyncTest, ReadersShareTheLock) {
  // Every reader holds the lock until all of them hold it at once (or a minute has
  // passed): with an exclusive lock they never would.
  constexpr int kReaders = 4;
  Mutex mu;
  std::atomic<int> holding{0};
  std::atomic<bool> all_at_once{false};
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&] {
      ReaderMutexLock lock(&mu);
      ++holding;
      while (!all_at_once.load() && std::chrono::steady_clock::now() < give_up) {
        if (holding.load() == kReaders) {
          all_at_once = true;
        } else {
          std::this_thread::yield();
        }
      }
      --holding;
    });
  }
  for (std::thread& reader : readers) reader.join();
  EXPECT_TRUE(all_at_once.load());
}

TEST(SyncTest, AWriterExcludesReadersAndOtherWriters) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 500;
  Box box;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&box, t] {
      for (int i = 0; i < kRounds; ++i) {
        if (t % 2 == 0) {
          MutexLock lock(&box.mu);
          ++box.value;
          std::this_thread::yield();
          box.copy = box.value;
        } else {
          ReaderMutexLock lock(&box.mu);
          EXPECT_EQ(box.copy, box.value);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  MutexLock lock(&box.mu);
  EXPECT_EQ(box.value, kRounds * (kThreads / 2));
  EXPECT_EQ(box.copy, box.value);
}

}  // namespace
}  // namespace callbackledger
