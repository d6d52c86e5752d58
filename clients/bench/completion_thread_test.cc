#include "clients/bench/completion_thread.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"

namespace callbackledger::bench {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// Health/Check as the test needs it: SERVING for "up", NOT_FOUND for anything else.
class FakeHealth : public Health::CallbackService {
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const HealthCheckRequest* request,
                                  HealthCheckResponse* reply) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (request->service() == "up") {
      reply->set_status(HealthCheckResponse::SERVING);
      reactor->Finish(grpc::Status::OK);
    } else {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service"));
    }
    return reactor;
  }
};

// A gRPC server on a free loopback port serving FakeHealth, and a stub.
class CompletionThreadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    stub_ = Health::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(); }

  struct Check {
    grpc::ClientContext context;
    HealthCheckRequest request;
    HealthCheckResponse reply;
  };
  // Starts a Check of `service`; `done` gets its status and reply, on the completion thread.
  void StartCheck(CompletionThread* completions, const std::string& service,
                  std::function<void(grpc::Status, const HealthCheckResponse&)> done) {
    auto* check = new Check;
    check->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    check->request.set_service(service);
    completions->Call(stub_.get(), &Health::Stub::PrepareAsyncCheck, &check->context,
                      check->request, &check->reply,
                      [check, done = std::move(done)](grpc::Status status) {
                        done(status, check->reply);
                        delete check;
                      });
  }

  FakeHealth health_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Health::Stub> stub_;
};

TEST_F(CompletionThreadTest, AnswersEveryCallOnItsOneThreadWithItsStatusAndReply) {
  absl::Mutex mu;
  int serving = 0, not_found = 0;
  std::vector<std::thread::id> threads;
  {
    CompletionThread completions;
    for (int i = 0; i < 50; ++i) {
      StartCheck(&completions, i % 5 == 0 ? "no-such-service" : "up",
                 [&](grpc::Status status, const HealthCheckResponse& reply) {
                   absl::MutexLock lock(&mu);
                   threads.push_back(std::this_thread::get_id());
                   if (status.ok() && reply.status() == HealthCheckResponse::SERVING) ++serving;
                   if (status.error_code() == grpc::StatusCode::NOT_FOUND) ++not_found;
                 });
    }
  }  // the destructor waits for every answer
  absl::MutexLock lock(&mu);
  EXPECT_EQ(serving, 40);
  EXPECT_EQ(not_found, 10);
  ASSERT_EQ(threads.size(), 50u);
  for (const std::thread::id& id : threads) EXPECT_EQ(id, threads.front());
  EXPECT_NE(threads.front(), std::this_thread::get_id());
}

TEST_F(CompletionThreadTest, ACallbackStartsTheNextCall) {
  std::atomic<int> answered{0};
  {
    CompletionThread completions;
    std::function<void(grpc::Status, const HealthCheckResponse&)> next;
    next = [&](grpc::Status status, const HealthCheckResponse&) {
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (answered.fetch_add(1) + 1 < 100) StartCheck(&completions, "up", next);
    };
    StartCheck(&completions, "up", next);
    // The chain is started from here but runs on the completion thread; wait for its end
    // before `next` and the thread go.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (answered.load() < 100 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  EXPECT_EQ(answered.load(), 100);
}

TEST_F(CompletionThreadTest, AnExpiredDeadlineIsAnswered) {
  grpc::Status seen;
  {
    CompletionThread completions;
    auto* check = new Check;
    check->context.set_deadline(std::chrono::system_clock::now() - std::chrono::seconds(1));
    completions.Call(stub_.get(), &Health::Stub::PrepareAsyncCheck, &check->context, check->request,
                     &check->reply, [&seen, check](grpc::Status status) {
                       seen = status;
                       delete check;
                     });
  }
  EXPECT_EQ(seen.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

}  // namespace
}  // namespace callbackledger::bench
