// verify: replays the event log of a data directory (offline) and compares it with the
// stored projections. Exit codes: 0 they agree, 1 they differ, 2 an error.
#include <cstdio>
#include <memory>
#include <string>

#include "clients/ledgerctl/commands.h"
#include "clients/ledgerctl/progress.h"
#include "ledger/replay.h"
#include "ledger/store.h"

namespace callbackledger {
namespace ctl {
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
  absl::StatusOr<uint64_t> last = (*store)->LastSequence();
  Progress progress("verify", "events", /*bytes=*/false, /*disabled=*/false);
  progress.SetTotal(last.ok() ? *last : 0);
  absl::StatusOr<VerifyReport> report = VerifyProjections(
      store->get(), 20, [&progress](uint64_t sequence) { progress.Update(sequence); });
  progress.Finish();
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

void AddVerifyCommand(CLI::App* app, Runner* run) {
  auto data_dir = std::make_shared<std::string>("./data");
  CLI::App* verify = app->add_subcommand(
      "verify",
      "Replay the event log of a data directory (offline) and compare it with the stored "
      "projections; exit 0 when they agree, 1 when they differ, 2 on an error");
  verify->add_option("--data_dir", *data_dir, "the ledgerd data directory")->capture_default_str();
  verify->callback([=] { *run = [=] { return Verify(*data_dir); }; });
}

}  // namespace ctl
}  // namespace callbackledger
