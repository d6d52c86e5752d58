#include "clients/bench/nodes.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "clients/address.h"
#include "grpc/grpc.h"

namespace callbackledger::bench {

std::string NodeId(int index, int count) {
  if (count == 1) return "ledger-bench";
  return absl::StrCat("ledger-bench-", index + 1);
}

absl::StatusOr<std::vector<Node>> ConnectNodes(const ChannelFlags& flags, const std::string& server,
                                               int count,
                                               std::chrono::milliseconds connect_timeout) {
  if (!IsLoopbackTarget(server)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing ", server,
        ": only loopback servers (127.x.x.x, localhost, [::1], a unix socket) may be benchmarked"));
  }
  if (count < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--nodes must be at least 1, not ", count));
  }
  // gRPC shares one connection among channels to the same address with the same arguments
  // (its global subchannel pool); a pool of each channel's own gives each node its own.
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::vector<Node> nodes;
  nodes.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> made =
        MakeChannelFromFlags(flags, server, arguments);
    if (!made.ok()) return made.status();
    Node node;
    node.id = NodeId(i, count);
    node.channel = *std::move(made);
    node.caller_ids = v1::CallerIds::NewStub(node.channel);
    node.calls = v1::Calls::NewStub(node.channel);
    node.health = grpc::health::v1::Health::NewStub(node.channel);
    nodes.push_back(std::move(node));
  }
  // Connect them all at once, then wait: the timeout bounds the whole, not each node.
  const auto deadline = std::chrono::system_clock::now() + connect_timeout;
  for (Node& node : nodes) node.channel->GetState(/*try_to_connect=*/true);
  for (const Node& node : nodes) {
    if (!node.channel->WaitForConnected(deadline)) {
      return absl::UnavailableError(absl::StrCat(
          "cannot connect to ", server, count == 1 ? "" : absl::StrCat(" (node ", node.id, ")"),
          " within ", connect_timeout.count() / 1000.0, " s"));
    }
  }
  return nodes;
}

}  // namespace callbackledger::bench
