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
ABSL_FLAG(int32_t, shutdown_grace_seconds, 10,
          "on SIGTERM, how long calls in flight may take to finish");

namespace callbackledger {
namespace {

constexpr const char* kFlagNames[] = {"listen",
                                      "data_dir",
                                      "currency",
                                      "decimals",
                                      "license_max_active_callerids",
                                      "metrics_listen",
                                      "insecure",
                                      "rebuild_projections",
                                      "shutdown_grace_seconds",
                                      "pin_max_attempts",
                                      "reservation_ttl_seconds"};

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
  }
  return true;
}

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
  if (!absl::GetFlag(FLAGS_metrics_listen).empty()) {
    LogWarning("--metrics_listen: this build has no metrics endpoint; ignored");
  }

  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Reflection describes Health only if its descriptor is linked in.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  LedgerHandle handle;
  CallerIdsService caller_ids(&handle);
  CreditService credit(&handle);
  WatchHub watch_hub;
  EventsService events(&handle, &watch_hub);
  CallsService calls(&handle);
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
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    LogError(absl::StrCat("cannot listen on ", listen));
    return 1;
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(false);
  LogInfo(absl::StrCat("listening on ", listen, " (port ", port, ")",
                       " (plaintext, no credentials: every caller is an administrator)"));

  LedgerOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.currency = absl::GetFlag(FLAGS_currency);
  options.decimals = absl::GetFlag(FLAGS_decimals);
  options.license_max_active_callerids = absl::GetFlag(FLAGS_license_max_active_callerids);
  options.rebuild_projections = absl::GetFlag(FLAGS_rebuild_projections);
  options.pin_max_attempts = absl::GetFlag(FLAGS_pin_max_attempts);
  options.default_ttl_seconds = absl::GetFlag(FLAGS_reservation_ttl_seconds);
  auto started = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(options);
  if (!ledger.ok()) {
    LogError(absl::StrCat("cannot open the ledger: ", ledger.status().message()));
    server->Shutdown(std::chrono::system_clock::now());
    return 1;
  }
  (*ledger)->committer()->SetCommitListener(
      [&watch_hub](const std::vector<v1::Event>&) { watch_hub.NotifyCommitted(); });
  handle.set(ledger->get());
  health->SetServingStatus(true);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  LogInfo(absl::StrCat("serving: data_dir=", options.data_dir, " currency=", options.currency,
                       " decimals=", options.decimals,
                       " license_max_active_callerids=", options.license_max_active_callerids,
                       " events=", (*ledger)->last_sequence(), " loaded in ", seconds, "s"));

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogInfo(absl::StrCat("signal ", signal_number, ": finishing calls in flight"));
  health->SetServingStatus(false);
  watch_hub.Shutdown();
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds)));
  handle.set(nullptr);
  (*ledger)->Shutdown();
  LogInfo("stopped cleanly");
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
  return callbackledger::Run();
}
