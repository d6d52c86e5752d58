// Unary RPCs on gRPC's completion-queue API, answered by a callback, for ledger-bench: one
// thread polls one completion queue and runs each RPC's callback as its answer comes.
//
// gRPC's callback API (stub->async()) runs its callbacks on gRPC's own threads, handing each
// completion from the thread that polled it to another: on a machine shared with the server
// that costs the client about half as much CPU again per RPC (docs/benchmarks-history.md, "The load
// generator's own API"). Here the thread that polls is the one that runs the callback, and
// the callback may start the next RPC.
//
//   CompletionThread completions;
//   completions.Call(stub, &v1::Calls::Stub::PrepareAsyncAuthorize, &context, request,
//                    &reply, [](grpc::Status status) { ... });
//
// The context, request and reply must live until the callback has run; the callback may
// delete them. The destructor waits for every RPC started to be answered.
#ifndef CALLBACKLEDGER_CLIENTS_BENCH_COMPLETION_THREAD_H_
#define CALLBACKLEDGER_CLIENTS_BENCH_COMPLETION_THREAD_H_

#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "grpcpp/grpcpp.h"

namespace callbackledger::bench {

class CompletionThread {
 public:
  CompletionThread() : thread_([this] { Poll(); }) {}
  ~CompletionThread() {
    queue_.Shutdown();  // Next() returns false once every RPC started is answered
    thread_.join();
  }
  CompletionThread(const CompletionThread&) = delete;
  CompletionThread& operator=(const CompletionThread&) = delete;

  // Starts `prepare` (a stub's PrepareAsync<Rpc>) with `request`; `done` runs on this
  // object's thread with the RPC's status, `reply` filled in when it is OK.
  template <typename Stub, typename Request, typename Reply>
  void Call(Stub* stub,
            std::unique_ptr<grpc::ClientAsyncResponseReader<Reply>> (Stub::*prepare)(
                grpc::ClientContext*, const Request&, grpc::CompletionQueue*),
            grpc::ClientContext* context, const Request& request, Reply* reply,
            std::function<void(grpc::Status)> done) {
    auto* pending = new Pending<Reply>(std::move(done));
    pending->reader = (stub->*prepare)(context, request, &queue_);
    pending->reader->StartCall();
    pending->reader->Finish(reply, &pending->status, pending);
  }

 private:
  struct Answer {
    virtual ~Answer() = default;
    virtual void Run() = 0;
  };
  template <typename Reply>
  struct Pending : Answer {
    explicit Pending(std::function<void(grpc::Status)> callback) : done(std::move(callback)) {}
    void Run() override {
      // The reader lives in the call's memory, which the context frees: let it go before
      // the callback may delete the context.
      reader.reset();
      done(std::move(status));
    }
    std::unique_ptr<grpc::ClientAsyncResponseReader<Reply>> reader;
    grpc::Status status;
    std::function<void(grpc::Status)> done;
  };

  void Poll() {
    void* tag = nullptr;
    bool ok = false;
    // A unary Finish always comes back, with its status set (ok is true for it).
    while (queue_.Next(&tag, &ok)) {
      std::unique_ptr<Answer> answer(static_cast<Answer*>(tag));
      answer->Run();
    }
  }

  grpc::CompletionQueue queue_;
  std::thread thread_;  // last: starts once the queue exists
};

}  // namespace callbackledger::bench

#endif  // CALLBACKLEDGER_CLIENTS_BENCH_COMPLETION_THREAD_H_
