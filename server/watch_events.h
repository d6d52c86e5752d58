// Events.WatchEvents: a server stream that sends the log from a sequence number, then
// each new event as its group commits. Followers are woken by the committer and read the
// log themselves, so a slow follower never slows the committer; each has at most one
// write in flight.
#ifndef CALLBACKLEDGER_SERVER_WATCH_EVENTS_H_
#define CALLBACKLEDGER_SERVER_WATCH_EVENTS_H_

#include <cstddef>
#include <memory>
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

  // Wakes every follower; called by the committer after each durable group.
  void NotifyCommitted();
  // Ends every stream with UNAVAILABLE and refuses new ones.
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

  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<EventFollower*, std::weak_ptr<EventFollower>> followers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_WATCH_EVENTS_H_
