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
#include "absl/synchronization/mutex.h"
#include "clients/address.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "ledger/ledger.h"
#include "ledger/thread_name.h"
#include "server/huge_pages.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/parse_errors.h"
#include "server/rpc_monitor.h"
#include "server/services.h"
#include "server/tls.h"

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
ABSL_FLAG(int32_t, committer_threads, 1,
          "1: the committer decides, writes and syncs one group at a time; 2: it decides the "
          "next group while one is being synced (docs/benchmarks.md)");
ABSL_FLAG(bool, commit_when_idle, true,
          "when the committer is idle, the gRPC thread of a write commits it itself, without "
          "handing it to the committer thread and back (docs/benchmarks.md)");
ABSL_FLAG(uint32_t, max_wal_mib, 64,
          "write-ahead log (MiB, 1-65536) kept before the column families holding its oldest "
          "file are flushed: about the most a start after a crash replays");
ABSL_FLAG(uint32_t, block_cache_mib, 128,
          "block cache (MiB, 1-65536) all column families share, for blocks read and for the "
          "index and filter blocks of the table files");
ABSL_FLAG(uint32_t, wal_zero_ahead_mib, 1,
          "zeros (MiB, 0-1024) written ahead of the write-ahead log's end, so that a synced "
          "write overwrites blocks instead of growing the file (0: none; use 0 on btrfs or ZFS)");
ABSL_FLAG(int32_t, shutdown_grace_seconds, 10,
          "on SIGTERM, how long calls in flight may take to finish");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate chain (with --tls_key: serve TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificates; when set, mutual TLS: every client must present a certificate "
          "that verifies against them");
ABSL_FLAG(std::string, access_file, "",
          "identities and roles (token and cert lines); reloaded on SIGHUP and when it changes");
ABSL_FLAG(uint32_t, max_request_bytes, 1 << 20, "the largest request message accepted");
ABSL_FLAG(double, authorize_pin_rate, 5,
          "Authorize calls with a wrong PIN allowed per second per identity (not in the open "
          "mode, where every caller is the administrator)");
ABSL_FLAG(double, authorize_pin_burst, 10,
          "Authorize calls with a wrong PIN an identity may make at once before the rate applies");
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
                                      "calls_deadline_ms",
                                      "committer_threads",
                                      "commit_when_idle",
                                      "max_wal_mib",
                                      "block_cache_mib",
                                      "wal_zero_ahead_mib",
                                      "tls_cert",
                                      "tls_key",
                                      "tls_client_ca",
                                      "access_file",
                                      "max_request_bytes",
                                      "authorize_pin_rate",
                                      "authorize_pin_burst"};

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

// The port's credentials and the access check, from the flags. Any misconfiguration is
// logged and returns false (exit 2).
bool SetUpSecurity(const std::string& listen, std::shared_ptr<grpc::ServerCredentials>* credentials,
                   std::unique_ptr<Access>* access, std::string* mode) {
  const TlsFiles files{absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                       absl::GetFlag(FLAGS_tls_client_ca)};
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> made = MakeServerCredentials(files);
  if (!made.ok()) {
    LogError(std::string(made.status().message()));
    return false;
  }
  *credentials = *std::move(made);
  if (!files.tls() && !IsLoopbackTarget(listen) && !absl::GetFlag(FLAGS_insecure)) {
    LogError(absl::StrCat("refusing to serve plaintext on ", listen,
                          ": give --tls_cert and --tls_key, listen on a loopback address, or "
                          "pass --insecure explicitly"));
    return false;
  }
  if (absl::GetFlag(FLAGS_max_request_bytes) < 1024) {
    LogError("--max_request_bytes must be at least 1024");
    return false;
  }
  if (files.mutual() && absl::GetFlag(FLAGS_access_file).empty()) {
    // Certificates are identities only through the access file: without it every RPC
    // would be refused.
    LogError(
        "--tls_client_ca needs --access_file: it gives the clients' certificates (by their "
        "CN) their roles; without it every RPC would be refused");
    return false;
  }
  AccessOptions options{absl::GetFlag(FLAGS_access_file), files.mutual(),
                        absl::GetFlag(FLAGS_authorize_pin_rate),
                        absl::GetFlag(FLAGS_authorize_pin_burst)};
  if (!(options.pin_attempts_per_second > 0) || !(options.pin_attempts_burst >= 1)) {
    LogError("--authorize_pin_rate must be above 0 and --authorize_pin_burst at least 1");
    return false;
  }
  *access = std::make_unique<Access>(options);
  if (absl::Status loaded = (*access)->Load(); !loaded.ok()) {
    LogError(std::string(loaded.message()));
    return false;
  }
  *mode = absl::StrCat(files.Describe(), (*access)->open()
                                             ? ", no credentials: every caller is an administrator"
                                             : ", every RPC needs an identity with a role");
  if ((*access)->open() && !IsLoopbackTarget(listen)) {
    Log(LogLevel::kWarning, "open_access",
        "no --access_file and no --tls_client_ca: anyone who reaches the port is an "
        "administrator");
  }
  return true;
}

// Applies the limits of docs/security.md to the server.
void SetLimits(grpc::ServerBuilder* builder) {
  builder->SetMaxReceiveMessageSize(static_cast<int>(absl::GetFlag(FLAGS_max_request_bytes)));
  builder->AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 256);
  // Keepalive enforcement: pings more often than every 10 s without data earn a strike;
  // after 2 strikes the connection is closed (GOAWAY ENHANCE_YOUR_CALM).
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // A client that never finishes its handshake does not hold a connection for long.
  builder->AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 20000);
}

// The signals the main thread takes with sigwait: SIGHUP reloads, SIGTERM and SIGINT stop.
sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  return signals;
}

int Run() {
  const std::string listen = absl::GetFlag(FLAGS_listen);
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::unique_ptr<Access> access;
  std::string mode;
  if (!SetUpSecurity(listen, &credentials, &access, &mode)) return 2;
  const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  if (!metrics_listen.empty() && !IsLoopbackTarget(metrics_listen) &&
      !absl::GetFlag(FLAGS_insecure)) {
    LogError(absl::StrCat("refusing to serve metrics without credentials on ", metrics_listen,
                          ": listen on a loopback address, or pass --insecure explicitly"));
    return 2;
  }

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
  const Backend backend{&handle, access.get()};
  CallerIdsService caller_ids(backend);
  CreditService credit(backend);
  WatchHub watch_hub;
  EventsService events(backend, &watch_hub);
  const int32_t calls_deadline_ms = absl::GetFlag(FLAGS_calls_deadline_ms);
  if (calls_deadline_ms < 0) {
    LogError(
        absl::StrCat("--calls_deadline_ms: must be 0 (no limit) or more, not ", calls_deadline_ms));
    return 2;
  }
  const int32_t committer_threads = absl::GetFlag(FLAGS_committer_threads);
  if (committer_threads != 1 && committer_threads != 2) {
    LogError(absl::StrCat("--committer_threads: must be 1 or 2, not ", committer_threads));
    return 2;
  }
  const uint32_t max_wal_mib = absl::GetFlag(FLAGS_max_wal_mib);
  if (max_wal_mib == 0 || max_wal_mib > 65536) {
    LogError(absl::StrCat("--max_wal_mib: must be between 1 and 65536, not ", max_wal_mib));
    return 2;
  }
  const uint32_t block_cache_mib = absl::GetFlag(FLAGS_block_cache_mib);
  if (block_cache_mib == 0 || block_cache_mib > 65536) {
    LogError(absl::StrCat("--block_cache_mib: must be between 1 and 65536, not ", block_cache_mib));
    return 2;
  }
  const uint32_t wal_zero_ahead_mib = absl::GetFlag(FLAGS_wal_zero_ahead_mib);
  if (wal_zero_ahead_mib > 1024) {
    LogError(
        absl::StrCat("--wal_zero_ahead_mib: must be between 0 and 1024, not ", wal_zero_ahead_mib));
    return 2;
  }
  CallsService calls(backend, calls_deadline_ms == 0 ? absl::InfiniteDuration()
                                                     : absl::Milliseconds(calls_deadline_ms));
  ReportsService reports(backend);

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, credentials, &port);
  builder.RegisterService(&caller_ids);
  builder.RegisterService(&credit);
  builder.RegisterService(&events);
  builder.RegisterService(&calls);
  builder.RegisterService(&reports);
  SetLimits(&builder);
  // Never share the port with another process: two ledgers behind one address would
  // split the clients between two sets of balances.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> monitors;
  monitors.push_back(NewParseErrorFactory());
  monitors.push_back(monitor.NewFactory());
  builder.experimental().SetInterceptorCreators(std::move(monitors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    Log(LogLevel::kError, "listen_failed",
        absl::StrCat("cannot listen on ", listen,
                     absl::GetFlag(FLAGS_tls_cert).empty()
                         ? ""
                         : " (or the TLS files are not valid: the certificate and key must match)"),
        {{"address", listen}});
    return 1;
  }
  // Health: "" and each service. Writers go NOT_SERVING for good after a storage failure;
  // the read-only services keep serving.
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  for (const char* name : kWriteServices) health->SetServingStatus(name, false);
  for (const char* name : kReadServices) health->SetServingStatus(name, false);
  Log(LogLevel::kInfo, "listening",
      absl::StrCat("listening on ", listen, " (port ", port, ") (", mode, ")"),
      {{"address", listen}, {"port", port}});

  LedgerOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.currency = absl::GetFlag(FLAGS_currency);
  options.decimals = absl::GetFlag(FLAGS_decimals);
  options.license_max_active_callerids = absl::GetFlag(FLAGS_license_max_active_callerids);
  options.rebuild_projections = absl::GetFlag(FLAGS_rebuild_projections);
  options.pin_max_attempts = absl::GetFlag(FLAGS_pin_max_attempts);
  options.default_ttl_seconds = absl::GetFlag(FLAGS_reservation_ttl_seconds);
  options.committer.threads = committer_threads;
  options.committer.commit_when_idle = absl::GetFlag(FLAGS_commit_when_idle);
  options.max_wal_mib = max_wal_mib;
  options.block_cache_mib = block_cache_mib;
  options.wal_zero_ahead_mib = wal_zero_ahead_mib;
  auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  bool replayed_all = false;
  // The rate is over the whole rebuild so far, from the start of ledgerd; the last line,
  // "rebuilt", once the rebuilt rows are on disk.
  options.rebuild_progress = [started, &last_report, &replayed_all](uint64_t replayed,
                                                                    uint64_t total) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_report < std::chrono::seconds(1) && replayed != total) return;
    last_report = now;
    double seconds = std::chrono::duration<double>(now - started).count();
    double rate = seconds > 0 ? replayed / seconds : 0.0;
    if (replayed == total && replayed_all) {
      Log(LogLevel::kInfo, "rebuilt",
          absl::StrCat("rebuilt projections: ", total, " events, on disk"),
          {{"total", total}, {"seconds", seconds}, {"events_per_second", rate}});
      return;
    }
    replayed_all = replayed == total;
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

  // main() blocked these signals before any thread started, so they wait for this call.
  sigset_t signals = StopSignals();
  int signal_number = 0;
  // SIGHUP reloads the access file; SIGTERM and SIGINT stop.
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    access->Reload().IgnoreError();
  }
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
  // First of all, before any thread or allocation that matters (see server/huge_pages.h).
  callbackledger::ReexecWithHugePageMalloc(argv);
  // Block the signals Run() waits for before any thread starts: every thread inherits the
  // mask, and a thread that does not block SIGTERM (gRPC starts some as soon as credentials
  // are made) would take it with the default action, killing the process uncleanly.
  const sigset_t stop_signals = callbackledger::StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // Named as started, not "exe"; the threads started from here on inherit the name until
  // they name themselves (the committer, the expiry, ...).
  callbackledger::NameThisThread(callbackledger::ProgramName(argv[0]));
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex lock would feed a
  // lock-order graph: about a tenth of ledgerd's instructions under load (see
  // docs/benchmarks.md). The unit tests keep the detection on; the server turns it off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "The Callback Ledger server. Every flag may also be set through the environment\n"
      "variable LEDGERD_<FLAG NAME IN CAPITALS>; the command line wins.");
  if (!callbackledger::ApplyEnvironment()) return 2;
  absl::ParseCommandLine(argc, argv);
  if (!callbackledger::ApplyLogFlags(/*strict=*/true)) return 2;
  callbackledger::RouteGrpcLogs();
  return callbackledger::Run();
}
