// The subcommands of ledgerctl. Each Add*Commands function adds its subcommands to the
// app; when one of them is chosen, its callback stores in `*run` the function that does
// the work and returns the exit code (main runs it once parsing is over).
#ifndef CALLBACKLEDGER_CLIENTS_LEDGERCTL_COMMANDS_H_
#define CALLBACKLEDGER_CLIENTS_LEDGERCTL_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <string>

#include "CLI/CLI.hpp"
#include "callbackledger/v1/reports.pb.h"
#include "clients/ledgerctl/common.h"

namespace callbackledger {
namespace ctl {

using Runner = std::function<int()>;

// list (search), get, add, edit, enable, disable, remove, license, policy.
void AddCallerIdCommands(CLI::App* app, const Globals* globals, Runner* run);
// add-credit, recharges.
void AddCreditCommands(CLI::App* app, const Globals* globals, Runner* run);
// cost-report, events.
void AddReportCommands(CLI::App* app, const Globals* globals, Runner* run);
// export callerids | recharges | cost-report.
void AddExportCommands(CLI::App* app, const Globals* globals, Runner* run);
// import.
void AddImportCommand(CLI::App* app, const Globals* globals, Runner* run);
// Fills a GetCostReportRequest from cost-report's options (shared with export); returns an
// exit code, having printed what is wrong.
int MakeCostReportRequest(const std::string& command, const std::string& extension, uint64_t id,
                          const std::string& from, const std::string& to,
                          v1::GetCostReportRequest* request);

// health (grpc.health.v1.Health/Check, for probes).
void AddHealthCommand(CLI::App* app, const Globals* globals, Runner* run);

// verify (offline).
void AddVerifyCommand(CLI::App* app, Runner* run);

}  // namespace ctl
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_CLIENTS_LEDGERCTL_COMMANDS_H_
