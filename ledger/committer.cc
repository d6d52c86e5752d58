#include "ledger/committer.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/thread_name.h"
#include "projections/check.h"
#include "projections/projector.h"
#include "projections/rows.h"

namespace callbackledger {

// A group of commands on its way through the pipeline: taken and decided by the
// collector, then written, merged and answered by the same thread, in ticket order.
struct Committer::Group {
  uint64_t ticket = 0;
  std::vector<Command> commands;
  std::vector<CommandResult> results;  // one per command
  std::vector<v1::Event> events;       // what the group writes, in sequence order
  // Per command, its events in `events` ([first, second)): they move into its result when it
  // is answered, so that no event is copied.
  std::vector<std::pair<size_t, size_t>> own_events;
  Delta delta;  // the group's changes, read by the next group
  rocksdb::WriteBatch batch;
  GroupStats stats;
  // The clock when the last commands were taken: their deadlines are checked against it,
  // and their events carry it (never earlier than an event before).
  int64_t event_micros = 0;
  absl::Time taken_at;

  void Reset() {
    commands.clear();
    results.clear();
    events.clear();
    own_events.clear();
    LEDGER_CHECK(delta.empty());
    delta.Clear();  // what it read from the store (a group with no event is never merged)
    batch.Clear();
    stats = GroupStats();
  }
};

Committer::Committer(Store* store, State* state, Mutex* state_mu, Clock* clock, LedgerRules rules,
                     CommitterOptions options)
    : store_(store),
      state_(state),
      state_mu_(state_mu),
      clock_(clock),
      rules_(rules),
      options_(options) {
  LEDGER_CHECK(options_.threads == 1 || options_.threads == 2);
  for (int i = 0; i < options_.threads; ++i)
    threads_.push_back(StartNamedThread("ledger-commit", [this] { Run(); }));
}

Committer::~Committer() { Stop(); }

absl::Status Committer::Submit(Command command) {
  {
    MutexLock lock(&mu_);
    if (!write_error_.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "the ledger accepts no writes after a storage failure: ", write_error_.message()));
    }
    if (stopping_) return absl::UnavailableError("the ledger is shutting down");
    if (queue_.size() >= options_.queue_capacity) {
      return absl::UnavailableError("the ledger's command queue is full; retry shortly");
    }
    queue_.push_back(std::move(command));
    // Idle: no group is collecting, and every group taken has been answered.
    const bool lead = options_.commit_when_idle && !collecting_ && queue_.size() == 1 &&
                      answer_turn_ == next_ticket_;
    if (!lead) return absl::OkStatus();
    collecting_ = true;  // before unlocking, so that no committer thread wakes to take it
    ++leaders_;
  }
  Lead();
  return absl::OkStatus();
}

// The caller's thread commits the group it became the collector of in Submit.
void Committer::Lead() {
  std::unique_ptr<Group> group;
  {
    MutexLock lock(&mu_);
    if (spare_groups_.empty()) {
      group = std::make_unique<Group>();
    } else {
      group = std::move(spare_groups_.back());
      spare_groups_.pop_back();
    }
    group->ticket = next_ticket_++;
  }
  Commit(group.get());
  group->Reset();
  MutexLock lock(&mu_);
  spare_groups_.push_back(std::move(group));
  --leaders_;
}

void Committer::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  // A group led by a caller may still be on its way.
  MutexLock lock(&mu_);
  auto led = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return leaders_ == 0; };
  mu_.Await(Condition(&led));
}

absl::Status Committer::write_error() const {
  MutexLock lock(&mu_);
  return write_error_;
}

size_t Committer::queue_depth() const {
  MutexLock lock(&mu_);
  return queue_.size();
}

void Committer::SetCommitListener(std::function<void(const std::vector<v1::Event>&)> listener) {
  MutexLock lock(&mu_);
  listener_ = std::move(listener);
}

void Committer::SetGroupObserver(std::function<void(const GroupStats&)> observer) {
  auto shared =
      observer ? std::make_shared<const std::function<void(const GroupStats&)>>(std::move(observer))
               : nullptr;
  MutexLock lock(&mu_);
  observer_ = std::move(shared);
}

// Each committer thread: take the first commands of a group, then commit it; again.
void Committer::Run() {
  Group group;
  while (Take(&group)) {
    Commit(&group);
    group.Reset();
  }
}

// Collects and decides the group, writes it at its turn, answers it at its turn.
void Committer::Commit(Group* group) {
  Collect(group);
  Write(group);
  {
    MutexLock lock(&mu_);
    ++write_turn_;
  }
  Announce(group);
}

// Becomes the collector and takes the first commands of a new group; false when stopping
// and everything queued was taken.
bool Committer::Take(Group* group) {
  MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return (!collecting_ && !queue_.empty()) || (stopping_ && queue_.empty());
  };
  mu_.Await(Condition(&ready));
  if (queue_.empty()) return false;
  collecting_ = true;
  group->ticket = next_ticket_++;
  return true;
}

// Takes and decides commands into the group until it is the group's turn to write: the
// whole time the group before it is being written, arrivals join this group.
void Committer::Collect(Group* group) {
  while (true) {
    const size_t first = group->commands.size();
    {
      MutexLock lock(&mu_);
      auto ready = [this, group]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return write_turn_ == group->ticket ||
               (!queue_.empty() && group->commands.size() < options_.max_group_size);
      };
      mu_.Await(Condition(&ready));
      // Its turn: everything decided so far is written (arrivals wait for the next group).
      if (write_turn_ == group->ticket && first > 0) break;
      size_t n = std::min(queue_.size(), options_.max_group_size - first);
      for (size_t i = 0; i < n; ++i) group->commands.push_back(std::move(queue_[i]));
      queue_.erase(queue_.begin(), queue_.begin() + n);  // usually all of it: nothing moves
      last_event_micros_ = std::max(last_event_micros_, clock_->NowMicros());
      group->event_micros = last_event_micros_;
      group->taken_at = absl::FromUnixMicros(clock_->NowMicros());
    }
    DecideFrom(group, first);
  }
  // Published before the next collector may start: it decides on top of this group.
  {
    MutexLock lock(&decide_mu_);
    if (!group->events.empty()) pending_ = group;
  }
  MutexLock lock(&mu_);
  collecting_ = false;
}

void Committer::DecideFrom(Group* group, size_t first) {
  group->results.resize(group->commands.size());
  group->own_events.resize(group->commands.size());
  const size_t events_before = group->events.size();
  {
    MutexLock lock(&decide_mu_);
    // Read under decide_mu_: a failed write sets it before dropping its changes.
    const absl::Status sticky = write_error();
    View view(state_, pending_ == nullptr ? nullptr : &pending_->delta, &group->delta, store_);
    for (size_t i = first; i < group->commands.size(); ++i) {
      if (!sticky.ok()) {
        group->results[i].status =
            absl::UnavailableError("the ledger accepts no writes after a storage failure");
        continue;
      }
      DecideCommand(&view, group, i);
    }
  }
  // Serialized now, while the group before is still being written.
  std::string value;
  for (size_t i = events_before; i < group->events.size(); ++i) {
    const v1::Event& event = group->events[i];
    event.SerializeToString(&value);
    group->batch.Put(store_->events(), BigEndian64(event.sequence()), value).PermitUncheckedError();
  }
}

void Committer::DecideCommand(View* view, Group* group, size_t i) {
  Command& command = group->commands[i];
  CommandResult& result = group->results[i];
  if (command.deadline <= group->taken_at) {
    result.status = absl::DeadlineExceededError(
        "the deadline passed before the ledger could apply it; nothing was written");
    return;
  }
  absl::StatusOr<Decided> decided = Decide(*view, command, rules_, group->event_micros);
  // Decided on a reservation row that could not be read: the decision cannot stand.
  if (absl::Status read = view->TakeReadError(); !read.ok()) decided = read;
  if (!decided.ok()) {
    result.status = decided.status();
    return;
  }
  result.denial = decided->denial;
  if (decided->replay_sequence != 0) {
    // The first answer's event: in this group, in the group being written, or stored.
    result.replayed = true;
    const uint64_t sequence = decided->replay_sequence;
    const uint64_t first_own = view->meta().last_sequence + 1 - group->events.size();
    const std::vector<v1::Event>* pending = pending_ == nullptr ? nullptr : &pending_->events;
    if (sequence >= first_own) {
      result.events.push_back(group->events[sequence - first_own]);
    } else if (pending != nullptr && sequence >= pending->front().sequence()) {
      result.events.push_back((*pending)[sequence - pending->front().sequence()]);
    } else {
      absl::StatusOr<v1::Event> earlier = store_->ReadEvent(sequence);
      if (earlier.ok()) {
        result.events.push_back(*std::move(earlier));
      } else {
        result.status = earlier.status();
      }
    }
    return;
  }
  const google::protobuf::Timestamp now = FromUnixMicros(group->event_micros);
  group->own_events[i] = {group->events.size(), group->events.size() + decided->events.size()};
  for (v1::Event& event : decided->events) {
    event.set_sequence(view->meta().last_sequence + 1);
    *event.mutable_time() = now;
    event.set_actor(command.actor);
    if (!command.request_id.empty()) {
      event.set_request_id(command.request_id);
      event.set_request_fingerprint(command.fingerprint);
    }
    ApplyEvent(event, view);
    group->events.push_back(std::move(event));
  }
}

// At the group's turn: writes it, and merges its changes into the state once durable.
void Committer::Write(Group* group) {
  group->stats.commands = group->commands.size();
  if (absl::Status sticky = write_error(); !sticky.ok()) {
    // Decided on top of a group whose write failed: never written.
    Drop(group, absl::UnavailableError("the ledger accepts no writes after a storage failure"),
         true);
    return;
  }
  group->stats.events = group->events.size();
  if (group->events.empty()) return;
  BatchSink sink(store_, &group->batch);
  EmitDelta(group->delta, &sink);
  const auto write_started = std::chrono::steady_clock::now();
  absl::Status written = store_->WriteSynced(&group->batch);
  group->stats.write_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::steady_clock::now() - write_started)
                                  .count();
  group->stats.write_status = written;
  if (!written.ok()) {
    {
      // Refused from now on: set before the group's changes leave the view of the next
      // group (see DecideFrom), so that nothing is ever decided without them.
      MutexLock lock(&mu_);
      write_error_ = written;
    }
    Drop(group,
         absl::UnavailableError(absl::StrCat(
             "storage failure, the outcome is unknown (the change may have reached the disk): "
             "retry with the same request_id or reservation_id once the ledger is back: ",
             written.message())),
         false);
    return;
  }
  MutexLock lock(&decide_mu_);
  {
    MutexLock state_lock(state_mu_);
    state_->Merge(&group->delta);
  }
  pending_ = nullptr;
}

// Nothing of the group reaches the state: its commands that would have changed something
// (or, with `every_command`, all of them) are answered `status`.
void Committer::Drop(Group* group, const absl::Status& status, bool every_command) {
  {
    MutexLock lock(&decide_mu_);
    if (pending_ == group) pending_ = nullptr;
    group->delta.Clear();
  }
  for (size_t i = 0; i < group->results.size(); ++i) {
    CommandResult& result = group->results[i];
    if (result.status.ok() || every_command) {
      result.status = status;
      result.replayed = false;
      result.events.clear();
    }
    group->own_events[i] = {0, 0};
  }
  group->events.clear();
}

// In ticket order, once the group is durable (or failed): answers its commands, then
// tells the commit listener and the group observer.
void Committer::Announce(Group* group) {
  std::function<void(const std::vector<v1::Event>&)> listener;
  std::shared_ptr<const std::function<void(const GroupStats&)>> observer;
  {
    MutexLock lock(&mu_);
    auto ready = [this, group]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return answer_turn_ == group->ticket; };
    mu_.Await(Condition(&ready));
    if (!group->events.empty()) listener = listener_;
    observer = observer_;
  }
  // The listener first: the answers take the events.
  if (listener) listener(group->events);
  for (size_t i = 0; i < group->commands.size(); ++i) {
    CommandResult& result = group->results[i];
    const auto [first, end] = group->own_events[i];
    result.events.reserve(result.events.size() + (end - first));
    for (size_t e = first; e < end; ++e) result.events.push_back(std::move(group->events[e]));
    if (group->commands[i].done) group->commands[i].done(std::move(result));
  }
  if (observer != nullptr) (*observer)(group->stats);
  MutexLock lock(&mu_);
  ++answer_turn_;
}

}  // namespace callbackledger
