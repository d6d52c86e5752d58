#include "server/watch_events.h"

#include <deque>
#include <utility>

#include "ledger/thread_name.h"
#include "ledger/views.h"

namespace callbackledger {
namespace {
constexpr int kReadAhead = 100;
}  // namespace

class EventFollower : public grpc::ServerWriteReactor<v1::Event> {
 public:
  EventFollower(WatchHub* hub, Ledger* ledger, uint64_t from_sequence)
      : hub_(hub), ledger_(ledger), next_sequence_(from_sequence == 0 ? 1 : from_sequence) {}

  // Sends what is committed and not yet sent, one write at a time.
  void Pump() {
    absl::MutexLock lock(&mu_);
    if (writing_ || finished_) return;
    if (buffer_.empty()) {
      v1::ReadEventsRequest request;
      request.set_from_sequence(next_sequence_);
      request.set_page_size(kReadAhead);
      absl::StatusOr<v1::ReadEventsResponse> page = ledger_->ReadEvents(request);
      if (!page.ok()) {
        FinishLocked(ToGrpcStatus(page.status()));
        return;
      }
      for (v1::Event& event : *page->mutable_events()) buffer_.push_back(std::move(event));
      if (buffer_.empty()) return;  // caught up: the next commit wakes us
    }
    current_ = std::move(buffer_.front());
    buffer_.pop_front();
    next_sequence_ = current_.sequence() + 1;
    writing_ = true;
    StartWrite(&current_);
  }

  void End(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    FinishLocked(std::move(status));
  }

  void OnWriteDone(bool ok) override {
    std::shared_ptr<EventFollower> keep = self_;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) {
        FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the stream broke"));
        return;
      }
    }
    Pump();
  }

  void OnCancel() override {
    std::shared_ptr<EventFollower> keep = self_;
    End(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    hub_->Remove(this);
    std::shared_ptr<EventFollower> last = std::move(self_);  // freed on return
  }

  // The follower owns itself until gRPC is done with it.
  std::shared_ptr<EventFollower> self_;

 private:
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(std::move(status));
  }

  WatchHub* const hub_;
  Ledger* const ledger_;
  absl::Mutex mu_;
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<v1::Event> buffer_ ABSL_GUARDED_BY(mu_);
  v1::Event current_;
};

grpc::ServerWriteReactor<v1::Event>* WatchHub::Watch(const LedgerHandle& handle,
                                                     grpc::CallbackServerContext* context,
                                                     const v1::WatchEventsRequest* request,
                                                     const grpc::Status& denied) {
  Ledger* ledger = handle.get();
  auto follower = std::make_shared<EventFollower>(this, ledger, request->from_sequence());
  follower->self_ = follower;
  grpc::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (!denied.ok()) {
      refused = denied;
    } else if (ledger == nullptr) {
      refused = NotReady();
    } else if (shut_down_) {
      refused = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the ledger is shutting down");
    } else if (followers_.size() >= kMaxFollowers) {
      refused = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "too many WatchEvents streams are open; retry later");
    } else {
      followers_[follower.get()] = follower;
    }
  }
  if (!refused.ok()) {
    follower->End(refused);
  } else {
    follower->Pump();
  }
  return follower.get();
}

std::vector<std::shared_ptr<EventFollower>> WatchHub::Live() {
  std::vector<std::shared_ptr<EventFollower>> live;
  absl::MutexLock lock(&mu_);
  for (auto& [raw, weak] : followers_) {
    if (std::shared_ptr<EventFollower> follower = weak.lock()) live.push_back(follower);
  }
  return live;
}

WatchHub::WatchHub() : waker_(StartNamedThread("ledger-watch", [this] { WakeFollowers(); })) {}

WatchHub::~WatchHub() { Shutdown(); }

void WatchHub::NotifyCommitted() {
  absl::MutexLock lock(&mu_);
  if (!followers_.empty()) committed_ = true;
}

void WatchHub::WakeFollowers() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &WatchHub::WakeWanted));
      if (shut_down_) return;
      committed_ = false;  // commits from here on wake them again
    }
    for (const auto& follower : Live()) follower->Pump();
  }
}

void WatchHub::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
  }
  if (waker_.joinable()) waker_.join();
  for (const auto& follower : Live()) {
    follower->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the ledger is shutting down"));
  }
}

void WatchHub::Remove(EventFollower* follower) {
  absl::MutexLock lock(&mu_);
  followers_.erase(follower);
}

}  // namespace callbackledger
