// The ledger's lock types: Mutex, MutexLock, ReaderMutexLock and Condition.
//
// In every normal build they ARE Abseil's (aliases: no cost, nothing changes). In the
// ThreadSanitizer tree (LEDGER_SYNC_FOR_TSAN, set by cmake/sanitizers.cmake when
// LEDGER_SANITIZE contains "thread") they are a small implementation of the same interface
// over std::shared_mutex and std::condition_variable_any, i.e. pthread rwlocks and condition
// variables, which ThreadSanitizer intercepts. Debian's Abseil is not compiled with
// ThreadSanitizer, so its Mutex (a futex of its own) is invisible to it: every access
// guarded by an absl::Mutex would be reported as a race (docs/reliability.md).
//
// The implementation keeps Abseil's semantics where the ledger relies on them: readers
// share, Await(cond) returns once cond holds (re-evaluated after every exclusive unlock),
// AwaitWithTimeout answers whether cond holds. It keeps the thread-safety attributes, so
// ABSL_GUARDED_BY and clang's -Wthread-safety work the same in both builds.
#ifndef CALLBACKLEDGER_LEDGER_SYNC_H_
#define CALLBACKLEDGER_LEDGER_SYNC_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

#if defined(__SANITIZE_THREAD__)
#define CALLBACKLEDGER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CALLBACKLEDGER_TSAN 1
#endif
#endif
#if defined(CALLBACKLEDGER_TSAN) && !defined(LEDGER_SYNC_FOR_TSAN)
#error \
    "a ThreadSanitizer build needs LEDGER_SYNC_FOR_TSAN (configure with -DLEDGER_SANITIZE=thread)"
#endif

#ifdef LEDGER_SYNC_FOR_TSAN
#include <chrono>
#include <condition_variable>
#include <functional>
#include <shared_mutex>
#include <utility>

#include "absl/time/time.h"
#endif

namespace callbackledger {

#ifndef LEDGER_SYNC_FOR_TSAN

using Mutex = absl::Mutex;
using MutexLock = absl::MutexLock;
using ReaderMutexLock = absl::ReaderMutexLock;
using Condition = absl::Condition;

#else

// A predicate over state guarded by a Mutex, built as absl::Condition is.
class Condition {
 public:
  // Calls func(arg). Like Abseil's, the call is exempt from the thread-safety analysis:
  // Await evaluates it with the lock held.
  template <typename T>
  Condition(bool (*func)(T*), T* arg)
      : eval_([func, arg]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return func(arg); }) {}
  // Calls (*callable)(); the callable must outlive the Condition.
  template <typename T, typename = decltype(static_cast<bool>(std::declval<const T&>()()))>
  explicit Condition(const T* callable)
      : eval_([callable]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return (*callable)(); }) {}
  // Reads *flag.
  explicit Condition(const bool* flag) : eval_([flag] { return *flag; }) {}

  bool Eval() const { return eval_(); }

 private:
  std::function<bool()> eval_;
};

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  // Wakes every Await, which re-evaluates its condition: only a writer changes what a
  // condition reads.
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    mu_.unlock();
    changed_.notify_all();
  }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.lock_shared(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock_shared(); }

  // Releases the (exclusively held) lock until `cond` holds, and returns with it held.
  void Await(const Condition& cond) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    changed_.notify_all();  // the caller may have changed what other waiters wait for
    while (!cond.Eval()) changed_.wait(mu_);
  }

  // The same, for at most `timeout`; returns whether `cond` holds.
  bool AwaitWithTimeout(const Condition& cond, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
    changed_.notify_all();
    while (!cond.Eval()) {
      if (changed_.wait_until(mu_, deadline) == std::cv_status::timeout) return cond.Eval();
    }
    return true;
  }

 private:
  std::shared_mutex mu_;
  std::condition_variable_any changed_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE ReaderMutexLock {
 public:
  explicit ReaderMutexLock(Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) { mu_->ReaderLock(); }
  ~ReaderMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  Mutex* const mu_;
};

#endif  // LEDGER_SYNC_FOR_TSAN

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_SYNC_H_
