#include "clients/bench/nodes.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace callbackledger::bench {
namespace {

using ::testing::HasSubstr;

TEST(NodeIdTest, OneNodeKeepsThePlainNameAndSeveralAreNumberedFromOne) {
  EXPECT_EQ(NodeId(0, 1), "ledger-bench");
  EXPECT_EQ(NodeId(0, 3), "ledger-bench-1");
  EXPECT_EQ(NodeId(2, 3), "ledger-bench-3");
}

// Health/Check that notes the peer (the client's address and port) of every call: one
// peer per connection.
class PeerNotingHealth final : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext* context, const grpc::health::v1::HealthCheckRequest*,
                     grpc::health::v1::HealthCheckResponse* reply) override {
    reply->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    absl::MutexLock lock(&mu_);
    peers_.insert(context->peer());
    ++calls_;
    return grpc::Status::OK;
  }

  std::set<std::string> peers() {
    absl::MutexLock lock(&mu_);
    return peers_;
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  std::set<std::string> peers_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

class ConnectNodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Two Health/Checks through every node.
  void CheckThroughEach(const std::vector<Node>& nodes) {
    for (int round = 0; round < 2; ++round) {
      for (const Node& node : nodes) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        grpc::health::v1::HealthCheckRequest request;
        grpc::health::v1::HealthCheckResponse reply;
        grpc::Status status = node.health->Check(&context, request, &reply);
        ASSERT_TRUE(status.ok()) << node.id << ": " << status.error_message();
      }
    }
  }

  PeerNotingHealth health_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(ConnectNodesTest, EachNodeHasAConnectionOfItsOwn) {
  absl::StatusOr<std::vector<Node>> nodes =
      ConnectNodes({}, address(), 3, std::chrono::seconds(10));
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  ASSERT_EQ(nodes->size(), 3u);
  EXPECT_EQ((*nodes)[0].id, "ledger-bench-1");
  EXPECT_EQ((*nodes)[1].id, "ledger-bench-2");
  EXPECT_EQ((*nodes)[2].id, "ledger-bench-3");
  CheckThroughEach(*nodes);
  EXPECT_EQ(health_.calls(), 6);
  // Three client ports: three connections, though every channel has the same target and
  // the same arguments.
  EXPECT_EQ(health_.peers().size(), 3u);
}

TEST_F(ConnectNodesTest, OneNodeIsOneConnection) {
  absl::StatusOr<std::vector<Node>> nodes =
      ConnectNodes({}, address(), 1, std::chrono::seconds(10));
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].id, "ledger-bench");
  CheckThroughEach(*nodes);
  EXPECT_EQ(health_.calls(), 2);
  EXPECT_EQ(health_.peers().size(), 1u);
}

TEST_F(ConnectNodesTest, RefusesWhatIsNotLoopbackAndCountsBelowOne) {
  absl::StatusOr<std::vector<Node>> remote =
      ConnectNodes({}, "192.0.2.1:50051", 1, std::chrono::seconds(1));
  EXPECT_EQ(remote.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(remote.status().message(), HasSubstr("192.0.2.1:50051"));
  EXPECT_THAT(remote.status().message(), HasSubstr("loopback"));

  absl::StatusOr<std::vector<Node>> none = ConnectNodes({}, address(), 0, std::chrono::seconds(1));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(none.status().message(), HasSubstr("--nodes"));
  EXPECT_EQ(health_.calls(), 0);
}

TEST_F(ConnectNodesTest, ANodeThatCannotConnectIsNamedWithinTheTimeout) {
  const std::string stopped = address();
  server_->Shutdown();
  server_.reset();
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<Node>> nodes =
      ConnectNodes({}, stopped, 2, std::chrono::milliseconds(300));
  EXPECT_EQ(nodes.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(nodes.status().message(), HasSubstr(stopped));
  EXPECT_THAT(nodes.status().message(), HasSubstr("node ledger-bench-1"));
  // Not gRPC's own reconnection backoff, which would wait far longer.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace callbackledger::bench
