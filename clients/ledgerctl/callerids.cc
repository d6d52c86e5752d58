// list (search), get, add, edit, enable, disable, remove, license, policy.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/ledgerctl/commands.h"
#include "clients/ledgerctl/csv.h"
#include "clients/ledgerctl/listings.h"
#include "clients/ledgerctl/output.h"

namespace callbackledger {
namespace ctl {
namespace {

const std::vector<std::string> kStatusNames = {"ENABLED", "DISABLED"};

// --status, case-insensitive.
CLI::Option* AddStatusOption(CLI::App* command, std::string* status, const std::string& help) {
  return command->add_option("--status", *status, help)
      ->check(CLI::IsMember(kStatusNames, CLI::ignore_case));
}

v1::CallerId::Status ToStatus(const std::string& text) {
  v1::CallerId::Status status = v1::CallerId::STATUS_UNSPECIFIED;
  ParseStatus(text, &status);
  return status;
}

// ---------------------------------------------------------------------------------------
// list

struct ListOptions {
  std::string extension;
  std::string number;
  std::string status;
  uint64_t limit = 0;
};

int List(const Globals& globals, const ListOptions& options) {
  const std::string command = "list";
  Connection connection(globals);
  v1::ListCallerIdsRequest request;
  request.set_extension(options.extension);
  request.set_callback_number(options.number);
  if (!options.status.empty()) request.set_status(ToStatus(options.status));
  std::unique_ptr<RowSink> sink = StdoutSink(globals, "");
  uint64_t rows = 0;
  uint64_t total = 0;
  const int code =
      ListCallerIdsInto(command, globals, connection, request,
                        StdoutStyle(globals, /*extension_column=*/options.extension.empty()),
                        options.limit, sink.get(), nullptr, &rows, &total);
  if (code != kExitOk) return code;
  const std::string error = sink->End();
  if (!error.empty()) return Fail(command, kExitUsage, error);
  if (globals.output == OutputFormat::kTable) {
    std::string where = options.extension.empty()
                            ? "in all extensions"
                            : absl::StrCat("in extension ", options.extension);
    if (rows == total) {
      std::printf("%s %s %s\n", Thousands(total).c_str(), total == 1 ? "CallerID" : "CallerIDs",
                  where.c_str());
    } else {
      std::printf("%s of %s CallerIDs %s (--limit)\n", Thousands(rows).c_str(),
                  Thousands(total).c_str(), where.c_str());
    }
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// get

int Get(const Globals& globals, const Target& target) {
  const std::string command = "get";
  Connection connection(globals);
  v1::GetCallerIdRequest request;
  if (target.id != 0) {
    if (!target.extension.empty() || !target.number.empty()) {
      return Fail(command, kExitUsage,
                  "give the CallerID's id or --extension and --number, not both");
    }
    request.set_callerid_id(target.id);
  } else {
    if (target.extension.empty() || target.number.empty()) {
      return Fail(command, kExitUsage,
                  "which CallerID? Give its id or --extension EXT --number NUMBER");
    }
    request.set_extension(target.extension);
    request.set_callback_number(target.number);
  }
  v1::CallerId caller_id;
  grpc::Status status = Call(connection, connection.caller_ids(), &v1::CallerIds::Stub::GetCallerId,
                             request, &caller_id);
  if (!status.ok()) return RpcFailed(command, globals, status);
  PrintCallerId(globals, caller_id);
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// add

struct AddOptions {
  std::string extension;
  std::string number;
  std::string pin;
  bool pin_stdin = false;
  std::string credit;
  bool unlimited = false;
  std::string order_no;
  std::string status = "ENABLED";
  std::string request_id;
};

int Add(const Globals& globals, const AddOptions& options) {
  const std::string command = "add";
  v1::AddCallerIdRequest request;
  request.set_extension(options.extension);
  request.set_callback_number(options.number);
  std::string pin = options.pin;
  if (options.pin_stdin && !ReadPinFromStdin(&pin)) {
    return Fail(command, kExitUsage, "--pin-stdin: nothing to read on stdin");
  }
  request.set_pin(pin);
  request.set_initial_credit(options.credit);
  request.set_unlimited(options.unlimited);
  request.set_order_no(options.order_no);
  request.set_status(ToStatus(options.status));
  request.set_request_id(options.request_id);
  Connection connection(globals);
  v1::CallerId caller_id;
  grpc::Status status = Call(connection, connection.caller_ids(), &v1::CallerIds::Stub::AddCallerId,
                             request, &caller_id);
  if (!status.ok()) return RpcFailed(command, globals, status);
  PrintCallerId(globals, caller_id);
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// edit

struct EditOptions {
  Target target;
  std::string new_number;
  std::string pin;
  bool pin_stdin = false;
  bool remove_pin = false;
  std::string status;
  std::string order_no;
  bool reset_pin_lock = false;
  // Which options were given (an empty --order-no clears it).
  CLI::Option* new_number_option = nullptr;
  CLI::Option* pin_option = nullptr;
  CLI::Option* order_no_option = nullptr;
};

int Edit(const Globals& globals, const EditOptions& options) {
  const std::string command = "edit";
  v1::UpdateCallerIdRequest request;
  if (options.new_number_option->count() > 0) request.set_callback_number(options.new_number);
  int pins = (options.pin_option->count() > 0) + options.pin_stdin + options.remove_pin;
  if (pins > 1) {
    return Fail(command, kExitUsage, "give one of --pin, --pin-stdin and --remove-pin");
  }
  if (options.pin_option->count() > 0) request.set_pin(options.pin);
  if (options.pin_stdin) {
    std::string pin;
    if (!ReadPinFromStdin(&pin)) return Fail(command, kExitUsage, "--pin-stdin: nothing on stdin");
    request.set_pin(pin);
  }
  if (options.remove_pin) request.set_pin("");
  if (!options.status.empty()) request.set_status(ToStatus(options.status));
  if (options.order_no_option->count() > 0) request.set_order_no(options.order_no);
  request.set_reset_pin_lock(options.reset_pin_lock);
  if (!request.has_callback_number() && !request.has_pin() && !request.has_status() &&
      !request.has_order_no() && !request.reset_pin_lock()) {
    return Fail(command, kExitUsage,
                "nothing to change: give --new-number, --pin, --pin-stdin, --remove-pin, "
                "--status, --order-no or --reset-pin-lock");
  }
  Connection connection(globals);
  uint64_t id = 0;
  if (int code = ResolveTarget(command, globals, connection, options.target, &id); code != 0) {
    return code;
  }
  request.set_callerid_id(id);
  v1::CallerId caller_id;
  grpc::Status status = Call(connection, connection.caller_ids(),
                             &v1::CallerIds::Stub::UpdateCallerId, request, &caller_id);
  if (!status.ok()) return RpcFailed(command, globals, status);
  PrintCallerId(globals, caller_id);
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// enable, disable

int SetStatus(const Globals& globals, const std::string& command, v1::CallerId::Status status,
              const std::vector<uint64_t>& ids) {
  Connection connection(globals);
  int result = kExitOk;
  std::unique_ptr<RowSink> sink;
  if (globals.output != OutputFormat::kTable) {
    sink = StdoutSink(globals, "");
    sink->Begin(CallerIdColumns(globals, StdoutStyle(globals, true)));
  }
  for (uint64_t id : ids) {
    v1::UpdateCallerIdRequest request;
    request.set_callerid_id(id);
    request.set_status(status);
    v1::CallerId caller_id;
    grpc::Status rpc = Call(connection, connection.caller_ids(),
                            &v1::CallerIds::Stub::UpdateCallerId, request, &caller_id);
    if (!rpc.ok()) {
      const int code = RpcFailed(absl::StrCat(command, " ", id), globals, rpc);
      if (code == kExitUnreachable) return code;
      result = code;
      continue;
    }
    if (sink != nullptr) {
      sink->Row(CallerIdCells(caller_id, StdoutStyle(globals, true)), caller_id);
    } else {
      std::printf("CallerID %llu (%s, extension %s) is %s\n",
                  static_cast<unsigned long long>(caller_id.id()),
                  caller_id.callback_number().c_str(), caller_id.extension().c_str(),
                  StatusName(caller_id.status()));
    }
  }
  if (sink != nullptr) sink->End();
  return result;
}

// ---------------------------------------------------------------------------------------
// remove

int Remove(const Globals& globals, const std::vector<uint64_t>& ids, bool yes) {
  const std::string command = "remove";
  if (ids.size() > 1 && !yes) {
    return Fail(command, kExitUsage,
                absl::StrCat("removing ", ids.size(),
                             " CallerIDs at once needs --yes (all of them are removed, or none)"));
  }
  Connection connection(globals);
  v1::RemoveCallerIdsRequest request;
  for (uint64_t id : ids) request.add_callerid_ids(id);
  v1::RemoveCallerIdsResponse response;
  grpc::Status status = Call(connection, connection.caller_ids(),
                             &v1::CallerIds::Stub::RemoveCallerIds, request, &response);
  if (!status.ok()) return RpcFailed(command, globals, status);
  if (globals.output == OutputFormat::kJson) {
    std::printf("%s\n", ToJson(response, /*pretty=*/true).c_str());
  } else if (globals.output == OutputFormat::kCsv) {
    std::printf("removed_id\r\n");
    for (uint64_t id : response.removed_ids()) {
      std::printf("%llu\r\n", static_cast<unsigned long long>(id));
    }
  } else {
    std::printf("removed %s %s\n", response.removed_ids_size() == 1 ? "CallerID" : "CallerIDs",
                absl::StrJoin(response.removed_ids(), ", ").c_str());
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// license, policy

void PrintPolicy(const Globals& globals, const v1::ExtensionPolicy& policy,
                 std::vector<std::pair<std::string, std::string>>* fields) {
  const std::string prefix = absl::StrCat("extension ", policy.extension(), ": ");
  fields->push_back({prefix + "limit", policy.max_active_callerids() == 0
                                           ? "none of its own (the license's)"
                                           : std::to_string(policy.max_active_callerids())});
  fields->push_back({prefix + "enabled", std::to_string(policy.active_callerids())});
  fields->push_back({prefix + "all", std::to_string(policy.total_callerids())});
  fields->push_back(
      {prefix + "least credit to call",
       WithCurrency(globals,
                    policy.min_credit_to_call().empty() ? "0" : policy.min_credit_to_call())});
}

int License(const Globals& globals, const std::string& extension) {
  const std::string command = "license";
  Connection connection(globals);
  v1::GetLicenseUsageRequest request;
  request.set_extension(extension);
  v1::LicenseUsage usage;
  grpc::Status status = Call(connection, connection.caller_ids(),
                             &v1::CallerIds::Stub::GetLicenseUsage, request, &usage);
  if (!status.ok()) return RpcFailed(command, globals, status);
  if (globals.output == OutputFormat::kJson) {
    std::printf("%s\n", ToJson(usage, /*pretty=*/true).c_str());
    return kExitOk;
  }
  if (globals.output == OutputFormat::kCsv) {
    std::vector<std::string> keys = {"max_active_callerids", "active_callerids", "total_callerids",
                                     "available"};
    std::vector<std::string> values = {
        std::to_string(usage.max_active_callerids()), std::to_string(usage.active_callerids()),
        std::to_string(usage.total_callerids()), std::to_string(usage.available())};
    if (usage.has_extension_policy()) {
      const v1::ExtensionPolicy& p = usage.extension_policy();
      keys.insert(keys.end(),
                  {"extension", "extension_max_active_callerids", "extension_active_callerids",
                   "extension_total_callerids", "min_credit_to_call"});
      values.insert(values.end(), {p.extension(), std::to_string(p.max_active_callerids()),
                                   std::to_string(p.active_callerids()),
                                   std::to_string(p.total_callerids()), p.min_credit_to_call()});
    }
    std::fputs(CsvRecord(keys).c_str(), stdout);
    std::fputs(CsvRecord(values).c_str(), stdout);
    return kExitOk;
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"license limit (enabled CallerIDs)", Thousands(usage.max_active_callerids())},
      {"enabled CallerIDs (counted)", Thousands(usage.active_callerids())},
      {"all CallerIDs", Thousands(usage.total_callerids())},
      {"may still be enabled", Thousands(usage.available())},
  };
  if (usage.has_extension_policy()) PrintPolicy(globals, usage.extension_policy(), &fields);
  PrintFields(fields);
  return kExitOk;
}

struct PolicyOptions {
  std::string extension;
  uint32_t max_active = 0;
  std::string min_credit;
  CLI::Option* max_active_option = nullptr;
  CLI::Option* min_credit_option = nullptr;
};

int Policy(const Globals& globals, const PolicyOptions& options) {
  const std::string command = "policy";
  Connection connection(globals);
  // SetExtensionPolicy sets both values: keep the one not given.
  v1::GetLicenseUsageRequest usage_request;
  usage_request.set_extension(options.extension);
  v1::LicenseUsage usage;
  grpc::Status status = Call(connection, connection.caller_ids(),
                             &v1::CallerIds::Stub::GetLicenseUsage, usage_request, &usage);
  if (!status.ok()) return RpcFailed(command, globals, status);
  v1::ExtensionPolicy policy = usage.extension_policy();
  if (options.max_active_option->count() > 0 || options.min_credit_option->count() > 0) {
    v1::SetExtensionPolicyRequest request;
    request.set_extension(options.extension);
    request.set_max_active_callerids(options.max_active_option->count() > 0
                                         ? options.max_active
                                         : policy.max_active_callerids());
    request.set_min_credit_to_call(
        options.min_credit_option->count() > 0 ? options.min_credit : policy.min_credit_to_call());
    status = Call(connection, connection.caller_ids(), &v1::CallerIds::Stub::SetExtensionPolicy,
                  request, &policy);
    if (!status.ok()) return RpcFailed(command, globals, status);
  }
  if (globals.output == OutputFormat::kJson) {
    std::printf("%s\n", ToJson(policy, /*pretty=*/true).c_str());
    return kExitOk;
  }
  if (globals.output == OutputFormat::kCsv) {
    std::fputs(CsvRecord({"extension", "max_active_callerids", "min_credit_to_call",
                          "active_callerids", "total_callerids"})
                   .c_str(),
               stdout);
    std::fputs(CsvRecord({policy.extension(), std::to_string(policy.max_active_callerids()),
                          policy.min_credit_to_call(), std::to_string(policy.active_callerids()),
                          std::to_string(policy.total_callerids())})
                   .c_str(),
               stdout);
    return kExitOk;
  }
  std::vector<std::pair<std::string, std::string>> fields;
  PrintPolicy(globals, policy, &fields);
  PrintFields(fields);
  return kExitOk;
}

}  // namespace

void AddCallerIdCommands(CLI::App* app, const Globals* globals, Runner* run) {
  {
    auto options = std::make_shared<ListOptions>();
    CLI::App* list =
        app->add_subcommand("list", "List or search the CallerIDs of an extension (alias: search)");
    list->alias("search");
    list->add_option("-e,--extension", options->extension,
                     "the Callback extension, e.g. 0003*005 (default: every extension)");
    list->add_option("-n,--number", options->number,
                     "keep numbers that contain this text, e.g. 0721");
    AddStatusOption(list, &options->status, "keep only ENABLED or DISABLED ones");
    list->add_option("--limit", options->limit, "show at most this many (default: all)");
    list->callback([=] { *run = [=] { return List(*globals, *options); }; });
  }
  {
    auto target = std::make_shared<Target>();
    CLI::App* get = app->add_subcommand("get", "Show one CallerID with all its fields");
    AddTargetOptions(get, target.get());
    get->callback([=] { *run = [=] { return Get(*globals, *target); }; });
  }
  {
    auto options = std::make_shared<AddOptions>();
    CLI::App* add = app->add_subcommand("add", "Authorize a number on a Callback extension");
    add->add_option("-e,--extension", options->extension, "the Callback extension, e.g. 0003*005")
        ->required();
    add->add_option("-n,--number", options->number,
                    "the number to authorize: an optional '+' and 3-20 digits")
        ->required();
    add->add_option("--pin", options->pin,
                    "a PIN of 4-12 digits the caller must enter (visible to `ps`: prefer "
                    "--pin-stdin)");
    add->add_flag("--pin-stdin", options->pin_stdin, "read the PIN from the first line of stdin");
    CLI::Option* credit = add->add_option("--credit", options->credit,
                                          "the initial credit, e.g. 10.50 (at most 6 decimals)");
    add->add_flag("--unlimited", options->unlimited, "unlimited credit")->excludes(credit);
    add->add_option("--order-no", options->order_no, "your reference for the initial credit");
    AddStatusOption(add, &options->status, "ENABLED (the default) or DISABLED");
    add->add_option("--request-id", options->request_id,
                    "an idempotency key: a retry with the same values adds nothing twice");
    add->callback([=] { *run = [=] { return Add(*globals, *options); }; });
  }
  {
    auto options = std::make_shared<EditOptions>();
    CLI::App* edit =
        app->add_subcommand("edit", "Change the number, PIN, status or order number of a CallerID");
    AddTargetOptions(edit, &options->target);
    options->new_number_option =
        edit->add_option("--new-number", options->new_number, "the new callback number");
    options->pin_option = edit->add_option("--pin", options->pin, "a new PIN of 4-12 digits");
    edit->add_flag("--pin-stdin", options->pin_stdin, "read the new PIN from stdin");
    edit->add_flag("--remove-pin", options->remove_pin, "no PIN any more");
    AddStatusOption(edit, &options->status, "ENABLED or DISABLED");
    options->order_no_option =
        edit->add_option("--order-no", options->order_no, "a new order number");
    edit->add_flag("--reset-pin-lock", options->reset_pin_lock,
                   "unlock a CallerID locked by wrong PINs");
    edit->callback([=] { *run = [=] { return Edit(*globals, *options); }; });
  }
  for (const char* name : {"enable", "disable"}) {
    auto ids = std::make_shared<std::vector<uint64_t>>();
    const bool enable = std::string(name) == "enable";
    CLI::App* command =
        app->add_subcommand(name, enable ? "Enable CallerIDs (they count against the license)"
                                         : "Disable CallerIDs (they stay listed but may not call)");
    command->add_option("ids", *ids, "the CallerIDs' ids")->required();
    const std::string command_name = name;
    command->callback([=] {
      *run = [=] {
        return SetStatus(*globals, command_name,
                         enable ? v1::CallerId::ENABLED : v1::CallerId::DISABLED, *ids);
      };
    });
  }
  {
    auto ids = std::make_shared<std::vector<uint64_t>>();
    auto yes = std::make_shared<bool>(false);
    CLI::App* remove = app->add_subcommand(
        "remove", "Remove CallerIDs: all of them or none (one with a call going on cannot be)");
    remove->add_option("ids", *ids, "the CallerIDs' ids")->required();
    remove->add_flag("-y,--yes", *yes, "confirm removing more than one at once");
    remove->callback([=] { *run = [=] { return Remove(*globals, *ids, *yes); }; });
  }
  {
    auto extension = std::make_shared<std::string>();
    CLI::App* license = app->add_subcommand(
        "license", "How many enabled CallerIDs the license allows and how many there are");
    license->add_option("-e,--extension", *extension, "also show this extension's own usage");
    license->callback([=] { *run = [=] { return License(*globals, *extension); }; });
  }
  {
    auto options = std::make_shared<PolicyOptions>();
    CLI::App* policy = app->add_subcommand(
        "policy", "Show or set an extension's policy: its own limit and the least credit to call");
    policy->add_option("-e,--extension", options->extension, "the Callback extension")->required();
    options->max_active_option = policy->add_option(
        "--max-active", options->max_active,
        "at most this many enabled CallerIDs in the extension (0: only the license's limit)");
    options->min_credit_option = policy->add_option("--min-credit", options->min_credit,
                                                    "the least available credit a call needs");
    policy->callback([=] { *run = [=] { return Policy(*globals, *options); }; });
  }
}

}  // namespace ctl
}  // namespace callbackledger
