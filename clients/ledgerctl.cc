// ledgerctl: the operators' command-line tool.
//
//   ledgerctl verify --data_dir DIR   replays the event log of a data directory and
//                                     compares it with the stored projections (offline).
//
// Exit codes: 0 success, 1 the check found differences, 2 bad usage or an error.
#include <cstdio>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "ledger/replay.h"
#include "ledger/store.h"

namespace callbackledger {
namespace {

int Verify(const std::string& data_dir) {
  StoreOptions options;
  options.path = data_dir;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "ledgerctl verify: %s\n", std::string(store.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<VerifyReport> report = VerifyProjections(store->get());
  if (!report.ok()) {
    std::fprintf(stderr, "ledgerctl verify: %s\n", std::string(report.status().message()).c_str());
    return 2;
  }
  for (const std::string& sample : report->samples) std::printf("DIFF %s\n", sample.c_str());
  std::printf("events replayed: %llu, projection rows checked: %llu, differences: %llu\n",
              static_cast<unsigned long long>(report->events),
              static_cast<unsigned long long>(report->rows_checked),
              static_cast<unsigned long long>(report->differences));
  if (report->differences != 0) {
    std::printf("the projections differ from the log: run ledgerd --rebuild_projections\n");
    return 1;
  }
  std::printf("OK: the projections equal a replay of the log\n");
  return 0;
}

}  // namespace
}  // namespace callbackledger

int main(int argc, char** argv) {
  CLI::App app{"ledgerctl: the Callback Ledger operators' tool"};
  app.require_subcommand(1);
  std::string data_dir = "./data";
  CLI::App* verify = app.add_subcommand(
      "verify",
      "Replay the event log of a data directory (offline) and compare it with the "
      "stored projections");
  verify->add_option("--data_dir", data_dir, "the ledgerd data directory")->capture_default_str();
  int exit_code = 0;
  verify->callback([&] { exit_code = callbackledger::Verify(data_dir); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
