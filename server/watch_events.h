// Events.WatchEvents: a server stream that sends the log from a sequence number, then
// each new event as its group commits. The committer only marks that a group committed;
// the hub's own thread then wakes the followers, which read the log themselves (or a gRPC
// thread does, when a write of theirs completes). So neither a slow follower nor many of
// them slow the committer; each has at most one write in flight.
#ifndef CALLBACKLEDGER_SERVER_WATCH_EVENTS_H_
#define CALLBACKLEDGER_SERVER_WATCH_EVENTS_H_

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "callbackledger/v1/events.grpc.pb.h"
#include "server/grpc_util.h"

namespace callbackledger {

class EventFollower;

// Keeps the open WatchEvents streams: wakes them after each commit, ends them at shutdown.
class WatchHub {
 public:
  static constexpr size_t kMaxFollowers = 256;

  WatchHub();
  ~WatchHub();  // Shutdown()s

  // Has the hub's thread wake every follower; called by the committer after each durable
  // group. Takes a lock and returns: no read of the log on the caller's thread.
  void NotifyCommitted();
  // Ends every stream with UNAVAILABLE, refuses new ones and stops the hub's thread.
  void Shutdown();

  // Opens a stream, or ends it at once with `denied` when that is not OK (the caller's
  // access check failed).
  grpc::ServerWriteReactor<v1::Event>* Watch(const LedgerHandle& handle,
                                             grpc::CallbackServerContext* context,
                                             const v1::WatchEventsRequest* request,
                                             const grpc::Status& denied = grpc::Status::OK);

 private:
  friend class EventFollower;
  void Remove(EventFollower* follower);
  // The live followers, kept alive while the caller uses them (no lock held then, since
  // gRPC may end a stream inline).
  std::vector<std::shared_ptr<EventFollower>> Live();
  // The hub's thread: waits for a commit, then wakes the followers.
  void WakeFollowers();
  bool WakeWanted() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return committed_ || shut_down_; }

  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  bool committed_ ABSL_GUARDED_BY(mu_) = false;  // since the followers were last woken
  absl::flat_hash_map<EventFollower*, std::weak_ptr<EventFollower>> followers_ ABSL_GUARDED_BY(mu_);
  std::thread waker_;  // last: it starts once the rest is built
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_WATCH_EVENTS_H_
