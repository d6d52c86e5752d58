#include "clients/ledgerctl/output.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "clients/ledgerctl/csv.h"

namespace callbackledger {
namespace ctl {

std::unique_ptr<RowSink> StdoutSink(const Globals& globals, const std::string& array_key,
                                    bool follow) {
  switch (globals.output) {
    case OutputFormat::kJson:
      return NewJsonSink(stdout, array_key, follow);
    case OutputFormat::kCsv:
      return NewCsvSink(stdout, follow);
    case OutputFormat::kTable:
      break;
  }
  return NewTableSink(stdout, follow ? 0 : kPageSize);
}

ListingStyle StdoutStyle(const Globals& globals, bool extension_column) {
  ListingStyle style;
  if (globals.output == OutputFormat::kTable) {
    style.table = true;
    style.unlimited_text = true;
    style.unlimited_column = false;
    style.extension_column = extension_column;
  }
  return style;
}

void PrintFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [key, value] : fields) width = std::max(width, key.size());
  for (const auto& [key, value] : fields) {
    std::string line = absl::StrCat(key, std::string(width - key.size(), ' '), "  ", value);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

namespace {

std::string Credit(const Globals& globals, const std::string& money, bool unlimited) {
  return unlimited ? "unlimited" : WithCurrency(globals, money);
}

}  // namespace

void PrintCallerId(const Globals& globals, const v1::CallerId& c) {
  if (globals.output == OutputFormat::kJson) {
    std::printf("%s\n", ToJson(c, /*pretty=*/true).c_str());
    return;
  }
  if (globals.output == OutputFormat::kCsv) {
    ListingStyle style;
    std::vector<std::string> keys;
    for (const Column& column : CallerIdColumns(globals, style)) keys.push_back(column.key);
    std::vector<std::string> texts;
    for (const Cell& cell : CallerIdCells(c, style)) texts.push_back(cell.text);
    std::fputs(CsvRecord(keys).c_str(), stdout);
    std::fputs(CsvRecord(texts).c_str(), stdout);
    return;
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"id", std::to_string(c.id())},
      {"extension", c.extension()},
      {"status", StatusName(c.status())},
      {"callback number", c.callback_number()},
      {"PIN", c.pin_set()
                  ? (c.pin_locked() ? "yes (locked: `ledgerctl edit ID --reset-pin-lock`)" : "yes")
                  : "no"},
      {"total credit", Credit(globals, c.total_credit(), c.unlimited())},
      {"available credit", Credit(globals, c.available_credit(), c.unlimited())},
  };
  if (!c.unlimited()) fields.push_back({"credit left", WithCurrency(globals, c.credit_left())});
  if (c.open_reservations() != 0) {
    fields.push_back({"held by calls", absl::StrCat(WithCurrency(globals, c.held_credit()), " (",
                                                    c.open_reservations(), " open)")});
  }
  fields.push_back({"created", absl::StrCat(HumanTime(c.created_at()), " UTC")});
  fields.push_back({"updated", absl::StrCat(HumanTime(c.updated_at()), " UTC")});
  fields.push_back({"order no", c.order_no()});
  PrintFields(fields);
}

void PrintRecharge(const Globals& globals, const v1::Recharge& r) {
  if (globals.output == OutputFormat::kJson) {
    std::printf("%s\n", ToJson(r, /*pretty=*/true).c_str());
    return;
  }
  if (globals.output == OutputFormat::kCsv) {
    ListingStyle style;
    std::vector<std::string> keys;
    for (const Column& column : RechargeColumns(globals, style)) keys.push_back(column.key);
    std::vector<std::string> texts;
    for (const Cell& cell : RechargeCells(r, style)) texts.push_back(cell.text);
    std::fputs(CsvRecord(keys).c_str(), stdout);
    std::fputs(CsvRecord(texts).c_str(), stdout);
    return;
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"recharge", std::to_string(r.id())},
      {"CallerID id", std::to_string(r.callerid_id())},
      {"credit added", WithCurrency(globals, r.amount())},
      {"credit left", Credit(globals, r.credit_left(), r.unlimited())},
      {"total credit", Credit(globals, r.total_credit(), r.unlimited())},
      {"available credit", Credit(globals, r.available_credit(), r.unlimited())},
      {"order no", r.order_no()},
      {"description", r.description()},
      {"date", absl::StrCat(HumanTime(r.created_at()), " UTC")},
      {"by", r.actor()},
  };
  if (!r.request_id().empty()) fields.push_back({"request id", r.request_id()});
  PrintFields(fields);
}

void AddTargetOptions(CLI::App* command, Target* target) {
  command->add_option("id", target->id, "the CallerID's id (see `ledgerctl list`)");
  command->add_option("-e,--extension", target->extension,
                      "with --number: the extension of the CallerID, instead of its id");
  command->add_option("-n,--number", target->number,
                      "with --extension: the CallerID's callback number, instead of its id");
}

int ResolveTarget(const std::string& command, const Globals& globals, const Connection& connection,
                  const Target& target, uint64_t* id) {
  if (target.id != 0) {
    if (!target.extension.empty() || !target.number.empty()) {
      return Fail(command, kExitUsage,
                  "give the CallerID's id or --extension and --number, not both");
    }
    *id = target.id;
    return kExitOk;
  }
  if (target.extension.empty() || target.number.empty()) {
    return Fail(command, kExitUsage,
                "which CallerID? Give its id (see `ledgerctl list --extension EXT`) or "
                "--extension EXT --number NUMBER");
  }
  v1::GetCallerIdRequest request;
  request.set_extension(target.extension);
  request.set_callback_number(target.number);
  v1::CallerId caller_id;
  grpc::Status status = Call(connection, connection.caller_ids(), &v1::CallerIds::Stub::GetCallerId,
                             request, &caller_id);
  if (!status.ok()) return RpcFailed(command, globals, status);
  *id = caller_id.id();
  return kExitOk;
}

bool ReadPinFromStdin(std::string* pin) {
  std::string line;
  if (!std::getline(std::cin, line)) return false;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  *pin = line;
  return true;
}

}  // namespace ctl
}  // namespace callbackledger
