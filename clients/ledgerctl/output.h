// Output helpers shared by the subcommands: the sink for -o, single records for people,
// and how a CallerID is named on the command line.
#ifndef CALLBACKLEDGER_CLIENTS_LEDGERCTL_OUTPUT_H_
#define CALLBACKLEDGER_CLIENTS_LEDGERCTL_OUTPUT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "clients/ledgerctl/common.h"
#include "clients/ledgerctl/listings.h"
#include "clients/ledgerctl/sink.h"

namespace callbackledger {
namespace ctl {

// The sink for stdout that -o asks for. `array_key` names the rows in JSON (see
// NewJsonSink); `follow` for streams (JSON Lines, CSV flushed per row, no measuring).
std::unique_ptr<RowSink> StdoutSink(const Globals& globals, const std::string& array_key,
                                    bool follow = false);

// The listing style for stdout: for people with -o table, complete otherwise.
ListingStyle StdoutStyle(const Globals& globals, bool extension_column);

// "key   value" lines, the keys padded to one width.
void PrintFields(const std::vector<std::pair<std::string, std::string>>& fields);

// One CallerID as -o asks: fields for people, pretty JSON, or a CSV header and row.
void PrintCallerId(const Globals& globals, const v1::CallerId& caller_id);
// One recharge likewise.
void PrintRecharge(const Globals& globals, const v1::Recharge& recharge);

// The CallerID a command acts on: its id, or --extension and --number.
struct Target {
  uint64_t id = 0;
  std::string extension;
  std::string number;
};

// Adds the positional ID and --extension/--number to `command`.
void AddTargetOptions(CLI::App* command, Target* target);

// Resolves a target to an id (GetCallerId for a number). Returns an exit code.
int ResolveTarget(const std::string& command, const Globals& globals, const Connection& connection,
                  const Target& target, uint64_t* id);

// Reads a PIN from the first line of stdin (for --pin-stdin); false when there is none.
bool ReadPinFromStdin(std::string* pin);

}  // namespace ctl
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_CLIENTS_LEDGERCTL_OUTPUT_H_
