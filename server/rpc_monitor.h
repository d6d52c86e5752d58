// Monitoring hooks. The RPC monitor: a gRPC server interceptor that sees every RPC end, whatever
// service answers it. It counts the RPC by name and status code in the metrics (when they are on),
// logs server-side failures (UNAVAILABLE, INTERNAL, DATA_LOSS, UNKNOWN: rate-limited, their message
// is the server's own) and, at debug level, one line per RPC.
//
// It never looks at a message: no request or reply body, hence no PIN or token, reaches
// a log line. Client errors (INVALID_ARGUMENT and the like) are counted, not logged with
// their message, since a message may quote the input.
#ifndef CALLBACKLEDGER_SERVER_RPC_MONITOR_H_
#define CALLBACKLEDGER_SERVER_RPC_MONITOR_H_

#include <chrono>
#include <memory>

#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"
#include "server/log.h"
#include "server/metrics.h"

namespace callbackledger {

class RpcMonitor {
 public:
  // `metrics` may be null (metrics off); both must outlive the server.
  RpcMonitor(const RpcTable* rpcs, ServerMetrics* metrics);

  // For grpc::ServerBuilder::experimental().SetInterceptorCreators().
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewFactory();

  // One RPC ended with `status` after `elapsed`.
  void Finished(int rpc, const grpc::Status& status, std::chrono::steady_clock::duration elapsed,
                grpc::ServerContextBase* context);

  const RpcTable& rpcs() const { return *rpcs_; }

 private:
  const RpcTable* const rpcs_;
  ServerMetrics* const metrics_;
  LogLimiter error_limiter_;
};

// The committer's group observer: counts the group in `metrics` (when not null), logs a
// storage failure as an error and, at debug level, every committed group.
void MonitorGroup(ServerMetrics* metrics, const GroupStats& stats);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_RPC_MONITOR_H_
