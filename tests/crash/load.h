// The crash test's load: the Journal of acknowledged operations the client threads share,
// and the Worker each thread runs, one round per start of the server, with its bounds.
#ifndef CALLBACKLEDGER_TESTS_CRASH_LOAD_H_
#define CALLBACKLEDGER_TESTS_CRASH_LOAD_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "tests/crash/operations.h"

namespace callbackledger::crash_test {

// Bounds of the load: requests a thread makes in one round, CallerIDs and open holds a
// thread keeps.
inline constexpr int kMaxOpsPerRound = 3000;
inline constexpr size_t kMaxCallerIdsPerThread = 4;
inline constexpr size_t kMaxOpenPerThread = 8;

// Acknowledged operations, shared by the threads.
class Journal {
 public:
  void Add(Operation op) {
    absl::MutexLock lock(&mu_);
    ops_.push_back(std::move(op));
  }
  std::vector<Operation> ops() const {
    absl::MutexLock lock(&mu_);
    return ops_;
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return ops_.size();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Operation> ops_ ABSL_GUARDED_BY(mu_);
};

// One client thread: its own CallerIDs and reservations, so that its requests never
// conflict with another thread's; every key unique.
class Worker {
 public:
  Worker(int index, uint64_t seed, Journal* journal, Violations* violations)
      : index_(index), random_(seed), journal_(journal), violations_(violations) {}

  // Runs one round: first the operation whose outcome the last round left unknown, then
  // new ones, until `stop`, a request that fails (the server is gone), or the bound.
  void Round(int round, std::shared_ptr<grpc::Channel> channel, const std::atomic<bool>& stop);

  bool has_pending() const { return pending_.has_value(); }
  const std::optional<Operation>& pending() const { return pending_; }
  uint64_t pending_resolved() const { return pending_resolved_; }

 private:
  // Sends `op`. False when its outcome is unknown: it is kept to be retried.
  bool Execute(Client* client, Operation op);

  // Folds an answered operation into what the thread knows, and journals it when it wrote.
  void Apply(const Operation& op);

  int64_t Draw(int64_t min, int64_t max);

  std::string NewKey();

  template <typename Request>
  Operation Make(Kind kind, std::shared_ptr<Request> request);

  Operation Next();

  struct Open {
    std::string id;
    bool rated = false;
    int64_t held = 0;  // micros
  };

  const int index_;
  std::mt19937_64 random_;
  Journal* const journal_;
  Violations* const violations_;
  int round_ = 0;
  uint64_t next_key_ = 0;
  std::vector<std::pair<uint64_t, std::string>> callerids_;
  std::vector<Open> open_;
  std::optional<Operation> pending_;
  uint64_t pending_resolved_ = 0;
};

}  // namespace callbackledger::crash_test

#endif  // CALLBACKLEDGER_TESTS_CRASH_LOAD_H_
