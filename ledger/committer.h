// The committer: drains a bounded queue of commands, decides each against the in-memory
// state (seeing the changes of the commands before it), writes each group's events,
// projection rows and idempotency keys as ONE WriteBatch with sync=true, then folds the
// group's changes into the state and answers every command of the group. It never waits
// to fill a group: under light load a group is one command.
//
// With one thread (CommitterOptions::threads = 1, the default) the committer is serial:
// the thread takes what is queued, decides it, writes and syncs it, answers it, and takes
// again. With two, it is pipelined, two groups deep, the threads taking turns. While group N is
// being written and synced by one thread, the other takes the commands that arrive from the queue
// and decides them as group N+1 against the state plus N's changes (its Delta, not yet durable, so
// not yet in the state: see View), applying their events to N+1's own Delta. It keeps taking and
// deciding arrivals into N+1 until N is done, so N+1 holds every command that arrived during N's
// sync, as the serial committer's next group would, but is already decided when its turn to write
// comes. When N is durable, its Delta is merged into the state (under `state_mu`, so readers only
// ever see durable changes); then N+1 is written, and meanwhile N's commands are answered. Groups
// are written, merged and answered in decision order: the log order is the decision order and
// sequence numbers have no gaps. A thread that finds the queue empty and nothing being written
// writes its group itself at once (no hand-off between threads).
//
// An idle committer (nothing queued, nothing being decided, written or answered) is led by
// the caller (CommitterOptions::commit_when_idle, the default): the thread that submits the
// command takes the next ticket and decides, writes, syncs and answers that group itself,
// exactly as a committer thread would, before Submit returns. At one command in flight this
// saves two thread hand-offs a write (to the committer thread and back to a gRPC thread),
// each a futex wake-up. Commands that arrive meanwhile queue up and are taken by the
// committer's threads, decided on top of the led group, written after it: a leader is one
// more participant taking its turn, so the order of the log and of the answers is the same.
//
// A command whose deadline has passed when it is taken from the queue is answered
// DEADLINE_EXCEEDED without being decided (by the injected clock).
//
// A failed write or sync is sticky: the group is answered UNAVAILABLE with an unknown
// outcome (its bytes may have reached the disk, so a restart may find it), its changes
// never reach the in-memory state, and every later command is refused, the group already
// decided on top of it included: that group is never written. Reads go on.
#ifndef CALLBACKLEDGER_LEDGER_COMMITTER_H_
#define CALLBACKLEDGER_LEDGER_COMMITTER_H_

#include <cstddef>
#include <cstdint>
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
  // 1: serial; 2: pipelined (the next group is decided while one is synced). On an idle
  // 2-CPU machine the serial committer served as much or more (docs/benchmarks.md).
  int threads = 1;
  // When the committer is idle (nothing queued, collecting, being written or answered), the
  // thread that submits a command commits it itself: decides, writes, syncs and answers it
  // before Submit returns, with no hand-off to the committer's thread and back.
  bool commit_when_idle = true;
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
  // the committer is stopping, or an earlier write failed. With
  // CommitterOptions::commit_when_idle, an idle committer's group is led by the caller:
  // `done` has been called when Submit returns OK.
  absl::Status Submit(Command command);

  // Answers every queued command, then ends the threads, once any group a caller leads is
  // answered too. Idempotent.
  void Stop();

  // The sticky write error, OK while writes succeed.
  absl::Status write_error() const;
  size_t queue_depth() const;

  // Called after each durable group, with its events, before its commands are answered: in
  // log order, one call at a time (on either of the committer's threads).
  void SetCommitListener(std::function<void(const std::vector<v1::Event>&)> listener);

  // Called after each group, durable or not, once its commands are answered: in order,
  // one call at a time. Must not block.
  void SetGroupObserver(std::function<void(const GroupStats&)> observer);

 private:
  struct Group;  // one group on its way through the pipeline (committer.cc)

  void Run();
  void Commit(Group* group);
  void Lead();
  bool Take(Group* group);
  void Collect(Group* group);
  void DecideFrom(Group* group, size_t first);
  void DecideCommand(View* view, Group* group, size_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(decide_mu_);
  void Write(Group* group);
  void Drop(Group* group, const absl::Status& status, bool every_command);
  void Announce(Group* group);

  Store* const store_;
  State* const state_;
  Mutex* const state_mu_;
  Clock* const clock_;
  const LedgerRules rules_;
  const CommitterOptions options_;

  mutable Mutex mu_;
  // A vector, not a deque: a Command is too big for a deque to keep more than one in a block,
  // so each would allocate one; the vector keeps its room.
  std::vector<Command> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status write_error_ ABSL_GUARDED_BY(mu_);
  std::function<void(const std::vector<v1::Event>&)> listener_ ABSL_GUARDED_BY(mu_);
  // Shared, so that each group copies a pointer rather than the function.
  std::shared_ptr<const std::function<void(const GroupStats&)>> observer_ ABSL_GUARDED_BY(mu_);
  // One thread at a time takes commands from the queue and decides them (the collector).
  bool collecting_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 0;  // groups in decision order
  uint64_t write_turn_ ABSL_GUARDED_BY(mu_) = 0;   // the group whose turn it is to write
  uint64_t answer_turn_ ABSL_GUARDED_BY(mu_) = 0;  // ... to be answered

  // Held while deciding (reading the state and the pending group) and while merging.
  // Taken before state_mu_ and before mu_ (never mu_ then decide_mu_).
  Mutex decide_mu_;
  // The group being written, whose changes are not in the state yet; null if none.
  const Group* pending_ ABSL_GUARDED_BY(decide_mu_) = nullptr;
  int64_t last_event_micros_ ABSL_GUARDED_BY(mu_) = 0;
  // Groups kept for the callers that lead one (at most one at a time leads).
  std::vector<std::unique_ptr<Group>> spare_groups_ ABSL_GUARDED_BY(mu_);
  int leaders_ ABSL_GUARDED_BY(mu_) = 0;  // callers leading a group now
  std::vector<std::thread> threads_;
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_COMMITTER_H_
