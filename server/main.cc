// ledgerd: the Callback Ledger server.
//
// Starts listening at once with health NOT_SERVING, opens the store and loads the
// projections, then serves. SIGTERM or SIGINT: stop taking calls, finish the ones in
// flight (every queued write is committed and answered), close RocksDB, exit 0.
#include <signal.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "ledger/ledger.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/rpc_monitor.h"
#include "server/services.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC address to listen on");
ABSL_FLAG(std::string, data_dir, "./data", "RocksDB data directory (created if missing)");
ABSL_FLAG(std::string, currency, "USD", "ISO 4217 code of the server's one currency");
ABSL_FLAG(int32_t, decimals, 2, "decimals shown for money (0-6)");
ABSL_FLAG(uint32_t, license_max_active_callerids, 1000,
          "the license's limit of enabled authorized CallerIDs");
ABSL_FLAG(std::string, metrics_listen, "", "Prometheus metrics address (empty: off)");
ABSL_FLAG(bool, insecure, false, "allow plaintext without credentials on a non-loopback address");
ABSL_FLAG(bool, rebuild_projections, false,
          "rebuild every projection from the event log before serving");
ABSL_FLAG(uint32_t, pin_max_attempts, 5,
          "consecutive wrong PINs that lock a CallerID until an operator resets it (0: never)");
ABSL_FLAG(uint32_t, reservation_ttl_seconds, 300,
          "a reservation's time-to-live when the PBX node gives none (1-86400)");
ABSL_FLAG(int32_t, calls_deadline_ms, 2000,
          "how long a Calls write from a PBX node that set no deadline may wait for the ledger "
          "before it is answered DEADLINE_EXCEEDED unapplied (0: no limit)");
ABSL_FLAG(int32_t, shutdown_grace_seconds, 10,
          "on SIGTERM, how long calls in flight may take to finish");
ABSL_FLAG(std::string, log_format, "text", "log lines on stderr: text or json (one object a line)");
ABSL_FLAG(std::string, log_level, "info",
          "the least severe log lines written: debug (adds a line per RPC and per committed "
          "group), info, warning or error");

namespace callbackledger {
namespace {

constexpr const char* kFlagNames[] = {"log_format",
                                      "log_level",
                                      "listen",
                                      "data_dir",
                                      "currency",
                                      "decimals",
                                      "license_max_active_callerids",
                                      "metrics_listen",
                                      "insecure",
                                      "rebuild_projections",
                                      "shutdown_grace_seconds",
                                      "pin_max_attempts",
                                      "reservation_ttl_seconds",
                                      "calls_deadline_ms"};

// Applies --log_format and --log_level. With `strict`, an unknown value is an error;
// without, it is left for the strict pass (the flags may not be parsed yet).
bool ApplyLogFlags(bool strict) {
  LogFormat format;
  if (ParseLogFormat(absl::GetFlag(FLAGS_log_format), &format)) {
    SetLogFormat(format);
  } else if (strict) {
    LogError(absl::StrCat("--log_format: unknown format \"", absl::GetFlag(FLAGS_log_format),
                          "\"; use text or json"));
    return false;
  }
  LogLevel level;
  if (ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    SetLogLevel(level);
  } else if (strict) {
    LogError(absl::StrCat("--log_level: unknown level \"", absl::GetFlag(FLAGS_log_level),
                          "\"; use debug, info, warning or error"));
    return false;
  }
  return true;
}

// Each flag may also come from LEDGERD_<NAME>; the command line wins.
bool ApplyEnvironment() {
  for (const char* name : kFlagNames) {
    std::string variable = "LEDGERD_";
    for (const char* c = name; *c != '\0'; ++c) variable.push_back(std::toupper(*c));
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string error;
    if (flag == nullptr || !flag->ParseFrom(value, &error)) {
      LogError(absl::StrCat(variable, ": ", error));
      return false;
    }
    ApplyLogFlags(/*strict=*/false);  // later lines in the format asked for
  }
  return true;
}

// Health service names: the writers, whose health follows the ledger's ability to write,
// and the readers. "" is the server as a whole, which is useless without writes.
constexpr const char* kWriteServices[] = {"", "callbackledger.v1.CallerIds",
                                          "callbackledger.v1.Credit", "callbackledger.v1.Calls"};
constexpr const char* kReadServices[] = {"callbackledger.v1.Reports", "callbackledger.v1.Events"};

bool IsLoopback(const std::string& address) {
  return absl::StartsWith(address, "127.") || absl::StartsWith(address, "localhost:") ||
         absl::StartsWith(address, "[::1]:") || absl::StartsWith(address, "unix:");
}

int Run() {
  const std::string listen = absl::GetFlag(FLAGS_listen);
  if (!IsLoopback(listen) && !absl::GetFlag(FLAGS_insecure)) {
    LogError(absl::StrCat("refusing to serve plaintext without credentials on ", listen,
                          ": listen on a loopback address, or pass --insecure explicitly"));
    return 2;
  }
  const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  if (!metrics_listen.empty() && !IsLoopback(metrics_listen) && !absl::GetFlag(FLAGS_insecure)) {
    LogError(absl::StrCat("refusing to serve metrics without credentials on ", metrics_listen,
                          ": listen on a loopback address, or pass --insecure explicitly"));
    return 2;
  }

  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Metrics first: their HTTP threads must outlive the gRPC server and the ledger.
  RpcTable rpcs;
  std::unique_ptr<ServerMetrics> metrics;
  if (!metrics_listen.empty()) {
    metrics = std::make_unique<ServerMetrics>(&rpcs);
    if (absl::Status served = metrics->Serve(metrics_listen); !served.ok()) {
      Log(LogLevel::kError, "metrics_failed", std::string(served.message()));
      return 1;
    }
    Log(LogLevel::kInfo, "metrics",
        absl::StrCat("metrics on http://", metrics_listen, "/metrics (port ", metrics->port(), ")"),
        {{"address", metrics_listen}, {"port", metrics->port()}});
  }
  RpcMonitor monitor(&rpcs, metrics.get());

  // Reflection describes Health only if its descriptor is linked in.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  LedgerHandle handle;
  CallerIdsService caller_ids(&handle);
  CreditService credit(&handle);
  WatchHub watch_hub;
  EventsService events(&handle, &watch_hub);
  const int32_t calls_deadline_ms = absl::GetFlag(FLAGS_calls_deadline_ms);
  if (calls_deadline_ms < 0) {
    LogError(
        absl::StrCat("--calls_deadline_ms: must be 0 (no limit) or more, not ", calls_deadline_ms));
    return 2;
  }
  CallsService calls(&handle, calls_deadline_ms == 0 ? absl::InfiniteDuration()
                                                     : absl::Milliseconds(calls_deadline_ms));
  ReportsService reports(&handle);

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&caller_ids);
  builder.RegisterService(&credit);
  builder.RegisterService(&events);
  builder.RegisterService(&calls);
  builder.RegisterService(&reports);
  builder.SetMaxReceiveMessageSize(4 << 20);
  // Never share the port with another process: two ledgers behind one address would
  // split the clients between two sets of balances.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> monitors;
  monitors.push_back(monitor.NewFactory());
  builder.experimental().SetInterceptorCreators(std::move(monitors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    Log(LogLevel::kError, "listen_failed", absl::StrCat("cannot listen on ", listen),
        {{"address", listen}});
    return 1;
  }
  // Health: "" and each service. Writers go NOT_SERVING for good after a storage failure;
  // the read-only services keep serving.
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  for (const char* name : kWriteServices) health->SetServingStatus(name, false);
  for (const char* name : kReadServices) health->SetServingStatus(name, false);
  Log(LogLevel::kInfo, "listening",
      absl::StrCat("listening on ", listen, " (port ", port, ")",
                   " (plaintext, no credentials: every caller is an administrator)"),
      {{"address", listen}, {"port", port}});

  LedgerOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.currency = absl::GetFlag(FLAGS_currency);
  options.decimals = absl::GetFlag(FLAGS_decimals);
  options.license_max_active_callerids = absl::GetFlag(FLAGS_license_max_active_callerids);
  options.rebuild_projections = absl::GetFlag(FLAGS_rebuild_projections);
  options.pin_max_attempts = absl::GetFlag(FLAGS_pin_max_attempts);
  options.default_ttl_seconds = absl::GetFlag(FLAGS_reservation_ttl_seconds);
  auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  options.rebuild_progress = [started, &last_report](uint64_t replayed, uint64_t total) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_report < std::chrono::seconds(1) && replayed != total) return;
    last_report = now;
    double seconds = std::chrono::duration<double>(now - started).count();
    double rate = seconds > 0 ? replayed / seconds : 0.0;
    Log(LogLevel::kInfo, "rebuilding",
        absl::StrCat("rebuilding projections: ", replayed, " of ", total, " events"),
        {{"replayed", replayed},
         {"total", total},
         {"events_per_second", rate},
         {"eta_seconds", rate > 0 ? (total - replayed) / rate : 0.0}});
  };
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(options);
  if (!ledger.ok()) {
    Log(LogLevel::kError, "open_failed", "cannot open the ledger:",
        {{"data_dir", options.data_dir},
         {"code", absl::StatusCodeToString(ledger.status().code())},
         {"error", ledger.status().message()}});
    server->Shutdown(std::chrono::system_clock::now());
    return 1;
  }
  (*ledger)->committer()->SetCommitListener(
      [&watch_hub](const std::vector<v1::Event>&) { watch_hub.NotifyCommitted(); });
  (*ledger)->committer()->SetGroupObserver(
      [metrics = metrics.get(), health](const GroupStats& stats) {
        MonitorGroup(metrics, stats);
        if (!stats.write_status.ok()) {
          for (const char* name : kWriteServices) health->SetServingStatus(name, false);
        }
      });
  if (metrics != nullptr) metrics->SetLedger(ledger->get());
  handle.set(ledger->get());
  health->SetServingStatus(true);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  Log(LogLevel::kInfo, "serving", "serving:",
      {{"data_dir", options.data_dir},
       {"currency", options.currency},
       {"decimals", options.decimals},
       {"license_max_active_callerids", options.license_max_active_callerids},
       {"events", (*ledger)->last_sequence()},
       {"load_seconds", seconds}});

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  Log(LogLevel::kInfo, "stopping",
      absl::StrCat("signal ", signal_number, ": finishing calls in flight"),
      {{"signal", signal_number}});
  health->SetServingStatus(false);
  watch_hub.Shutdown();
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds)));
  handle.set(nullptr);
  if (metrics != nullptr) metrics->SetLedger(nullptr);
  (*ledger)->Shutdown();
  Log(LogLevel::kInfo, "stopped", "stopped cleanly");
  return 0;
}

}  // namespace
}  // namespace callbackledger

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "The Callback Ledger server. Every flag may also be set through the environment\n"
      "variable LEDGERD_<FLAG NAME IN CAPITALS>; the command line wins.");
  if (!callbackledger::ApplyEnvironment()) return 2;
  absl::ParseCommandLine(argc, argv);
  if (!callbackledger::ApplyLogFlags(/*strict=*/true)) return 2;
  return callbackledger::Run();
}
