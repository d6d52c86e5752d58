#include "ledger/committer.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "projections/check.h"
#include "projections/projector.h"
#include "projections/rows.h"

namespace callbackledger {

Committer::Committer(Store* store, State* state, Mutex* state_mu, Clock* clock, LedgerRules rules,
                     CommitterOptions options)
    : store_(store),
      state_(state),
      state_mu_(state_mu),
      clock_(clock),
      rules_(rules),
      options_(options) {
  thread_ = std::thread([this] { Run(); });
}

Committer::~Committer() { Stop(); }

absl::Status Committer::Submit(Command command) {
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
  return absl::OkStatus();
}

void Committer::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
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

void Committer::Run() {
  std::vector<Command> group;
  while (true) {
    {
      MutexLock lock(&mu_);
      mu_.Await(Condition(
          +[](Committer* c)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) { return c->stopping_ || !c->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // stopping, and everything queued was answered
      size_t n = std::min(queue_.size(), options_.max_group_size);
      for (size_t i = 0; i < n; ++i) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitGroup(&group);
    group.clear();
  }
}

void Committer::CommitGroup(std::vector<Command>* group) {
  std::vector<CommandResult> results(group->size());
  std::vector<v1::Event> events;
  absl::Status sticky = write_error();
  View view(state_, &delta_);
  last_event_micros_ = std::max(last_event_micros_, clock_->NowMicros());
  const google::protobuf::Timestamp now = FromUnixMicros(last_event_micros_);
  const absl::Time clock_now = absl::FromUnixMicros(clock_->NowMicros());

  for (size_t i = 0; i < group->size(); ++i) {
    Command& command = (*group)[i];
    CommandResult& result = results[i];
    if (!sticky.ok()) {
      result.status =
          absl::UnavailableError("the ledger accepts no writes after a storage failure");
      continue;
    }
    if (command.deadline <= clock_now) {
      result.status = absl::DeadlineExceededError(
          "the deadline passed before the ledger could apply it; nothing was written");
      continue;
    }
    absl::StatusOr<Decided> decided = Decide(view, command, rules_, last_event_micros_);
    if (!decided.ok()) {
      result.status = decided.status();
      continue;
    }
    result.denial = decided->denial;
    if (decided->replay_sequence != 0) {
      result.replayed = true;
      uint64_t first_pending = view.meta().last_sequence + 1 - events.size();
      if (decided->replay_sequence >= first_pending) {
        result.events.push_back(events[decided->replay_sequence - first_pending]);
      } else {
        absl::StatusOr<v1::Event> earlier = store_->ReadEvent(decided->replay_sequence);
        if (earlier.ok()) {
          result.events.push_back(*std::move(earlier));
        } else {
          result.status = earlier.status();
        }
      }
      continue;
    }
    for (v1::Event& event : decided->events) {
      event.set_sequence(view.meta().last_sequence + 1);
      *event.mutable_time() = now;
      event.set_actor(command.actor);
      if (!command.request_id.empty()) {
        event.set_request_id(command.request_id);
        event.set_request_fingerprint(command.fingerprint);
      }
      ApplyEvent(event, &view);
      result.events.push_back(event);
      events.push_back(std::move(event));
    }
  }

  GroupStats stats;
  stats.commands = group->size();
  stats.events = events.size();
  if (!events.empty()) {
    rocksdb::WriteBatch batch;
    for (const v1::Event& event : events) {
      batch.Put(store_->events(), BigEndian64(event.sequence()), event.SerializeAsString())
          .PermitUncheckedError();
    }
    BatchSink sink(store_, &batch);
    EmitDelta(delta_, &sink);
    const auto write_started = std::chrono::steady_clock::now();
    absl::Status written = store_->WriteSynced(&batch);
    stats.write_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - write_started)
                             .count();
    stats.write_status = written;
    if (written.ok()) {
      MutexLock lock(state_mu_);
      state_->Merge(&delta_);
    } else {
      // Nothing of this group reaches the state, and no later write is acknowledged.
      delta_.Clear();
      {
        MutexLock lock(&mu_);
        write_error_ = written;
      }
      for (CommandResult& result : results) {
        if (result.status.ok()) {
          result.status = absl::UnavailableError(
              absl::StrCat("storage failure, the outcome is unknown (the change may have reached "
                           "the disk): retry with the same request_id or reservation_id once "
                           "the ledger is back: ",
                           written.message()));
          result.replayed = false;
          result.events.clear();
        }
      }
      events.clear();
    }
  }
  LEDGER_CHECK(delta_.empty());

  for (size_t i = 0; i < group->size(); ++i) {
    if ((*group)[i].done) (*group)[i].done(std::move(results[i]));
  }
  if (!events.empty()) {
    std::function<void(const std::vector<v1::Event>&)> listener;
    {
      MutexLock lock(&mu_);
      listener = listener_;
    }
    if (listener) listener(events);
  }
  std::shared_ptr<const std::function<void(const GroupStats&)>> observer;
  {
    MutexLock lock(&mu_);
    observer = observer_;
  }
  if (observer != nullptr) (*observer)(stats);
}

}  // namespace callbackledger
