// export callerids | recharges | cost-report: CSV or an Excel workbook, page by page.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "clients/ledgerctl/commands.h"
#include "clients/ledgerctl/listings.h"
#include "clients/ledgerctl/output.h"
#include "clients/ledgerctl/progress.h"

namespace callbackledger {
namespace ctl {
namespace {

struct ExportFile {
  std::string path;
  std::string format;  // "", "csv" or "xlsx"
};

// Where the rows go: a sink, and how to finish (rename the CSV into place) or give up.
class ExportTarget {
 public:
  ~ExportTarget() {
    if (csv_ != nullptr) {
      std::fclose(csv_);
      std::remove(partial_.c_str());
    }
  }

  // Opens the output; returns an exit code, having printed what is wrong.
  int Open(const std::string& command, const ExportFile& file, const std::string& sheet_name) {
    command_ = command;
    path_ = file.path;
    std::string format = absl::AsciiStrToLower(file.format);
    if (format.empty()) {
      const std::string lower = absl::AsciiStrToLower(file.path);
      if (file.path == "-" || absl::EndsWith(lower, ".csv")) {
        format = "csv";
      } else if (absl::EndsWith(lower, ".xlsx")) {
        format = "xlsx";
      } else {
        return Fail(command, kExitUsage,
                    absl::StrCat("--file: cannot tell the format of \"", file.path,
                                 "\": name it .csv or .xlsx, or give --format csv|xlsx"));
      }
    }
    if (format == "xlsx") {
      if (file.path == "-") {
        return Fail(command, kExitUsage, "a workbook cannot go to stdout: give --file NAME.xlsx");
      }
      // libxlsxwriter writes the file when it closes the workbook: find out now whether it
      // can be written, not after a million rows.
      std::FILE* probe = std::fopen(file.path.c_str(), "wb");
      if (probe == nullptr) return CannotWrite(file.path);
      std::fclose(probe);
      sink_ = NewXlsxSink(file.path, sheet_name);
      return kExitOk;
    }
    if (file.path == "-") {
      sink_ = NewCsvSink(stdout);
      return kExitOk;
    }
    // Rows go to NAME.partial, renamed to NAME once complete.
    partial_ = file.path + ".partial";
    csv_ = std::fopen(partial_.c_str(), "wb");
    if (csv_ == nullptr) return CannotWrite(partial_);
    sink_ = NewCsvSink(csv_);
    return kExitOk;
  }

  RowSink* sink() const { return sink_.get(); }

  // Ends the output; returns an exit code.
  int Finish() {
    std::string error = sink_->End();
    if (csv_ != nullptr) {
      if (std::fclose(csv_) != 0 && error.empty()) error = "cannot write the CSV file";
      csv_ = nullptr;
      if (error.empty() && std::rename(partial_.c_str(), path_.c_str()) != 0) {
        error = absl::StrCat("cannot rename ", partial_, " to ", path_, ": ", std::strerror(errno));
      }
      if (!error.empty()) std::remove(partial_.c_str());
    }
    if (!error.empty()) return Fail(command_, kExitUsage, error);
    return kExitOk;
  }

  // Where the summary goes: stdout, unless the CSV itself went there.
  std::FILE* report() const { return path_ == "-" ? stderr : stdout; }
  // The file's name in the summary.
  std::string name() const { return path_ == "-" ? "stdout" : path_; }

 private:
  int CannotWrite(const std::string& path) {
    return Fail(command_, kExitUsage,
                absl::StrCat("cannot write ", path, ": ", std::strerror(errno),
                             "; check the directory and its permissions"));
  }

  std::string command_;
  std::string path_;
  std::string partial_;
  std::FILE* csv_ = nullptr;
  std::unique_ptr<RowSink> sink_;
};

// The style of an export: every column; a workbook says "unlimited" in credit cells.
ListingStyle ExportStyle(const ExportFile& file) {
  ListingStyle style;
  const std::string lower = absl::AsciiStrToLower(file.path);
  style.unlimited_text = absl::AsciiStrToLower(file.format) == "xlsx" ||
                         (file.format.empty() && absl::EndsWith(lower, ".xlsx"));
  return style;
}

void AddFileOptions(CLI::App* command, ExportFile* file) {
  command
      ->add_option("-f,--file", file->path,
                   "the file to write: NAME.csv, NAME.xlsx, or - "
                   "for CSV on stdout")
      ->required();
  command->add_option("--format", file->format, "csv or xlsx (default: from the file's name)")
      ->check(CLI::IsMember({"csv", "xlsx"}, CLI::ignore_case));
}

struct CallerIdExport {
  ExportFile file;
  std::string extension;
  std::string number;
  std::string status;
};

int ExportCallerIds(const Globals& globals, const CallerIdExport& options) {
  const std::string command = "export callerids";
  ExportTarget target;
  if (int code = target.Open(command, options.file, "CallerIDs"); code != kExitOk) return code;
  Connection connection(globals);
  v1::ListCallerIdsRequest request;
  request.set_extension(options.extension);
  request.set_callback_number(options.number);
  if (!options.status.empty()) {
    v1::CallerId::Status status = v1::CallerId::STATUS_UNSPECIFIED;
    ParseStatus(options.status, &status);
    request.set_status(status);
  }
  Progress progress(command, "rows", /*bytes=*/false, globals.no_progress);
  uint64_t rows = 0;
  uint64_t total = 0;
  int code = ListCallerIdsInto(command, globals, connection, request, ExportStyle(options.file), 0,
                               target.sink(), &progress, &rows, &total);
  progress.Finish();
  if (code != kExitOk) return code;
  if ((code = target.Finish()) != kExitOk) return code;
  std::fprintf(target.report(), "exported %s %s to %s\n", Thousands(rows).c_str(),
               rows == 1 ? "CallerID" : "CallerIDs", target.name().c_str());
  return kExitOk;
}

struct RechargeExport {
  ExportFile file;
  Target target;
};

int ExportRecharges(const Globals& globals, const RechargeExport& options) {
  const std::string command = "export recharges";
  Connection connection(globals);
  uint64_t id = 0;
  if (int code = ResolveTarget(command, globals, connection, options.target, &id);
      code != kExitOk) {
    return code;
  }
  ExportTarget target;
  if (int code = target.Open(command, options.file, "Recharges"); code != kExitOk) return code;
  v1::ListRechargesRequest request;
  request.set_callerid_id(id);
  Progress progress(command, "rows", /*bytes=*/false, globals.no_progress);
  uint64_t rows = 0;
  int code = ListRechargesInto(command, globals, connection, request, ExportStyle(options.file), 0,
                               target.sink(), &progress, &rows);
  progress.Finish();
  if (code != kExitOk) return code;
  if ((code = target.Finish()) != kExitOk) return code;
  std::fprintf(target.report(), "exported %s %s of CallerID %llu to %s\n", Thousands(rows).c_str(),
               rows == 1 ? "recharge" : "recharges", static_cast<unsigned long long>(id),
               target.name().c_str());
  return kExitOk;
}

struct CostReportExport {
  ExportFile file;
  std::string extension;
  uint64_t id = 0;
  std::string from;
  std::string to;
};

int ExportCostReport(const Globals& globals, const CostReportExport& options) {
  const std::string command = "export cost-report";
  v1::GetCostReportRequest request;
  if (int code = MakeCostReportRequest(command, options.extension, options.id, options.from,
                                       options.to, &request);
      code != kExitOk) {
    return code;
  }
  ExportTarget target;
  if (int code = target.Open(command, options.file, "Calls"); code != kExitOk) {
    return code;
  }
  Connection connection(globals);
  Progress progress(command, "calls", /*bytes=*/false, globals.no_progress);
  uint64_t rows = 0;
  v1::GetCostReportResponse totals;
  int code = CostReportInto(command, globals, connection, request, ExportStyle(options.file),
                            target.sink(), &progress, &rows, &totals);
  progress.Finish();
  if (code != kExitOk) return code;
  if ((code = target.Finish()) != kExitOk) return code;
  std::fprintf(target.report(), "exported %s %s (cost %s, uncollected %s) to %s\n",
               Thousands(rows).c_str(), rows == 1 ? "call" : "calls",
               WithCurrency(globals, totals.total_cost()).c_str(),
               WithCurrency(globals, totals.total_uncollected()).c_str(), target.name().c_str());
  return kExitOk;
}

}  // namespace

void AddExportCommands(CLI::App* app, const Globals* globals, Runner* run) {
  CLI::App* export_command = app->add_subcommand(
      "export", "Export CallerIDs, a recharge history or the cost report to CSV or Excel");
  export_command->require_subcommand(1);
  {
    auto options = std::make_shared<CallerIdExport>();
    CLI::App* command =
        export_command->add_subcommand("callerids", "The CallerIDs of an extension");
    AddFileOptions(command, &options->file);
    command->add_option("-e,--extension", options->extension,
                        "the Callback extension (default: every extension)");
    command->add_option("-n,--number", options->number, "keep numbers that contain this text");
    command->add_option("--status", options->status, "keep only ENABLED or DISABLED ones")
        ->check(CLI::IsMember({"ENABLED", "DISABLED"}, CLI::ignore_case));
    command->callback([=] { *run = [=] { return ExportCallerIds(*globals, *options); }; });
  }
  {
    auto options = std::make_shared<RechargeExport>();
    CLI::App* command =
        export_command->add_subcommand("recharges", "The recharge history of a CallerID");
    AddFileOptions(command, &options->file);
    AddTargetOptions(command, &options->target);
    command->callback([=] { *run = [=] { return ExportRecharges(*globals, *options); }; });
  }
  {
    auto options = std::make_shared<CostReportExport>();
    CLI::App* command = export_command->add_subcommand(
        "cost-report", "The settled calls of an extension or a CallerID, with totals");
    AddFileOptions(command, &options->file);
    command->add_option("-e,--extension", options->extension, "the Callback extension");
    command->add_option("--id", options->id, "one CallerID's id");
    command->add_option("--from", options->from, "calls that started at or after this time");
    command->add_option("--to", options->to, "calls that started before this time");
    command->callback([=] { *run = [=] { return ExportCostReport(*globals, *options); }; });
  }
}

}  // namespace ctl
}  // namespace callbackledger
