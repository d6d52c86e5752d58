// ledgerctl: the operators' command-line tool for Callback Ledger.
//
// Over the gRPC API of a running ledgerd: list/search, get, add, edit, enable, disable,
// remove, license, policy, add-credit, recharges, cost-report, events, export, import,
// health.
// Offline, on a data directory: verify.
//
// Exit codes: 0 success; 1 the server refused (its code and message are printed), or some
// import rows failed; 2 bad usage or a local error (a file that cannot be read or
// written); 3 the server could not be reached or did not answer in time. `health` exits 1
// when the server answers but is not SERVING. `verify` keeps its own: 0 the projections
// agree, 1 they differ, 2 an error.
#include <cctype>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "clients/channel_flags.h"
#include "clients/ledgerctl/commands.h"
#include "clients/ledgerctl/common.h"

int main(int argc, char** argv) {
  using callbackledger::ctl::Globals;
  using callbackledger::ctl::OutputFormat;

  CLI::App app{"ledgerctl: the Callback Ledger operators' tool"};
  app.require_subcommand(1);
  // Global options may also come after the subcommand.
  app.fallthrough();
  app.footer(
      "Exit codes: 0 ok; 1 the server refused (or import rows failed); 2 bad usage; 3 the "
      "server is unreachable.\nGlobal options (before or after the subcommand): --server, "
      "--timeout, -o/--output, --currency, --no-progress, --tls_ca, --tls_cert, --tls_key, "
      "--token_file; `ledgerctl --help` explains them.\n"
      "Environment: LEDGERCTL_SERVER, LEDGERCTL_CURRENCY, LEDGER_TOKEN (the bearer token "
      "when --token_file is not given).");

  // Usage errors name the subcommand and where its help is.
  app.failure_message([](const CLI::App* failed, const CLI::Error& error) {
    std::string command;
    for (const CLI::App* sub = failed; sub != nullptr;) {
      const auto chosen = sub->get_subcommands();
      if (chosen.empty()) break;
      sub = chosen.front();
      command += " " + sub->get_name();
    }
    return "ledgerctl" + command + ": " + error.what() + "\nRun `ledgerctl" + command +
           " --help` for the options.\n";
  });

  Globals globals;
  std::string output = "table";
  app.add_option("-s,--server", globals.server, "ledgerd's gRPC address, host:port")
      ->envname("LEDGERCTL_SERVER")
      ->capture_default_str();
  app.add_option("--timeout", globals.timeout_seconds, "seconds to wait for each answer")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("-o,--output", output, "table (for people), json or csv (for scripts)")
      ->check(CLI::IsMember({"table", "json", "csv"}, CLI::ignore_case))
      ->capture_default_str();
  app.add_option("--currency", globals.currency,
                 "the currency code shown beside money in tables (default: the server's own)")
      ->envname("LEDGERCTL_CURRENCY");
  app.add_flag("--no-progress", globals.no_progress,
               "no progress bar, even on a terminal (it is drawn on stderr only when stderr is "
               "a terminal)");
  callbackledger::AddChannelFlags(&app, &globals.channel_flags);

  callbackledger::ctl::Runner run;
  callbackledger::ctl::AddCallerIdCommands(&app, &globals, &run);
  callbackledger::ctl::AddCreditCommands(&app, &globals, &run);
  callbackledger::ctl::AddReportCommands(&app, &globals, &run);
  callbackledger::ctl::AddExportCommands(&app, &globals, &run);
  callbackledger::ctl::AddImportCommand(&app, &globals, &run);
  callbackledger::ctl::AddHealthCommand(&app, &globals, &run);
  callbackledger::ctl::AddVerifyCommand(&app, &run);

  // A mistyped subcommand: say so, rather than "a subcommand is required".
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-s" || arg == "--server" || arg == "--timeout" || arg == "-o" ||
        arg == "--output" || arg == "--currency" || arg == "--tls_ca" || arg == "--tls_cert" ||
        arg == "--tls_key" || arg == "--token_file") {
      ++i;  // its value
      continue;
    }
    if (arg.empty() || arg[0] == '-') continue;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) {
      known = known || sub->check_name(arg);
    }
    if (!known) {
      std::fprintf(stderr,
                   "ledgerctl: unknown subcommand \"%s\"\nRun `ledgerctl --help` for the "
                   "subcommands.\n",
                   arg.c_str());
      return callbackledger::ctl::kExitUsage;
    }
    break;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : callbackledger::ctl::kExitUsage;
  }
  for (char& c : output) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  globals.output = output == "json"  ? OutputFormat::kJson
                   : output == "csv" ? OutputFormat::kCsv
                                     : OutputFormat::kTable;
  const std::string problem = callbackledger::ctl::CheckServerAddress(globals.server);
  if (!problem.empty()) {
    std::fprintf(stderr, "ledgerctl: %s\n", problem.c_str());
    return callbackledger::ctl::kExitUsage;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      callbackledger::ctl::OpenChannel(globals);
  if (!channel.ok()) {
    std::fprintf(stderr, "ledgerctl: %s\n", std::string(channel.status().message()).c_str());
    return callbackledger::ctl::kExitUsage;
  }
  globals.channel = *std::move(channel);
  if (!run) return callbackledger::ctl::kExitUsage;
  return run();
}
