// The committer: ONE thread drains a bounded queue of commands, decides each against the
// in-memory state (seeing the changes of the commands before it in the same group),
// writes the group's events, projection rows and idempotency keys as ONE WriteBatch with
// sync=true, then folds the group's changes into the state and answers every command of
// the group. It never waits to fill a group: under light load a group is one command.
//
// A command whose deadline has passed when its group is taken from the queue is answered
// DEADLINE_EXCEEDED without being decided (by the injected clock).
//
// A failed write or sync is sticky: the group is answered UNAVAILABLE with an unknown
// outcome (its bytes may have reached the disk, so a restart may find it), its changes
// never reach the in-memory state, and every later command is refused. Reads go on.
#ifndef CALLBACKLEDGER_LEDGER_COMMITTER_H_
#define CALLBACKLEDGER_LEDGER_COMMITTER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "ledger/clock.h"
#include "ledger/commands.h"
#include "ledger/decide.h"
#include "ledger/store.h"
#include "ledger/sync.h"
#include "projections/state.h"

namespace callbackledger {

struct CommitterOptions {
  size_t queue_capacity = 10000;
  size_t max_group_size = 1000;
};

// What one group did, for monitoring (see Committer::SetGroupObserver).
struct GroupStats {
  size_t commands = 0;  // commands answered by the group
  size_t events = 0;    // events the group wrote (0: it had nothing to write)
  // How long the synced WriteBatch write took, in microseconds of the steady clock; -1
  // when the group wrote nothing.
  int64_t write_micros = -1;
  // The write's error when it failed (the failure that makes the ledger refuse writes).
  absl::Status write_status;
};

class Committer {
 public:
  // `state` is guarded by `state_mu` for readers; the committer is its only writer.
  Committer(Store* store, State* state, Mutex* state_mu, Clock* clock, LedgerRules rules,
            CommitterOptions options);
  ~Committer();  // Stop()s

  // Queues a command. UNAVAILABLE (and `done` is not called) when the queue is full,
  // the committer is stopping, or an earlier write failed.
  absl::Status Submit(Command command);

  // Answers every queued command, then ends the thread. Idempotent.
  void Stop();

  // The sticky write error, OK while writes succeed.
  absl::Status write_error() const;
  size_t queue_depth() const;

  // Called on the committer thread after each durable group, with its events.
  void SetCommitListener(std::function<void(const std::vector<v1::Event>&)> listener);

  // Called on the committer thread after each group, durable or not, once its commands
  // are answered. Must not block.
  void SetGroupObserver(std::function<void(const GroupStats&)> observer);

 private:
  void Run();
  void CommitGroup(std::vector<Command>* group);

  Store* const store_;
  State* const state_;
  Mutex* const state_mu_;
  Clock* const clock_;
  const LedgerRules rules_;
  const CommitterOptions options_;

  mutable Mutex mu_;
  std::deque<Command> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status write_error_ ABSL_GUARDED_BY(mu_);
  std::function<void(const std::vector<v1::Event>&)> listener_ ABSL_GUARDED_BY(mu_);
  // Shared, so that each group copies a pointer rather than the function.
  std::shared_ptr<const std::function<void(const GroupStats&)>> observer_ ABSL_GUARDED_BY(mu_);

  // Owned by the committer thread.
  int64_t last_event_micros_ = 0;
  Delta delta_;
  std::thread thread_;
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_COMMITTER_H_
