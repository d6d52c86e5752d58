// add-credit, recharges, cost-report, events.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "clients/channel.h"
#include "clients/ledgerctl/commands.h"
#include "clients/ledgerctl/listings.h"
#include "clients/ledgerctl/output.h"

namespace callbackledger {
namespace ctl {
namespace {

// ---------------------------------------------------------------------------------------
// add-credit

struct AddCreditOptions {
  Target target;
  std::string amount;
  std::string order_no;
  std::string description;
  std::string request_id;
};

int AddCredit(const Globals& globals, const AddCreditOptions& options) {
  const std::string command = "add-credit";
  v1::AddCreditRequest request;
  const Target& target = options.target;
  if (target.id != 0) {
    if (!target.extension.empty() || !target.number.empty()) {
      return Fail(command, kExitUsage,
                  "give the CallerID's id or --extension and --number, not both");
    }
    request.set_callerid_id(target.id);
  } else if (!target.extension.empty() && !target.number.empty()) {
    request.set_extension(target.extension);
    request.set_callback_number(target.number);
  } else {
    return Fail(command, kExitUsage,
                "which CallerID? Give its id or --extension EXT --number NUMBER");
  }
  request.set_amount(options.amount);
  request.set_order_no(options.order_no);
  request.set_description(options.description);
  request.set_request_id(options.request_id);
  Connection connection(globals);
  v1::Recharge recharge;
  grpc::Status status =
      Call(connection, connection.credit(), &v1::Credit::Stub::AddCredit, request, &recharge);
  if (!status.ok()) return RpcFailed(command, globals, status);
  PrintRecharge(globals, recharge);
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// recharges

int Recharges(const Globals& globals, const Target& target, uint64_t limit) {
  const std::string command = "recharges";
  Connection connection(globals);
  uint64_t id = 0;
  if (int code = ResolveTarget(command, globals, connection, target, &id); code != kExitOk) {
    return code;
  }
  v1::ListRechargesRequest request;
  request.set_callerid_id(id);
  std::unique_ptr<RowSink> sink = StdoutSink(globals, "");
  uint64_t rows = 0;
  const int code =
      ListRechargesInto(command, globals, connection, request, StdoutStyle(globals, false), limit,
                        sink.get(), nullptr, &rows);
  if (code != kExitOk) return code;
  const std::string error = sink->End();
  if (!error.empty()) return Fail(command, kExitUsage, error);
  if (globals.output == OutputFormat::kTable) {
    std::printf("%s %s of CallerID %llu, newest first\n", Thousands(rows).c_str(),
                rows == 1 ? "recharge" : "recharges", static_cast<unsigned long long>(id));
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// cost-report

struct CostReportOptions {
  std::string extension;
  uint64_t id = 0;
  std::string from;
  std::string to;
};

// Fills the request from the options; returns an exit code.
int CostReportRequest(const std::string& command, const CostReportOptions& options,
                      v1::GetCostReportRequest* request) {
  if (options.extension.empty() && options.id == 0) {
    return Fail(command, kExitUsage, "whose calls? Give --extension EXT or --id CALLERID_ID");
  }
  request->set_extension(options.extension);
  request->set_callerid_id(options.id);
  if (!options.from.empty() && !ParseTimeArgument(options.from, request->mutable_start_time())) {
    return Fail(command, kExitUsage,
                absl::StrCat("--from: \"", options.from,
                             "\" is not a time; use 2026-11-01 or 2026-11-01T08:00:00Z"));
  }
  if (!options.to.empty() && !ParseTimeArgument(options.to, request->mutable_end_time())) {
    return Fail(command, kExitUsage,
                absl::StrCat("--to: \"", options.to,
                             "\" is not a time; use 2026-12-01 or 2026-12-01T08:00:00Z"));
  }
  return kExitOk;
}

int CostReport(const Globals& globals, const CostReportOptions& options) {
  const std::string command = "cost-report";
  v1::GetCostReportRequest request;
  if (int code = CostReportRequest(command, options, &request); code != kExitOk) return code;
  Connection connection(globals);
  std::unique_ptr<RowSink> sink = StdoutSink(globals, "calls");
  uint64_t rows = 0;
  v1::GetCostReportResponse totals;
  const int code =
      CostReportInto(command, globals, connection, request,
                     StdoutStyle(globals, /*extension_column=*/options.extension.empty()),
                     sink.get(), nullptr, &rows, &totals);
  if (code != kExitOk) return code;
  const std::string error = sink->End();
  if (!error.empty()) return Fail(command, kExitUsage, error);
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// events

struct EventsOptions {
  uint64_t from = 0;
  uint64_t last = 20;
  bool follow = false;
  uint64_t count = 0;
  CLI::Option* from_option = nullptr;
};

int Events(const Globals& globals, const EventsOptions& options) {
  const std::string command = "events";
  if (options.from_option->count() > 0 && options.from == 0) {
    return Fail(command, kExitUsage, "--from: sequence numbers start at 1");
  }
  Connection connection(globals);
  const bool people = globals.output == OutputFormat::kTable;
  std::unique_ptr<RowSink> sink = StdoutSink(globals, "", /*follow=*/true);
  sink->Begin(EventColumns(people));
  uint64_t printed = 0;
  auto print = [&](const v1::Event& event) {
    sink->Row(EventCells(event, people), event);
    ++printed;
    return options.count != 0 && printed >= options.count;
  };

  // Where to start: --from, or the last N events.
  v1::ReadEventsRequest request;
  request.set_from_sequence(1);
  request.set_page_size(1);
  v1::ReadEventsResponse page;
  grpc::Status status =
      Call(connection, connection.events(), &v1::Events::Stub::ReadEvents, request, &page);
  if (!status.ok()) return RpcFailed(command, globals, status);
  uint64_t next = options.from_option->count() > 0       ? options.from
                  : page.last_sequence() >= options.last ? page.last_sequence() - options.last + 1
                                                         : 1;

  // The log up to its current end, page by page.
  request.set_page_size(kPageSize);
  while (true) {
    request.set_from_sequence(next);
    status = Call(connection, connection.events(), &v1::Events::Stub::ReadEvents, request, &page);
    if (!status.ok()) return RpcFailed(command, globals, status);
    for (const v1::Event& event : page.events()) {
      next = event.sequence() + 1;
      if (print(event)) {
        sink->End();
        return kExitOk;
      }
    }
    if (page.events_size() == 0 || next > page.last_sequence()) break;
  }
  if (!options.follow) {
    const std::string error = sink->End();
    return error.empty() ? kExitOk : Fail(command, kExitUsage, error);
  }

  // Then follow it. When the server goes away (a restart: UNAVAILABLE, or CANCELLED from
  // a server still shutting down), resume where we were once it is back, for up to
  // --timeout seconds of failed attempts in a row.
  using Clock = std::chrono::steady_clock;
  const auto patience =
      std::chrono::milliseconds(static_cast<int64_t>(globals.timeout_seconds * 1000));
  Clock::time_point give_up = Clock::time_point::max();
  std::chrono::milliseconds backoff(100);
  while (true) {
    const Clock::time_point opened = Clock::now();
    std::unique_ptr<grpc::ClientContext> context = connection.NewStreamContext();
    v1::WatchEventsRequest watch;
    watch.set_from_sequence(next);
    std::unique_ptr<grpc::ClientReader<v1::Event>> reader =
        connection.events()->WatchEvents(context.get(), watch);
    v1::Event event;
    while (reader->Read(&event)) {
      next = event.sequence() + 1;
      if (print(event)) {
        context->TryCancel();
        reader->Finish();
        sink->End();
        return kExitOk;
      }
    }
    status = reader->Finish();
    const bool server_went_away = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                                  status.error_code() == grpc::StatusCode::CANCELLED;
    if (!server_went_away) {
      sink->End();
      return status.ok() ? kExitOk : RpcFailed(command, globals, status);
    }
    const Clock::time_point now = Clock::now();
    if (now - opened > std::chrono::seconds(1) || give_up == Clock::time_point::max()) {
      // It had been following: a new outage.
      give_up = now + patience;
      backoff = std::chrono::milliseconds(100);
      std::fprintf(stderr,
                   "ledgerctl events: the stream ended (%s: %s); waiting up to %g s for "
                   "ledgerd to come back\n",
                   StatusCodeName(status.error_code()).c_str(), status.error_message().c_str(),
                   globals.timeout_seconds);
    }
    if (now >= give_up) {
      sink->End();
      return Fail(command, kExitUnreachable,
                  absl::StrCat("ledgerd at ", globals.server,
                               " did not come back; resume with --from ", next, " --follow"));
    }
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
        backoff, std::chrono::duration_cast<std::chrono::milliseconds>(give_up - now)));
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(2));
    connection.channel()->WaitForConnected(
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now()));
  }
}

}  // namespace

void AddCreditCommands(CLI::App* app, const Globals* globals, Runner* run) {
  {
    auto options = std::make_shared<AddCreditOptions>();
    CLI::App* add_credit = app->add_subcommand(
        "add-credit", "Recharge a CallerID (\"Add credit\"); a negative amount takes credit back");
    AddTargetOptions(add_credit, &options->target);
    add_credit
        ->add_option("--amount", options->amount,
                     "the credit to add, e.g. 5 or 10.50; negative to take back: --amount=-2.25")
        ->required();
    add_credit->add_option("--order-no", options->order_no, "your reference for the recharge");
    add_credit->add_option("--description", options->description, "a note kept with it");
    add_credit->add_option("--request-id", options->request_id,
                           "an idempotency key: a retry with the same values adds nothing twice");
    add_credit->callback([=] { *run = [=] { return AddCredit(*globals, *options); }; });
  }
  {
    auto target = std::make_shared<Target>();
    auto limit = std::make_shared<uint64_t>(0);
    CLI::App* recharges =
        app->add_subcommand("recharges", "The recharge history of a CallerID, newest first");
    AddTargetOptions(recharges, target.get());
    recharges->add_option("--limit", *limit, "show at most this many (default: all)");
    recharges->callback([=] { *run = [=] { return Recharges(*globals, *target, *limit); }; });
  }
}

void AddReportCommands(CLI::App* app, const Globals* globals, Runner* run) {
  {
    auto options = std::make_shared<CostReportOptions>();
    CLI::App* report = app->add_subcommand(
        "cost-report", "The settled calls of an extension or a CallerID, with totals");
    report->add_option("-e,--extension", options->extension, "the Callback extension");
    report->add_option("--id", options->id, "one CallerID's id");
    report->add_option("--from", options->from,
                       "calls that started at or after this time (UTC unless an offset is "
                       "given), e.g. 2026-11-01");
    report->add_option("--to", options->to, "calls that started before this time");
    report->callback([=] { *run = [=] { return CostReport(*globals, *options); }; });
  }
  {
    auto options = std::make_shared<EventsOptions>();
    CLI::App* events = app->add_subcommand(
        "events",
        "Tail the event log: the last events, or from a sequence number; --follow "
        "waits for new ones");
    options->from_option =
        events->add_option("--from", options->from, "start at this sequence number");
    events->add_option("-n,--last", options->last, "without --from: the last N events")
        ->capture_default_str();
    events->add_flag("-f,--follow", options->follow, "keep printing new events as they commit");
    events->add_option("--count", options->count, "stop after printing this many events");
    events->callback([=] { *run = [=] { return Events(*globals, *options); }; });
  }
}

// Used by export.cc.
int MakeCostReportRequest(const std::string& command, const std::string& extension, uint64_t id,
                          const std::string& from, const std::string& to,
                          v1::GetCostReportRequest* request) {
  CostReportOptions options{extension, id, from, to};
  return CostReportRequest(command, options, request);
}

}  // namespace ctl
}  // namespace callbackledger
