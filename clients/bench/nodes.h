// The PBX nodes ledger-bench plays: each node has a channel of its own, so its own HTTP/2
// connection to ledgerd (as separate PBX machines would), and its own node_id, which the
// ledger records on every reservation it opens. Simulated call slot `s` always goes through
// node `s % nodes`, so the calls in flight are spread evenly over the connections.
#ifndef CALLBACKLEDGER_CLIENTS_BENCH_NODES_H_
#define CALLBACKLEDGER_CLIENTS_BENCH_NODES_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "callbackledger/v1/caller_ids.grpc.pb.h"
#include "callbackledger/v1/calls.grpc.pb.h"
#include "clients/channel_flags.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace callbackledger::bench {

// The node_id of node `index` (0-based) of `count`: "ledger-bench" when there is one node,
// else "ledger-bench-1" to "ledger-bench-<count>".
std::string NodeId(int index, int count);

struct Node {
  std::string id;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::CallerIds::Stub> caller_ids;
  std::unique_ptr<v1::Calls::Stub> calls;
  std::unique_ptr<grpc::health::v1::Health::Stub> health;
};

// `count` nodes on `server`, each on a channel of its own (a local subchannel pool, so no
// two share a connection), every one connected within `connect_timeout`. INVALID_ARGUMENT
// for a server that is not on loopback, a count below 1 or flags that make no channel;
// UNAVAILABLE naming the node that could not connect.
absl::StatusOr<std::vector<Node>> ConnectNodes(const ChannelFlags& flags, const std::string& server,
                                               int count,
                                               std::chrono::milliseconds connect_timeout);

}  // namespace callbackledger::bench

#endif  // CALLBACKLEDGER_CLIENTS_BENCH_NODES_H_
