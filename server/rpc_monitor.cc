#include "server/rpc_monitor.h"

#include <string>

#include "absl/status/status.h"

namespace callbackledger {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Codes whose message comes from the server itself, never from the request.
bool IsServerFailure(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::UNKNOWN:
      return true;
    default:
      return false;
  }
}

class MonitorInterceptor final : public grpc::experimental::Interceptor {
 public:
  MonitorInterceptor(RpcMonitor* monitor, int rpc, grpc::ServerContextBase* context)
      : monitor_(monitor),
        rpc_(rpc),
        context_(context),
        started_(std::chrono::steady_clock::now()) {}

  ~MonitorInterceptor() override {
    // Ended without a status sent (cancelled, or cut by the shutdown).
    if (!finished_) {
      monitor_->Finished(rpc_, grpc::Status::CANCELLED, std::chrono::steady_clock::now() - started_,
                         nullptr);
    }
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (!finished_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      finished_ = true;
      monitor_->Finished(rpc_, methods->GetSendStatus(),
                         std::chrono::steady_clock::now() - started_, context_);
    }
    methods->Proceed();
  }

 private:
  RpcMonitor* const monitor_;
  const int rpc_;
  grpc::ServerContextBase* const context_;
  const std::chrono::steady_clock::time_point started_;
  bool finished_ = false;
};

class MonitorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MonitorFactory(RpcMonitor* monitor) : monitor_(monitor) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    int rpc = method != nullptr ? monitor_->rpcs().Find(method) : monitor_->rpcs().unknown();
    return new MonitorInterceptor(monitor_, rpc, info->server_context());
  }

 private:
  RpcMonitor* const monitor_;
};

}  // namespace

RpcMonitor::RpcMonitor(const RpcTable* rpcs, ServerMetrics* metrics)
    : rpcs_(rpcs), metrics_(metrics), error_limiter_(10, absl::Seconds(1)) {}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RpcMonitor::NewFactory() {
  return std::make_unique<MonitorFactory>(this);
}

void RpcMonitor::Finished(int rpc, const grpc::Status& status,
                          std::chrono::steady_clock::duration elapsed,
                          grpc::ServerContextBase* context) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  if (metrics_ != nullptr) metrics_->RecordRequest(rpc, status.error_code(), seconds);
  const bool failed = IsServerFailure(status.error_code()) && LogEnabled(LogLevel::kWarning);
  const bool debug = LogEnabled(LogLevel::kDebug);
  if (!failed && !debug) return;  // the usual case: nothing to format
  const std::string code =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  uint64_t suppressed = 0;
  if (failed && error_limiter_.Allow(&suppressed)) {
    Log(LogLevel::kWarning, "rpc_failed", "RPC failed",
        {{"rpc", rpcs_->label(rpc)},
         {"code", code},
         {"error", status.error_message()},
         {"suppressed_before", suppressed}});
  }
  if (debug) {
    const std::string peer = context != nullptr ? context->peer() : std::string();
    Log(LogLevel::kDebug, "rpc", "RPC answered",
        {{"rpc", rpcs_->label(rpc)},
         {"code", code},
         {"duration_ms", seconds * 1e3},
         {"peer", peer}});
  }
}

void MonitorGroup(ServerMetrics* metrics, const GroupStats& stats) {
  if (metrics != nullptr) metrics->RecordGroup(stats);
  if (!stats.write_status.ok()) {
    Log(LogLevel::kError, "storage_failure",
        "a synced write failed: the group was not committed and every later write is refused "
        "until ledgerd is restarted",
        {{"commands", stats.commands},
         {"events", stats.events},
         {"code", absl::StatusCodeToString(stats.write_status.code())},
         {"error", stats.write_status.message()}});
  } else if (LogEnabled(LogLevel::kDebug)) {
    Log(LogLevel::kDebug, "commit", "group committed",
        {{"commands", stats.commands},
         {"events", stats.events},
         {"write_ms", stats.write_micros / 1e3}});
  }
}

}  // namespace callbackledger
