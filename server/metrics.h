// Prometheus metrics of ledgerd, served on their own address (--metrics_listen).
//
// Counters and histograms are updated where things happen: RPCs by the RPC monitor (a
// server interceptor, see rpc_monitor.h), groups by the committer's group observer. The
// gauges (queue depth, open reservations, CallerIDs, license limit, last sequence) are
// read from the Ledger when Prometheus scrapes. docs/operations.md lists every metric.
//
// The hot path is cheap: the metric of each (RPC, code) pair is created on its first use
// and then found through a fixed table of atomic pointers; no lookup by name, no
// allocation.
#ifndef CALLBACKLEDGER_SERVER_METRICS_H_
#define CALLBACKLEDGER_SERVER_METRICS_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "ledger/committer.h"
#include "ledger/ledger.h"

namespace prometheus {
class Counter;
class Exposer;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace callbackledger {

// The RPCs the server knows, by method path ("/callbackledger.v1.CallerIds/AddCallerId"),
// each with the label it is counted under: the method name for the services of
// callbackledger.v1 (unique across them), "Service/Method" for gRPC's own services
// (health, reflection), and "unknown" for anything else. Immutable once built.
class RpcTable {
 public:
  RpcTable();

  // The index of `method_path`, or unknown().
  int Find(std::string_view method_path) const;
  int unknown() const { return 0; }
  size_t size() const { return labels_.size(); }
  const std::string& label(int rpc) const { return labels_[rpc]; }
  // Whether the RPC streams (its duration is then not a latency).
  bool streaming(int rpc) const { return streaming_[rpc]; }

 private:
  void Add(std::string path, std::string label, bool streaming);

  std::vector<std::string> labels_;
  std::vector<bool> streaming_;
  absl::flat_hash_map<std::string, int> by_path_;
};

class ServerMetrics {
 public:
  explicit ServerMetrics(const RpcTable* rpcs);
  ~ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // Serves GET /metrics at `address` ("127.0.0.1:9464", "localhost:9464", "[::1]:9464";
  // port 0 picks one). Errors when it cannot listen there.
  absl::Status Serve(const std::string& address);
  // The port served, once Serve() succeeded; else 0.
  int port() const;

  // One finished RPC: its status code and, for unary RPCs, how long it took.
  void RecordRequest(int rpc, grpc::StatusCode code, double seconds);

  // One committer group (the committer's group observer).
  void RecordGroup(const GroupStats& stats);

  // The ledger the gauges are read from at scrape time; null (before it is loaded and
  // from the start of the shutdown) leaves them out. Blocks while a scrape reads them, so
  // the ledger may be closed once this returns.
  void SetLedger(Ledger* ledger);

  // The exposition text, as a scrape would get it (for tests and debugging).
  std::string Render() const;

 private:
  class LedgerCollector;
  static constexpr int kCodes = 17;  // grpc::StatusCode OK .. UNAUTHENTICATED

  prometheus::Counter* RequestCounter(int rpc, int code);
  prometheus::Histogram* LatencyHistogram(int rpc);

  const RpcTable* const rpcs_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<LedgerCollector> ledger_collector_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* latency_;
  prometheus::Histogram* group_size_;
  prometheus::Histogram* sync_seconds_;
  // [rpc * kCodes + code] and [rpc]: created on first use, then only read.
  std::unique_ptr<std::atomic<prometheus::Counter*>[]> request_counters_;
  std::unique_ptr<std::atomic<prometheus::Histogram*>[]> latency_histograms_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_METRICS_H_
