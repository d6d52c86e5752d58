// import: CallerIDs from CSV, checked row by row, added by a few workers at once; a
// re-run of the same file adds nothing twice.
#include "clients/ledgerctl/import.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/ledgerctl/commands.h"
#include "clients/ledgerctl/csv.h"
#include "clients/ledgerctl/output.h"
#include "clients/ledgerctl/progress.h"
#include "google/protobuf/struct.pb.h"
#include "ledger/money.h"
#include "ledger/validate.h"

namespace callbackledger {
namespace ctl {
namespace {

std::string Trim(const std::string& text) { return std::string(absl::StripAsciiWhitespace(text)); }

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// Appends a length-prefixed field, so that no two rows hash alike by shifting text.
void AppendField(std::string* out, const std::string& field) {
  absl::StrAppend(out, field.size(), ":", field, ";");
}

// A 128-bit BLAKE2b hash.
std::pair<uint64_t, uint64_t> Hash128(const std::string& data) {
  unsigned char hash[16];
  crypto_generichash(hash, sizeof(hash), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size(), nullptr, 0);
  std::pair<uint64_t, uint64_t> halves;
  std::memcpy(&halves.first, hash, 8);
  std::memcpy(&halves.second, hash + 8, 8);
  return halves;
}

std::string Hex128(const std::string& data) {
  const std::pair<uint64_t, uint64_t> hash = Hash128(data);
  return absl::StrCat(absl::Hex(hash.first, absl::kZeroPad16),
                      absl::Hex(hash.second, absl::kZeroPad16));
}

}  // namespace

std::string ParseImportHeader(const std::vector<std::string>& fields,
                              const std::string& default_extension, ImportHeader* header) {
  *header = ImportHeader();
  header->fields = fields.size();
  const std::string expected = absl::StrCat("the columns are ", absl::StrJoin(ImportColumns(), ","),
                                            " (extension may be left out with --extension)");
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string name = absl::AsciiStrToLower(Trim(fields[i]));
    int* slot = nullptr;
    if (name == "extension") slot = &header->extension;
    if (name == "callback_number") slot = &header->callback_number;
    if (name == "pin") slot = &header->pin;
    if (name == "initial_credit") slot = &header->initial_credit;
    if (name == "order_no") slot = &header->order_no;
    if (name == "status") slot = &header->status;
    if (slot == nullptr) {
      return absl::StrCat("the header has an unknown column \"", fields[i], "\" (column ", i + 1,
                          "); ", expected);
    }
    if (*slot != -1) return absl::StrCat("the header names column \"", name, "\" twice");
    *slot = static_cast<int>(i);
  }
  if (header->callback_number == -1) {
    return absl::StrCat("the header has no callback_number column; ", expected);
  }
  if (header->extension == -1 && default_extension.empty()) {
    return absl::StrCat("the header has no extension column: add one, or give --extension; ",
                        expected);
  }
  return "";
}

std::string ParseImportRow(const ImportHeader& header, const std::vector<std::string>& fields,
                           const std::string& default_extension, v1::AddCallerIdRequest* request) {
  request->Clear();
  if (fields.size() != header.fields) {
    return absl::StrCat("has ", fields.size(), fields.size() == 1 ? " field" : " fields",
                        "; the header has ", header.fields);
  }
  auto field = [&fields](int index) { return index < 0 ? std::string() : Trim(fields[index]); };
  std::vector<std::string> problems;
  auto check = [&problems](const absl::Status& status) {
    if (!status.ok()) problems.push_back(Message(status));
  };

  std::string extension = field(header.extension);
  if (extension.empty()) extension = default_extension;
  check(ValidateExtension(extension));
  request->set_extension(extension);

  const std::string number = field(header.callback_number);
  check(ValidateCallbackNumber("callback_number", number));
  request->set_callback_number(number);

  const std::string pin = field(header.pin);
  if (!pin.empty()) check(ValidatePin(pin));
  request->set_pin(pin);

  const std::string credit = field(header.initial_credit);
  if (absl::AsciiStrToLower(credit) == "unlimited") {
    request->set_unlimited(true);
  } else if (!credit.empty()) {
    absl::StatusOr<int64_t> micros = ParseMoney("initial_credit", credit);
    if (!micros.ok()) {
      check(micros.status());
    } else if (*micros < 0) {
      problems.push_back(absl::StrCat("initial_credit: must not be negative, not ", credit));
    }
    request->set_initial_credit(credit);
  }

  // The order number is kept as written, spaces included.
  const std::string order_no = header.order_no < 0 ? "" : fields[header.order_no];
  check(ValidateText("order_no", order_no, kMaxOrderNoLength));
  request->set_order_no(order_no);

  const std::string status_text = field(header.status);
  v1::CallerId::Status status = v1::CallerId::ENABLED;
  if (!status_text.empty() && !ParseStatus(status_text, &status)) {
    problems.push_back(
        absl::StrCat("status: must be ENABLED or DISABLED (or empty for ENABLED), "
                     "not \"",
                     absl::CHexEscape(status_text), "\""));
  }
  request->set_status(status);
  if (!problems.empty()) return absl::StrJoin(problems, "; ");
  request->set_request_id(ImportRequestId(*request));
  return "";
}

std::string ImportRequestId(const v1::AddCallerIdRequest& request) {
  std::string canonical = "callbackledger import v1;";
  AppendField(&canonical, request.extension());
  AppendField(&canonical, request.callback_number());
  if (request.unlimited()) {
    AppendField(&canonical, "unlimited");
  } else {
    absl::StatusOr<int64_t> micros = request.initial_credit().empty()
                                         ? 0
                                         : ParseMoney("initial_credit", request.initial_credit());
    AppendField(&canonical, std::to_string(micros.ok() ? *micros : 0));
  }
  AppendField(&canonical, request.order_no());
  AppendField(&canonical, StatusName(request.status()));
  return absl::StrCat("import-", Hex128(canonical));
}

namespace {

struct ImportOptions {
  std::string file;
  bool dry_run = false;
  std::string extension;
  int parallel = 8;
};

struct Failure {
  uint64_t line;
  std::string reason;
};

// What the workers found, and whether to stop.
struct Tally {
  std::mutex mutex;
  uint64_t rows = 0;
  uint64_t added = 0;
  uint64_t present = 0;
  std::vector<Failure> failures;
  // Rows finished (added, present or failed), for progress.
  std::atomic<uint64_t> done{0};
  // The server could not be reached: stop, and say so.
  std::atomic<bool> unreachable{false};
  grpc::Status unreachable_status;

  void Fail(uint64_t line, std::string reason) {
    std::lock_guard<std::mutex> lock(mutex);
    failures.push_back({line, std::move(reason)});
  }
};

struct Job {
  uint64_t line;
  v1::AddCallerIdRequest request;
};

// A bounded queue between the reader and the workers.
class JobQueue {
 public:
  explicit JobQueue(size_t capacity) : capacity_(capacity) {}

  void Push(Job job) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_full_.wait(lock, [this] { return jobs_.size() < capacity_; });
    jobs_.push_back(std::move(job));
    not_empty_.notify_one();
  }

  // False once closed and empty.
  bool Pop(Job* job) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [this] { return !jobs_.empty() || closed_; });
    if (jobs_.empty()) return false;
    *job = std::move(jobs_.front());
    jobs_.pop_front();
    not_full_.notify_one();
    return true;
  }

  void Close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<Job> jobs_;
  size_t capacity_;
  bool closed_ = false;
};

// Calls an RPC, retrying a few times while the server is unavailable: every write of an
// import carries its request id, so a retry never adds twice.
template <typename Stub, typename Request, typename Response>
grpc::Status CallWithRetry(const Connection& connection, Stub* stub,
                           grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                        Response*),
                           const Request& request, Response* response) {
  std::chrono::milliseconds backoff(100);
  for (int attempt = 1;; ++attempt) {
    grpc::Status status = Call(connection, stub, method, request, response);
    if (!IsUnreachable(status) || attempt == 4) return status;
    std::this_thread::sleep_for(backoff);
    backoff *= 4;
  }
}

enum class Outcome { kAdded, kPresent, kFailed, kUnreachable };

// Adds one row: a row whose number is already listed in its extension, or that an
// earlier run added (its request id answers with the first answer), counts as present.
Outcome ImportOne(const Connection& connection, const Job& job, std::string* reason,
                  grpc::Status* unreachable) {
  v1::GetCallerIdRequest get;
  get.set_extension(job.request.extension());
  get.set_callback_number(job.request.callback_number());
  v1::CallerId existing;
  grpc::Status status = CallWithRetry(connection, connection.caller_ids(),
                                      &v1::CallerIds::Stub::GetCallerId, get, &existing);
  if (status.ok()) return Outcome::kPresent;
  if (IsUnreachable(status)) {
    *unreachable = status;
    return Outcome::kUnreachable;
  }
  if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
    *reason = DescribeRpcError(status);
    return Outcome::kFailed;
  }

  v1::CallerId added;
  status = CallWithRetry(connection, connection.caller_ids(), &v1::CallerIds::Stub::AddCallerId,
                         job.request, &added);
  if (IsUnreachable(status)) {
    *unreachable = status;
    return Outcome::kUnreachable;
  }
  if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
    // Listed meanwhile (the same number twice at once)?
    if (CallWithRetry(connection, connection.caller_ids(), &v1::CallerIds::Stub::GetCallerId, get,
                      &existing)
            .ok()) {
      return Outcome::kPresent;
    }
    *reason = DescribeRpcError(status);
    return Outcome::kFailed;
  }
  if (!status.ok()) {
    *reason = DescribeRpcError(status);
    return Outcome::kFailed;
  }
  // A new CallerID, or the first answer to this request id from an earlier run whose
  // CallerID was since removed or renumbered: then it is not listed under this number.
  v1::GetCallerIdRequest by_id;
  by_id.set_callerid_id(added.id());
  status = CallWithRetry(connection, connection.caller_ids(), &v1::CallerIds::Stub::GetCallerId,
                         by_id, &existing);
  if (status.ok() && existing.callback_number() == job.request.callback_number() &&
      existing.extension() == job.request.extension()) {
    return Outcome::kAdded;
  }
  if (status.ok() || status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return Outcome::kPresent;
  }
  return Outcome::kAdded;
}

uint64_t FileSize(std::FILE* file) {
  struct stat info {};
  if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) return 0;
  return static_cast<uint64_t>(info.st_size);
}

void PrintSummary(const Globals& globals, const ImportOptions& options, Tally* tally,
                  uint64_t bad_rows) {
  const std::string name = options.file == "-" ? "stdin" : options.file;
  std::sort(tally->failures.begin(), tally->failures.end(),
            [](const Failure& a, const Failure& b) { return a.line < b.line; });
  if (globals.output == OutputFormat::kJson) {
    google::protobuf::Struct summary;
    auto& fields = *summary.mutable_fields();
    fields["file"].set_string_value(options.file);
    fields["dry_run"].set_bool_value(options.dry_run);
    fields["rows"].set_number_value(static_cast<double>(tally->rows));
    if (options.dry_run) {
      fields["valid"].set_number_value(static_cast<double>(tally->rows - bad_rows));
      fields["bad"].set_number_value(static_cast<double>(bad_rows));
    } else {
      fields["added"].set_number_value(static_cast<double>(tally->added));
      fields["already_present"].set_number_value(static_cast<double>(tally->present));
      fields["failed"].set_number_value(static_cast<double>(tally->failures.size()));
      fields["not_attempted"].set_number_value(static_cast<double>(
          tally->rows - tally->added - tally->present - tally->failures.size()));
    }
    google::protobuf::ListValue* failures =
        fields[options.dry_run ? "bad_rows" : "failures"].mutable_list_value();
    for (const Failure& failure : tally->failures) {
      google::protobuf::Struct* item = failures->add_values()->mutable_struct_value();
      (*item->mutable_fields())["line"].set_number_value(static_cast<double>(failure.line));
      (*item->mutable_fields())["error"].set_string_value(failure.reason);
    }
    std::printf("%s\n", ToJson(summary, /*pretty=*/true).c_str());
    return;
  }
  for (const Failure& failure : tally->failures) {
    std::printf("line %llu: %s\n", static_cast<unsigned long long>(failure.line),
                failure.reason.c_str());
  }
  if (options.dry_run) {
    std::printf("dry run of %s: %s %s, %s valid, %s bad; nothing was written\n", name.c_str(),
                Thousands(tally->rows).c_str(), tally->rows == 1 ? "row" : "rows",
                Thousands(tally->rows - bad_rows).c_str(), Thousands(bad_rows).c_str());
    return;
  }
  const uint64_t not_attempted =
      tally->rows - tally->added - tally->present - tally->failures.size();
  std::printf("import of %s: %s %s: %s added, %s already present, %s failed", name.c_str(),
              Thousands(tally->rows).c_str(), tally->rows == 1 ? "row" : "rows",
              Thousands(tally->added).c_str(), Thousands(tally->present).c_str(),
              Thousands(tally->failures.size()).c_str());
  if (not_attempted != 0) std::printf(", %s not attempted", Thousands(not_attempted).c_str());
  std::printf("\n");
}

int Import(const Globals& globals, const ImportOptions& options) {
  const std::string command = "import";
  if (options.parallel < 1 || options.parallel > 64) {
    return Fail(command, kExitUsage, "--parallel: give 1-64");
  }
  if (!options.extension.empty()) {
    absl::Status valid = ValidateExtension(options.extension);
    if (!valid.ok()) return Fail(command, kExitUsage, absl::StrCat("--", Message(valid)));
  }
  std::FILE* in = options.file == "-" ? stdin : std::fopen(options.file.c_str(), "rb");
  if (in == nullptr) {
    return Fail(command, kExitUsage,
                absl::StrCat("cannot read ", options.file, ": ", std::strerror(errno)));
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(in == stdin ? nullptr : in, &std::fclose);
  CsvReader reader(in);
  CsvRow row;
  bool have_header = false;
  while (reader.Next(&row)) {
    if (row.blank()) continue;
    have_header = true;
    break;
  }
  if (!have_header) {
    return Fail(command, kExitUsage,
                absl::StrCat(options.file, " has no header row; the first row names the columns: ",
                             absl::StrJoin(ImportColumns(), ",")));
  }
  ImportHeader header;
  std::string error =
      row.error.empty() ? ParseImportHeader(row.fields, options.extension, &header) : row.error;
  if (!error.empty()) {
    return Fail(command, kExitUsage, absl::StrCat(options.file, " line ", row.line, ": ", error));
  }

  Tally tally;
  uint64_t bad_rows = 0;
  // The first line of each (extension, number), by a 128-bit hash (24 bytes a row, not the
  // row): duplicates are bad rows.
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, uint64_t> first_line;

  std::unique_ptr<Connection> connection;
  std::unique_ptr<JobQueue> queue;
  std::vector<std::thread> workers;
  if (!options.dry_run) {
    connection = std::make_unique<Connection>(globals);
    queue = std::make_unique<JobQueue>(static_cast<size_t>(options.parallel) * 4);
    for (int i = 0; i < options.parallel; ++i) {
      workers.emplace_back([&] {
        Job job;
        while (queue->Pop(&job)) {
          if (tally.unreachable.load()) continue;  // drain without calling
          std::string reason;
          grpc::Status unreachable;
          switch (ImportOne(*connection, job, &reason, &unreachable)) {
            case Outcome::kAdded: {
              std::lock_guard<std::mutex> lock(tally.mutex);
              ++tally.added;
              break;
            }
            case Outcome::kPresent: {
              std::lock_guard<std::mutex> lock(tally.mutex);
              ++tally.present;
              break;
            }
            case Outcome::kFailed:
              tally.Fail(job.line, std::move(reason));
              break;
            case Outcome::kUnreachable: {
              std::lock_guard<std::mutex> lock(tally.mutex);
              if (!tally.unreachable.exchange(true)) tally.unreachable_status = unreachable;
              break;
            }
          }
          ++tally.done;
        }
      });
    }
  }

  // Progress in rows finished, out of the rows the file holds: estimated from the bytes
  // read so far until the whole file is read.
  Progress progress(options.dry_run ? "import --dry-run" : "import", "rows", /*bytes=*/false,
                    globals.no_progress);
  const uint64_t file_size = FileSize(in);
  v1::AddCallerIdRequest request;
  while (!tally.unreachable.load() && reader.Next(&row)) {
    if (file_size != 0 && reader.bytes_read() != 0 && tally.rows != 0) {
      progress.SetTotal(tally.rows * file_size / reader.bytes_read(), /*estimated=*/true);
    }
    progress.Update(tally.done.load());
    if (row.blank()) continue;
    ++tally.rows;
    if (options.dry_run) ++tally.done;
    std::string problem = row.error;
    if (problem.empty()) problem = ParseImportRow(header, row.fields, options.extension, &request);
    if (problem.empty()) {
      std::string key;
      AppendField(&key, request.extension());
      AppendField(&key, request.callback_number());
      auto [it, inserted] = first_line.try_emplace(Hash128(key), row.line);
      if (!inserted) {
        problem = absl::StrCat("duplicate of line ", it->second, ": number ",
                               request.callback_number(), " in extension ", request.extension());
      }
    }
    if (!problem.empty()) {
      ++bad_rows;
      if (!options.dry_run) ++tally.done;
      tally.Fail(row.line, std::move(problem));
      continue;
    }
    if (!options.dry_run) queue->Push({row.line, request});
  }
  const bool read_failed = reader.failed();
  progress.SetTotal(tally.rows);
  if (queue != nullptr) queue->Close();
  for (std::thread& worker : workers) worker.join();
  progress.Update(tally.done.load());
  progress.Finish();

  PrintSummary(globals, options, &tally, bad_rows);
  if (read_failed) {
    return Fail(command, kExitUsage,
                absl::StrCat("reading ", options.file, " failed after line ", row.line));
  }
  if (tally.unreachable.load()) {
    RpcFailed(command, globals, tally.unreachable_status);
    std::fprintf(stderr,
                 "ledgerctl import: stopped; run the same command again once ledgerd is back: "
                 "rows already imported are skipped\n");
    return kExitUnreachable;
  }
  if (options.dry_run && bad_rows == 0) {
    std::printf("run it without --dry-run to import the rows\n");
  }
  return tally.failures.empty() ? kExitOk : kExitRefused;
}

}  // namespace

void AddImportCommand(CLI::App* app, const Globals* globals, Runner* run) {
  auto options = std::make_shared<ImportOptions>();
  CLI::App* import = app->add_subcommand(
      "import",
      "Add CallerIDs from a CSV file with a header row: extension,callback_number,pin,"
      "initial_credit,order_no,status. Re-running a file adds nothing twice");
  import->add_option("file", options->file, "the CSV file, or - for stdin")->required();
  import->add_flag("--dry-run", options->dry_run,
                   "check every row with the server's rules and report the bad ones; write "
                   "nothing");
  import->add_option("-e,--extension", options->extension,
                     "the extension of rows that have none (or when the file has no extension "
                     "column)");
  import->add_option("--parallel", options->parallel, "rows added at once")->capture_default_str();
  import->callback([=] { *run = [=] { return Import(*globals, *options);
};
}  // namespace ctl
);
}  // namespace callbackledger

}  // namespace ctl
}  // namespace callbackledger
