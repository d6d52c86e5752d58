// ledgerctl against the real ledgerd: every subcommand's happy path and its bad-input
// path (exit codes and messages), exports read back by independent readers (Python's csv
// module and openpyxl), the bulk import with bad rows, dry runs and re-runs, and the
// progress bar on a terminal and not otherwise. Plus unit tests of the CSV, import-row and
// progress pieces. Every wait is bounded; the server listens on 127.0.0.1 only.
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "callbackledger/v1/calls.grpc.pb.h"
#include "callbackledger/v1/reports.grpc.pb.h"
#include "clients/ledgerctl/csv.h"
#include "clients/ledgerctl/import.h"
#include "clients/ledgerctl/progress.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/server_harness.h"

#ifndef LEDGERCTL_READBACK_SCRIPT
#error "LEDGERCTL_READBACK_SCRIPT must name tests/ledgerctl_test.py"
#endif

namespace callbackledger {
namespace {

using e2e::LedgerServer;
using e2e::ProcessResult;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kExtension[] = "0003*005";
constexpr char kTrickyOrderNo[] = "ORD, \"A\" – ünïcode";
// Debian's Python, which has python3-openpyxl (the python3 on PATH may not).
constexpr char kPython[] = "/usr/bin/python3";

// ---------------------------------------------------------------------------------------
// Helpers.

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(5);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string Json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &json, options).ok());
  return json;
}

// A started server with stubs, and ledgerctl pointed at it.
class LedgerctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start({"--license_max_active_callerids=5"}).ok());
    caller_ids_ = server_.caller_ids();
    credit_ = server_.credit();
    events_ = server_.events();
  }

  // ledgerctl --server ADDRESS args...
  ProcessResult Ctl(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--server", server_.address()};
    all.insert(all.end(), args.begin(), args.end());
    return e2e::RunLedgerctl(all);
  }

  v1::CallerId Add(const std::string& extension, const std::string& number,
                   const std::string& credit = "10.50", const std::string& order_no = "",
                   v1::CallerId::Status status = v1::CallerId::ENABLED, bool unlimited = false) {
    v1::AddCallerIdRequest request;
    request.set_extension(extension);
    request.set_callback_number(number);
    if (!unlimited) request.set_initial_credit(credit);
    request.set_unlimited(unlimited);
    request.set_order_no(order_no);
    request.set_status(status);
    v1::CallerId reply;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::Status rpc = caller_ids_->AddCallerId(&context, request, &reply);
    EXPECT_TRUE(rpc.ok()) << rpc.error_message();
    return reply;
  }

  v1::CallerId Get(uint64_t id, grpc::Status* status = nullptr) {
    v1::GetCallerIdRequest request;
    request.set_callerid_id(id);
    v1::CallerId reply;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::Status rpc = caller_ids_->GetCallerId(&context, request, &reply);
    if (status != nullptr) *status = rpc;
    return reply;
  }

  std::vector<v1::CallerId> List(const std::string& extension) {
    v1::ListCallerIdsRequest request;
    request.set_extension(extension);
    request.set_page_size(1000);
    v1::ListCallerIdsResponse reply;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    EXPECT_TRUE(caller_ids_->ListCallerIds(&context, request, &reply).ok());
    return {reply.caller_ids().begin(), reply.caller_ids().end()};
  }

  uint64_t LastSequence() {
    v1::ReadEventsRequest request;
    request.set_from_sequence(1);
    request.set_page_size(1);
    v1::ReadEventsResponse reply;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    EXPECT_TRUE(events_->ReadEvents(&context, request, &reply).ok());
    return reply.last_sequence();
  }

  // Reserves and settles a call of `seconds` at 0.60 a minute.
  void SettledCall(const std::string& number, const std::string& reservation_id, int seconds) {
    std::unique_ptr<v1::Calls::Stub> calls = v1::Calls::NewStub(server_.channel());
    v1::ReserveRequest reserve;
    reserve.set_reservation_id(reservation_id);
    reserve.set_extension(kExtension);
    reserve.set_callback_number(number);
    reserve.set_seconds(300);
    reserve.mutable_rate()->set_price_per_minute("0.60");
    reserve.mutable_rate()->set_billing_increment_seconds(60);
    reserve.set_node_id("pbx-1");
    reserve.set_call_id(reservation_id);
    reserve.set_destination("0040213100200");
    v1::ReserveResponse reserved;
    {
      grpc::ClientContext context;
      context.set_deadline(Deadline());
      grpc::Status rpc = calls->Reserve(&context, reserve, &reserved);
      ASSERT_TRUE(rpc.ok()) << rpc.error_message();
      ASSERT_EQ(reserved.decision(), v1::ALLOWED);
    }
    v1::SettleRequest settle;
    settle.set_reservation_id(reservation_id);
    settle.set_duration_seconds(seconds);
    settle.set_node_id("pbx-1");
    v1::SettleResponse settled;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::Status rpc = calls->Settle(&context, settle, &settled);
    ASSERT_TRUE(rpc.ok()) << rpc.error_message();
  }

  // Runs the independent readers on a CSV and a workbook against the expected rows.
  void ReadBack(const std::vector<std::string>& expected_rows, const std::string& csv,
                const std::string& xlsx) {
    const std::string expected = server_.dir() + "/expected.json";
    WriteFile(expected, absl::StrCat("[", absl::StrJoin(expected_rows, ",\n"), "]"));
    ProcessResult read = e2e::RunProcess({kPython, LEDGERCTL_READBACK_SCRIPT, expected, csv, xlsx});
    EXPECT_EQ(read.exit_code, 0) << read.Describe();
    EXPECT_THAT(read.out, HasSubstr("OK:"));
  }

  LedgerServer server_;
  std::unique_ptr<v1::CallerIds::Stub> caller_ids_;
  std::unique_ptr<v1::Credit::Stub> credit_;
  std::unique_ptr<v1::Events::Stub> events_;
};

#define EXPECT_EXIT_CODE(result, code) EXPECT_EQ((result).exit_code, (code)) << (result).Describe()

// ---------------------------------------------------------------------------------------
// Unit tests of the pieces.

TEST(CsvTest, QuotesFieldsAsRfc4180Says) {
  EXPECT_EQ(ctl::CsvField("plain"), "plain");
  EXPECT_EQ(ctl::CsvField(""), "");
  EXPECT_EQ(ctl::CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(ctl::CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(ctl::CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(ctl::CsvField("cr\r"), "\"cr\r\"");
  EXPECT_EQ(ctl::CsvField("ünïcode – ok"), "ünïcode – ok");
  EXPECT_EQ(ctl::CsvRecord({"a", "b,c", ""}), "a,\"b,c\",\r\n");
}

TEST(CsvTest, ReaderReadsQuotedFieldsAndCountsLines) {
  char path[] = "/tmp/ledgerctl_csv_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  WriteFile(path,
            "\xEF\xBB\xBFh1,h2\r\n"         // line 1, with a byte order mark
            "\"a,b\",\"say \"\"hi\"\"\"\n"  // line 2
            "\"two\r\nlines\",x\r\n"        // lines 3-4
            "\r\n"                          // line 5: blank
            "bad\"quote,y\n"                // line 6
            "\"after\"x,z\n"                // line 7
            "\xEF\xBD\x86ull,width\n"       // line 8: starts like a BOM, is not one
            "\"open,end\n");                // line 9: never closed
  std::FILE* in = std::fopen(path, "rb");
  ASSERT_NE(in, nullptr);
  ctl::CsvReader reader(in);
  ctl::CsvRow row;
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.fields, (std::vector<std::string>{"h1", "h2"}));
  EXPECT_EQ(row.line, 1u);
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.fields, (std::vector<std::string>{"a,b", "say \"hi\""}));
  EXPECT_EQ(row.line, 2u);
  EXPECT_EQ(row.error, "");
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.fields, (std::vector<std::string>{"two\r\nlines", "x"}));
  EXPECT_EQ(row.line, 3u);
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_TRUE(row.blank());
  EXPECT_EQ(row.line, 5u);
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.line, 6u);
  EXPECT_THAT(row.error, HasSubstr("double quote"));
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.line, 7u);
  EXPECT_THAT(row.error, HasSubstr("after its closing quote"));
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.line, 8u);
  EXPECT_EQ(row.fields, (std::vector<std::string>{"\xEF\xBD\x86ull", "width"}));
  ASSERT_TRUE(reader.Next(&row));
  EXPECT_EQ(row.line, 9u);
  EXPECT_THAT(row.error, HasSubstr("closing quote is missing"));
  EXPECT_FALSE(reader.Next(&row));
  std::fclose(in);
  std::remove(path);
}

TEST(ImportRowTest, AppliesTheServerRulesAndNamesEveryProblem) {
  ctl::ImportHeader header;
  ASSERT_EQ(ctl::ParseImportHeader(
                {"extension", "callback_number", "pin", "initial_credit", "order_no", "status"}, "",
                &header),
            "");
  v1::AddCallerIdRequest request;
  EXPECT_EQ(
      ctl::ParseImportRow(
          header, {"0003*005", " +40721000111 ", "1234", "10.5", "A, B", "disabled"}, "", &request),
      "");
  EXPECT_EQ(request.callback_number(), "+40721000111");
  EXPECT_EQ(request.status(), v1::CallerId::DISABLED);
  EXPECT_EQ(request.initial_credit(), "10.5");
  EXPECT_THAT(request.request_id(), ::testing::StartsWith("import-"));

  EXPECT_EQ(
      ctl::ParseImportRow(header, {"0003*005", "5551234", "", "unlimited", "", ""}, "", &request),
      "");
  EXPECT_TRUE(request.unlimited());
  EXPECT_EQ(request.status(), v1::CallerId::ENABLED);

  const std::string problems = ctl::ParseImportRow(
      header, {"0003*005", "12", "12a", "1.1234567", "ok", "MAYBE"}, "", &request);
  EXPECT_THAT(problems, HasSubstr("callback_number"));
  EXPECT_THAT(problems, HasSubstr("pin"));
  EXPECT_THAT(problems, Not(HasSubstr("12a")));  // a PIN is never repeated
  EXPECT_THAT(problems, HasSubstr("initial_credit"));
  EXPECT_THAT(problems, HasSubstr("status"));
  EXPECT_THAT(ctl::ParseImportRow(header, {"0003*005", "5551234", "", "-1", "", ""}, "", &request),
              HasSubstr("negative"));
  EXPECT_THAT(ctl::ParseImportRow(header, {"0003*005", "5551234"}, "", &request),
              HasSubstr("has 2 fields; the header has 6"));
  EXPECT_THAT(ctl::ParseImportRow(header, {"bad ext", "5551234", "", "", "", ""}, "", &request),
              HasSubstr("extension"));

  // Unknown or missing columns.
  EXPECT_THAT(ctl::ParseImportHeader({"callback_number", "colour"}, "x", &header),
              HasSubstr("unknown column \"colour\""));
  EXPECT_THAT(ctl::ParseImportHeader({"callback_number"}, "", &header),
              HasSubstr("no extension column"));
  EXPECT_EQ(ctl::ParseImportHeader({"callback_number"}, "0003*005", &header), "");
}

TEST(ImportRowTest, RequestIdFollowsTheNormalizedRowButNotThePin) {
  ctl::ImportHeader header;
  ASSERT_EQ(ctl::ParseImportHeader(
                {"extension", "callback_number", "pin", "initial_credit", "order_no", "status"}, "",
                &header),
            "");
  auto id = [&](std::vector<std::string> fields) {
    v1::AddCallerIdRequest request;
    EXPECT_EQ(ctl::ParseImportRow(header, fields, "", &request), "");
    return request.request_id();
  };
  const std::string base = id({"0003*005", "5551234", "1234", "10.50", "O-1", "ENABLED"});
  EXPECT_EQ(base, id({"0003*005", " 5551234", "1234", "10.5", "O-1", "enabled"}));
  EXPECT_EQ(base, id({"0003*005", "5551234", "9999", "10.500000", "O-1", "ENABLED"}));
  EXPECT_NE(base, id({"0003*005", "5551234", "1234", "10.51", "O-1", "ENABLED"}));
  EXPECT_NE(base, id({"0003*005", "5551234", "1234", "10.50", "O-2", "ENABLED"}));
  EXPECT_NE(base, id({"0003*005", "5551234", "1234", "10.50", "O-1", "DISABLED"}));
  EXPECT_NE(base, id({"0003*006", "5551234", "1234", "10.50", "O-1", "ENABLED"}));
  EXPECT_NE(base, id({"0003*005", "5551234", "1234", "unlimited", "O-1", "ENABLED"}));
  EXPECT_LE(base.size(), 128u);
}

TEST(ProgressTest, RendersRateAndEta) {
  const std::string line =
      ctl::Progress::Render("export", "rows", false, 500000, 1000000, 10.0, 120);
  EXPECT_THAT(line, HasSubstr(" 50%"));
  EXPECT_THAT(line, HasSubstr("500,000/1,000,000 rows"));
  EXPECT_THAT(line, HasSubstr("50,000 rows/s"));
  EXPECT_THAT(line, HasSubstr("ETA 0:10"));
  EXPECT_LT(line.size(), 120u);
  const std::string done = ctl::Progress::Render("import", "bytes", true, 2048, 2048, 2.0, 100);
  EXPECT_THAT(done, HasSubstr("100%"));
  EXPECT_THAT(done, HasSubstr("2.0 KiB/2.0 KiB"));
  EXPECT_THAT(done, HasSubstr("in 0:02"));
  EXPECT_THAT(ctl::Progress::Render("recharges", "rows", false, 10, 0, 1.0, 100),
              HasSubstr("10 rows"));
}

// ---------------------------------------------------------------------------------------
// Usage, help and exit codes.

TEST(LedgerctlUsageTest, EverySubcommandHasHelp) {
  for (const char* command : {"",
                              "list",
                              "search",
                              "get",
                              "add",
                              "edit",
                              "enable",
                              "disable",
                              "remove",
                              "license",
                              "policy",
                              "add-credit",
                              "recharges",
                              "cost-report",
                              "events",
                              "export",
                              "export callerids",
                              "export recharges",
                              "export cost-report",
                              "import",
                              "health",
                              "verify"}) {
    std::vector<std::string> args = absl::StrSplit(std::string(command), ' ', absl::SkipEmpty());
    args.push_back("--help");
    ProcessResult help = e2e::RunLedgerctl(args);
    EXPECT_EQ(help.exit_code, 0) << command << ": " << help.Describe();
    EXPECT_THAT(help.out, HasSubstr("Usage:")) << command;
  }
}

TEST(LedgerctlUsageTest, UsageErrorsExitTwoAndSayWhatToFix) {
  ProcessResult unknown = e2e::RunLedgerctl({"frobnicate"});
  EXPECT_EXIT_CODE(unknown, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown subcommand \"frobnicate\""));

  ProcessResult missing = e2e::RunLedgerctl({"add", "--extension", kExtension});
  EXPECT_EXIT_CODE(missing, 2);
  EXPECT_THAT(missing.err, HasSubstr("ledgerctl add: --number is required"));

  ProcessResult status = e2e::RunLedgerctl({"list", "--status", "sometimes"});
  EXPECT_EXIT_CODE(status, 2);
  EXPECT_THAT(status.err, HasSubstr("--status"));

  ProcessResult scheme = e2e::RunLedgerctl({"--server", "http://127.0.0.1:1", "list"});
  EXPECT_EXIT_CODE(scheme, 2);
  EXPECT_THAT(scheme.err, HasSubstr("give host:port"));

  ProcessResult output = e2e::RunLedgerctl({"-o", "yaml", "list"});
  EXPECT_EXIT_CODE(output, 2);

  ProcessResult format = e2e::RunLedgerctl({"export", "callerids", "--file", "/tmp/x.txt"});
  EXPECT_EXIT_CODE(format, 2);
  EXPECT_THAT(format.err, HasSubstr("name it .csv or .xlsx"));

  ProcessResult report = e2e::RunLedgerctl({"cost-report"});
  EXPECT_EXIT_CODE(report, 2);
  EXPECT_THAT(report.err, HasSubstr("--extension"));

  ProcessResult import = e2e::RunLedgerctl({"import", "/nonexistent/file.csv", "--dry-run"});
  EXPECT_EXIT_CODE(import, 2);
  EXPECT_THAT(import.err, HasSubstr("cannot read /nonexistent/file.csv"));
}

TEST(LedgerctlUsageTest, HalfTlsOrTokenSettingsExitTwoWithoutShowingTheToken) {
  ProcessResult cert_only = e2e::RunLedgerctl({"--tls_cert", "/tmp/c.pem", "list"});
  EXPECT_EXIT_CODE(cert_only, 2);
  EXPECT_THAT(cert_only.err, HasSubstr("--tls_cert and --tls_key go together"));

  ProcessResult no_ca = e2e::RunLedgerctl({"list", "--tls_cert", "/tmp/c", "--tls_key", "/tmp/k"});
  EXPECT_EXIT_CODE(no_ca, 2);
  EXPECT_THAT(no_ca.err, HasSubstr("need --tls_ca"));

  ProcessResult missing_ca = e2e::RunLedgerctl({"--tls_ca", "/nonexistent/ca.pem", "list"});
  EXPECT_EXIT_CODE(missing_ca, 2);
  EXPECT_THAT(missing_ca.err, HasSubstr("--tls_ca: cannot read /nonexistent/ca.pem"));

  // A token is never sent in plaintext beyond loopback, and never printed.
  ProcessResult remote =
      e2e::RunProcess({e2e::LedgerctlPath(), "--server", "ledger.example.com:50051", "list"},
                      {{"LEDGER_TOKEN", "do-not-print-me"}});
  EXPECT_EXIT_CODE(remote, 2);
  EXPECT_THAT(remote.err, HasSubstr("refusing to send the token in plaintext"));
  EXPECT_THAT(remote.err, Not(HasSubstr("do-not-print-me")));
}

TEST(LedgerctlUsageTest, AnUnreachableServerExitsThree) {
  const int port = e2e::PickFreeLoopbackPort();
  ASSERT_NE(port, 0);
  const std::string address = absl::StrCat("127.0.0.1:", port);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"list"}, {"license"}, {"events"}}) {
    std::vector<std::string> all = {"--server", address, "--timeout", "3"};
    all.insert(all.end(), args.begin(), args.end());
    ProcessResult result = e2e::RunLedgerctl(all);
    EXPECT_EXIT_CODE(result, 3);
    EXPECT_THAT(result.err, HasSubstr(absl::StrCat("cannot reach ledgerd at ", address)));
    EXPECT_THAT(result.err, HasSubstr("LEDGERCTL_SERVER"));
  }
  // LEDGERCTL_SERVER is read when --server is not given.
  ProcessResult env = e2e::RunProcess({e2e::LedgerctlPath(), "--timeout", "3", "list"},
                                      {{"LEDGERCTL_SERVER", address}});
  EXPECT_EXIT_CODE(env, 3);
  EXPECT_THAT(env.err, HasSubstr(address));
}

// ---------------------------------------------------------------------------------------
// CallerIDs.

TEST_F(LedgerctlTest, AddGetListSearchAndTheirMistakes) {
  ProcessResult add = Ctl({"add", "-e", kExtension, "-n", "+40721000111", "--pin", "4321",
                           "--credit", "10.50", "--order-no", kTrickyOrderNo});
  EXPECT_EXIT_CODE(add, 0);
  EXPECT_THAT(add.out, HasSubstr("callback number   +40721000111"));
  EXPECT_THAT(add.out, Not(HasSubstr("4321")));  // the PIN is never shown
  ProcessResult unlimited = Ctl({"--currency", "USD", "add", "-e", kExtension, "-n",
                                 "0040213100200", "--unlimited", "--status", "disabled"});
  EXPECT_EXIT_CODE(unlimited, 0);
  EXPECT_THAT(unlimited.out, HasSubstr("total credit      unlimited"));
  EXPECT_THAT(Ctl({"--currency", "USD", "get", "1"}).out, HasSubstr("10.50 USD"));
  EXPECT_THAT(Ctl({"get", "-e", kExtension, "-n", "0040213100200"}).out, HasSubstr("DISABLED"));

  // The table: the PBX's columns in its order, then order number and id.
  ProcessResult list = Ctl({"list", "-e", kExtension});
  EXPECT_EXIT_CODE(list, 0);
  const std::vector<std::string> lines = absl::StrSplit(list.out, '\n');
  ASSERT_GE(lines.size(), 4u) << list.out;
  // Money columns name the server's currency, which ledgerctl asks the server for.
  EXPECT_THAT(lines[0], ::testing::MatchesRegex("STATUS +CALLBACK NUMBER +PIN +TOTAL CREDIT "
                                                "\\(USD\\) +AVAILABLE CREDIT \\(USD\\) +"
                                                "CREATED \\(UTC\\) +ORDER NO +ID"));
  EXPECT_THAT(lines[1], ::testing::MatchesRegex(
                            "ENABLED +\\+40721000111 +yes +10.50 +10.50 +20[0-9-]+ [0-9:]+ +"
                            "ORD, \"A\" – ünïcode +1"));
  EXPECT_THAT(lines[2],
              ::testing::MatchesRegex("DISABLED +0040213100200 +no +unlimited +unlimited +.* 2"));
  EXPECT_THAT(list.out, HasSubstr("2 CallerIDs in extension 0003*005"));

  // Search by number and status; JSON and CSV for scripts.
  ProcessResult search = Ctl({"search", "-e", kExtension, "--number", "0721", "-o", "json"});
  EXPECT_EXIT_CODE(search, 0);
  EXPECT_THAT(search.out, HasSubstr("\"callback_number\":\"+40721000111\""));
  EXPECT_THAT(search.out, Not(HasSubstr("0040213100200")));
  ProcessResult csv = Ctl({"list", "-e", kExtension, "--status", "DISABLED", "-o", "csv"});
  EXPECT_EXIT_CODE(csv, 0);
  EXPECT_THAT(csv.out, ::testing::StartsWith(
                           "status,callback_number,pin_set,total_credit,available_credit,"
                           "unlimited,created_at,order_no,id,extension\r\nDISABLED,0040213100200,"
                           "false,,,true,"));
  EXPECT_THAT(Ctl({"list", "-e", "0009*009"}).out, HasSubstr("0 CallerIDs"));

  // Mistakes: the server's code and message, exit 1, nothing written.
  const uint64_t before = LastSequence();
  ProcessResult bad = Ctl({"add", "-e", kExtension, "-n", "07-21"});
  EXPECT_EXIT_CODE(bad, 1);
  EXPECT_THAT(bad.err, HasSubstr("INVALID_ARGUMENT: callback_number"));
  EXPECT_THAT(bad.err, HasSubstr("hint:"));
  ProcessResult pin = Ctl({"add", "-e", kExtension, "-n", "5551234", "--pin", "12"});
  EXPECT_EXIT_CODE(pin, 1);
  EXPECT_THAT(pin.err, HasSubstr("INVALID_ARGUMENT: pin"));
  ProcessResult twice = Ctl({"add", "-e", kExtension, "-n", "+40721000111"});
  EXPECT_EXIT_CODE(twice, 1);
  EXPECT_THAT(twice.err, HasSubstr("ALREADY_EXISTS"));
  ProcessResult both =
      Ctl({"add", "-e", kExtension, "-n", "5551234", "--credit", "1", "--unlimited"});
  EXPECT_EXIT_CODE(both, 2);
  ProcessResult unknown = Ctl({"get", "99"});
  EXPECT_EXIT_CODE(unknown, 1);
  EXPECT_THAT(unknown.err, HasSubstr("NOT_FOUND"));
  ProcessResult nothing = Ctl({"get"});
  EXPECT_EXIT_CODE(nothing, 2);
  EXPECT_THAT(nothing.err, HasSubstr("Give its id"));
  EXPECT_EQ(LastSequence(), before);
}

TEST_F(LedgerctlTest, EditEnableDisableRemove) {
  const v1::CallerId first = Add(kExtension, "5550001");
  const v1::CallerId second = Add(kExtension, "5550002", "0", "", v1::CallerId::DISABLED);
  const v1::CallerId third = Add(kExtension, "5550003");

  ProcessResult edit = Ctl({"edit", std::to_string(first.id()), "--new-number", "5550009", "--pin",
                            "7777", "--order-no", "ORD-9"});
  EXPECT_EXIT_CODE(edit, 0);
  v1::CallerId edited = Get(first.id());
  EXPECT_EQ(edited.callback_number(), "5550009");
  EXPECT_TRUE(edited.pin_set());
  EXPECT_EQ(edited.order_no(), "ORD-9");
  EXPECT_EXIT_CODE(Ctl({"edit", "-e", kExtension, "-n", "5550009", "--remove-pin"}), 0);
  EXPECT_FALSE(Get(first.id()).pin_set());
  ProcessResult nothing = Ctl({"edit", std::to_string(first.id())});
  EXPECT_EXIT_CODE(nothing, 2);
  EXPECT_THAT(nothing.err, HasSubstr("nothing to change"));
  ProcessResult bad_number = Ctl({"edit", std::to_string(first.id()), "--new-number", "x"});
  EXPECT_EXIT_CODE(bad_number, 1);
  EXPECT_THAT(bad_number.err, HasSubstr("INVALID_ARGUMENT"));

  ProcessResult enable = Ctl({"enable", std::to_string(second.id())});
  EXPECT_EXIT_CODE(enable, 0);
  EXPECT_THAT(enable.out, HasSubstr("is ENABLED"));
  EXPECT_EQ(Get(second.id()).status(), v1::CallerId::ENABLED);
  ProcessResult disable = Ctl({"disable", std::to_string(second.id()), "99"});
  EXPECT_EXIT_CODE(disable, 1);  // 99 is unknown; the other one is still disabled
  EXPECT_THAT(disable.err, HasSubstr("disable 99: the server refused: NOT_FOUND"));
  EXPECT_EQ(Get(second.id()).status(), v1::CallerId::DISABLED);

  // The license allows 5 enabled CallerIDs: enabling a sixth is refused.
  Add("0004*001", "5550101");
  Add("0004*001", "5550102");
  Add("0004*001", "5550103");
  ProcessResult over = Ctl({"enable", std::to_string(second.id())});
  EXPECT_EXIT_CODE(over, 1);
  EXPECT_THAT(over.err, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_THAT(over.err, HasSubstr("ledgerctl license"));

  // Removing several needs --yes; all or none.
  const std::string a = std::to_string(second.id());
  const std::string b = std::to_string(third.id());
  ProcessResult unconfirmed = Ctl({"remove", a, b});
  EXPECT_EXIT_CODE(unconfirmed, 2);
  EXPECT_THAT(unconfirmed.err, HasSubstr("needs --yes"));
  grpc::Status status;
  Get(second.id(), &status);
  EXPECT_TRUE(status.ok());
  ProcessResult partly = Ctl({"remove", a, "99", "--yes"});
  EXPECT_EXIT_CODE(partly, 1);
  Get(second.id(), &status);
  EXPECT_TRUE(status.ok()) << "nothing is removed when one id is unknown";
  ProcessResult removed = Ctl({"remove", a, b, "--yes"});
  EXPECT_EXIT_CODE(removed, 0);
  EXPECT_THAT(removed.out, HasSubstr(absl::StrCat("removed CallerIDs ", a, ", ", b)));
  Get(third.id(), &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EXIT_CODE(Ctl({"remove", std::to_string(first.id())}), 0);
}

// A token from --token_file (or LEDGER_TOKEN) travels in plaintext to a loopback server.
TEST_F(LedgerctlTest, ATokenFileWorksAgainstALoopbackServer) {
  const std::string token_file = server_.dir() + "/token";
  WriteFile(token_file, "a-token-for-ledgerctl\n");
  ProcessResult license = Ctl({"--token_file", token_file, "license", "-o", "json"});
  EXPECT_EXIT_CODE(license, 0);
  EXPECT_THAT(license.out, HasSubstr("\"max_active_callerids\": 5"));
  ProcessResult missing = Ctl({"license", "--token_file", server_.dir() + "/no-token"});
  EXPECT_EXIT_CODE(missing, 2);
  EXPECT_THAT(missing.err, HasSubstr("--token_file: cannot read"));
}

TEST_F(LedgerctlTest, LicenseAndPolicy) {
  Add(kExtension, "5550001");
  Add(kExtension, "5550002", "0", "", v1::CallerId::DISABLED);
  ProcessResult license = Ctl({"license", "-e", kExtension});
  EXPECT_EXIT_CODE(license, 0);
  EXPECT_THAT(license.out,
              ::testing::MatchesRegex("(.|\n)*license limit \\(enabled CallerIDs\\) +5\n(.|\n)*"));
  EXPECT_THAT(license.out, ::testing::MatchesRegex("(.|\n)*may still be enabled +4\n(.|\n)*"));
  ProcessResult json = Ctl({"license", "-o", "json"});
  EXPECT_THAT(json.out, HasSubstr("\"max_active_callerids\": 5"));

  ProcessResult policy = Ctl({"policy", "-e", kExtension, "--max-active", "1"});
  EXPECT_EXIT_CODE(policy, 0);
  EXPECT_THAT(policy.out, ::testing::MatchesRegex("(.|\n)*limit +1\n(.|\n)*"));
  // Setting one value keeps the other.
  EXPECT_EXIT_CODE(Ctl({"policy", "-e", kExtension, "--min-credit", "0.50"}), 0);
  ProcessResult shown = Ctl({"policy", "-e", kExtension, "-o", "csv"});
  EXPECT_THAT(shown.out, HasSubstr("0003*005,1,0.50,1,2"));
  ProcessResult bad = Ctl({"policy", "-e", kExtension, "--min-credit", "1e3"});
  EXPECT_EXIT_CODE(bad, 1);
  EXPECT_THAT(bad.err, HasSubstr("INVALID_ARGUMENT"));
  ProcessResult over = Ctl({"add", "-e", kExtension, "-n", "5550003"});
  EXPECT_EXIT_CODE(over, 1);
  EXPECT_THAT(over.err, HasSubstr("RESOURCE_EXHAUSTED"));
}

// ---------------------------------------------------------------------------------------
// Credit and reports.

TEST_F(LedgerctlTest, AddCreditAndRecharges) {
  const v1::CallerId caller = Add(kExtension, "+40721000111", "10.50", "ORD-1");
  const std::string id = std::to_string(caller.id());
  ProcessResult top_up = Ctl({"--currency", "EUR", "add-credit", id, "--amount", "5", "--order-no",
                              "ORD-2", "--description", "top-up"});
  EXPECT_EXIT_CODE(top_up, 0);
  EXPECT_THAT(top_up.out, HasSubstr("credit left       15.50 EUR"));
  ProcessResult back =
      Ctl({"add-credit", "-e", kExtension, "-n", "+40721000111", "--amount", "-2.25"});
  EXPECT_EXIT_CODE(back, 0);
  EXPECT_THAT(back.out, HasSubstr("13.25"));

  const uint64_t before = LastSequence();
  ProcessResult below = Ctl({"add-credit", id, "--amount=-1000"});
  EXPECT_EXIT_CODE(below, 1);
  EXPECT_THAT(below.err, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(below.err, HasSubstr("available credit is 13.25"));
  ProcessResult exponent = Ctl({"add-credit", id, "--amount", "1e5"});
  EXPECT_EXIT_CODE(exponent, 1);
  EXPECT_THAT(exponent.err, HasSubstr("INVALID_ARGUMENT: amount"));
  EXPECT_EXIT_CODE(Ctl({"add-credit", id}), 2);
  EXPECT_EQ(LastSequence(), before);

  ProcessResult history = Ctl({"recharges", id});
  EXPECT_EXIT_CODE(history, 0);
  const std::vector<std::string> lines = absl::StrSplit(history.out, '\n');
  ASSERT_GE(lines.size(), 5u) << history.out;
  EXPECT_THAT(lines[0],
              ::testing::MatchesRegex("ID +DATE \\(UTC\\) +CREDIT ADDED \\(USD\\) +CREDIT LEFT "
                                      "\\(USD\\) +ORDER NO +DESCRIPTION +BY"));
  EXPECT_THAT(lines[1], ::testing::MatchesRegex(".* -2.25 +13.25 +admin"));  // newest first
  EXPECT_THAT(lines[2], ::testing::MatchesRegex(".* 5.00 +15.50 +ORD-2 +top-up +admin"));
  EXPECT_THAT(lines[3], ::testing::MatchesRegex(".* 10.50 +10.50 +ORD-1 +initial credit +admin"));
  EXPECT_THAT(history.out, HasSubstr("3 recharges of CallerID"));
  ProcessResult csv = Ctl({"recharges", id, "-o", "csv", "--limit", "1"});
  EXPECT_THAT(csv.out, ::testing::StartsWith("id,created_at,amount,credit_left,"));
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 2);
  ProcessResult unknown = Ctl({"recharges", "99"});
  EXPECT_EXIT_CODE(unknown, 1);
  EXPECT_THAT(unknown.err, HasSubstr("NOT_FOUND"));
}

TEST_F(LedgerctlTest, CostReport) {
  Add(kExtension, "+40721000111", "20");
  SettledCall("+40721000111", "call-1/b", 370);  // 7 minutes at 0.60: 4.20
  SettledCall("+40721000111", "call-2/b", 50);   // 1 minute: 0.60
  ProcessResult report = Ctl({"cost-report", "-e", kExtension});
  EXPECT_EXIT_CODE(report, 0);
  EXPECT_THAT(report.out, HasSubstr("DESTINATION"));
  EXPECT_THAT(report.out, ::testing::MatchesRegex("(.|\n)*6:10 +4.20 +0.00 +no +pbx-1\n(.|\n)*"));
  EXPECT_THAT(report.out, ::testing::MatchesRegex("(.|\n)*total +2 calls +7:00 +4.80 +0.00\n"));
  ProcessResult json = Ctl({"cost-report", "-e", kExtension, "-o", "json"});
  EXPECT_THAT(json.out, HasSubstr("\"total_cost\":\"4.80\""));
  EXPECT_THAT(json.out, HasSubstr("\"reservation_id\":\"call-1/b\""));
  ProcessResult range = Ctl({"cost-report", "-e", kExtension, "--to", "2000-01-01", "-o", "csv"});
  EXPECT_EXIT_CODE(range, 0);
  EXPECT_EQ(std::count(range.out.begin(), range.out.end(), '\n'), 1) << range.out;
  ProcessResult when = Ctl({"cost-report", "-e", kExtension, "--from", "last tuesday"});
  EXPECT_EXIT_CODE(when, 2);
  EXPECT_THAT(when.err, HasSubstr("--from"));
  ProcessResult unknown = Ctl({"cost-report", "--id", "99"});
  EXPECT_EXIT_CODE(unknown, 1);
  EXPECT_THAT(unknown.err, HasSubstr("NOT_FOUND"));
}

TEST_F(LedgerctlTest, EventsTailAndFollow) {
  Add(kExtension, "5550001");
  Add(kExtension, "5550002", "1", "R\"1");
  Add(kExtension, "5550003");
  ProcessResult tail = Ctl({"events", "-n", "2"});
  EXPECT_EXIT_CODE(tail, 0);
  EXPECT_THAT(tail.out, Not(HasSubstr("number=5550001")));
  EXPECT_THAT(tail.out, HasSubstr("number=5550002"));
  EXPECT_THAT(tail.out, HasSubstr("order_no=\"R\\\"1\""));
  EXPECT_THAT(tail.out, HasSubstr("caller_id_added"));
  ProcessResult from = Ctl({"events", "--from", "1", "-o", "json"});
  EXPECT_EQ(std::count(from.out.begin(), from.out.end(), '\n'), 3) << from.out;  // JSON Lines
  ProcessResult zero = Ctl({"events", "--from", "0"});
  EXPECT_EXIT_CODE(zero, 2);

  // --follow prints what commits after it started.
  ProcessResult follow;
  std::thread watcher([&] {
    follow = Ctl({"events", "-n", "0", "--follow", "--count", "2", "-o", "csv"});
  });
  // Give the watcher time to start; the adds it must see come after.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  Add(kExtension, "5550004");
  Add(kExtension, "5550005");
  watcher.join();
  EXPECT_EXIT_CODE(follow, 0);
  EXPECT_THAT(follow.out, HasSubstr("5550004"));
  EXPECT_THAT(follow.out, HasSubstr("5550005"));
  EXPECT_THAT(follow.out, Not(HasSubstr("5550003")));

  // A server that goes away and does not come back within --timeout: exit 3, and where
  // to resume.
  ProcessResult orphan;
  std::thread waiter([&] { orphan = Ctl({"events", "-n", "0", "--follow", "--timeout", "2"}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(server_.Stop(), 0);
  waiter.join();
  EXPECT_EXIT_CODE(orphan, 3);
  EXPECT_THAT(orphan.err, HasSubstr("did not come back; resume with --from 6 --follow"));
}

// ---------------------------------------------------------------------------------------
// Exports, read back by independent readers.

TEST_F(LedgerctlTest, ExportsReadBackEqualWithCsvModuleAndOpenpyxl) {
  const v1::CallerId tricky = Add(kExtension, "+40721000111", "1234.5", kTrickyOrderNo);
  Add(kExtension, "0040213100200", "", "unlimited, \"big\"", v1::CallerId::DISABLED, true);
  Add(kExtension, "5550003", "0.0125", "  spaces  ");
  Add("0009*009", "5550004", "1");  // another extension: not exported
  {
    v1::AddCreditRequest request;
    request.set_callerid_id(tricky.id());
    request.set_amount("-0.25");
    request.set_order_no("R, \"2\"");
    request.set_description("ünïcode – refund");
    v1::Recharge reply;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    ASSERT_TRUE(credit_->AddCredit(&context, request, &reply).ok());
  }
  SettledCall("+40721000111", "call-1/b", 370);

  const std::string dir = server_.dir();
  // CallerIDs.
  for (const char* file : {"callerids.csv", "callerids.xlsx"}) {
    ProcessResult exported =
        Ctl({"export", "callerids", "-e", kExtension, "-f", absl::StrCat(dir, "/", file)});
    EXPECT_EXIT_CODE(exported, 0);
    EXPECT_THAT(exported.out, HasSubstr("exported 3 CallerIDs"));
    EXPECT_EQ(exported.err, "") << "no progress bar when stderr is not a terminal";
  }
  std::vector<std::string> expected;
  for (const v1::CallerId& caller_id : List(kExtension)) expected.push_back(Json(caller_id));
  ASSERT_EQ(expected.size(), 3u);
  ReadBack(expected, dir + "/callerids.csv", dir + "/callerids.xlsx");
  EXPECT_THAT(ReadFile(dir + "/callerids.csv"), HasSubstr("\"ORD, \"\"A\"\" – ünïcode\""));
  // The same CSV on stdout.
  EXPECT_EQ(Ctl({"export", "callerids", "-e", kExtension, "-f", "-"}).out,
            ReadFile(dir + "/callerids.csv"));

  // The recharge history.
  for (const char* file : {"recharges.csv", "recharges.xlsx"}) {
    EXPECT_EXIT_CODE(Ctl({"export", "recharges", std::to_string(tricky.id()), "-f",
                          absl::StrCat(dir, "/", file)}),
                     0);
  }
  {
    v1::ListRechargesRequest request;
    request.set_callerid_id(tricky.id());
    v1::ListRechargesResponse reply;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    ASSERT_TRUE(credit_->ListRecharges(&context, request, &reply).ok());
    expected.clear();
    for (const v1::Recharge& recharge : reply.recharges()) expected.push_back(Json(recharge));
  }
  ASSERT_EQ(expected.size(), 2u);
  ReadBack(expected, dir + "/recharges.csv", dir + "/recharges.xlsx");

  // The cost report.
  for (const char* file : {"calls.csv", "calls.xlsx"}) {
    ProcessResult exported =
        Ctl({"export", "cost-report", "-e", kExtension, "-f", absl::StrCat(dir, "/", file)});
    EXPECT_EXIT_CODE(exported, 0);
    EXPECT_THAT(exported.out, HasSubstr("exported 1 call (cost 4.20"));
  }
  {
    v1::GetCostReportRequest request;
    request.set_extension(kExtension);
    v1::GetCostReportResponse reply;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    std::unique_ptr<v1::Reports::Stub> reports = v1::Reports::NewStub(server_.channel());
    ASSERT_TRUE(reports->GetCostReport(&context, request, &reply).ok());
    expected.clear();
    for (const v1::CallRecord& call : reply.calls()) expected.push_back(Json(call));
  }
  ASSERT_EQ(expected.size(), 1u);
  ReadBack(expected, dir + "/calls.csv", dir + "/calls.xlsx");

  // A file that cannot be written: exit 2, and what to check.
  ProcessResult unwritable =
      Ctl({"export", "callerids", "-e", kExtension, "-f", "/nonexistent/dir/x.xlsx"});
  EXPECT_EXIT_CODE(unwritable, 2);
  EXPECT_THAT(unwritable.err, HasSubstr("cannot write /nonexistent/dir/x.xlsx"));
}

TEST_F(LedgerctlTest, ExportStreamsPageByPage) {
  // More than one page of 1000 (the license limits only enabled ones).
  std::string file = "extension,callback_number,pin,initial_credit,order_no,status\n";
  for (int i = 0; i < 1500; ++i)
    absl::StrAppend(&file, "0005*001,555", 10000 + i, ",,1,,DISABLED\n");
  WriteFile(server_.dir() + "/many.csv", file);
  EXPECT_EXIT_CODE(Ctl({"import", server_.dir() + "/many.csv"}), 0);
  ProcessResult csv = Ctl({"export", "callerids", "-e", "0005*001", "-f", "-"});
  EXPECT_EXIT_CODE(csv, 0);
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 1501);
  ProcessResult xlsx =
      Ctl({"export", "callerids", "-e", "0005*001", "-f", server_.dir() + "/many.xlsx"});
  EXPECT_EXIT_CODE(xlsx, 0);
  EXPECT_THAT(xlsx.out, HasSubstr("exported 1,500 CallerIDs"));
  ProcessResult limited = Ctl({"list", "-e", "0005*001", "--limit", "1200", "-o", "csv"});
  EXPECT_EQ(std::count(limited.out.begin(), limited.out.end(), '\n'), 1201);
}

// ---------------------------------------------------------------------------------------
// Import.

TEST_F(LedgerctlTest, ImportDryRunWritesNothingThenAddsOnlyGoodRowsOnce) {
  Add("0006*001", "+40721000300", "1", "there before");
  const std::string path = server_.dir() + "/import.csv";
  WriteFile(path,
            "extension,callback_number,pin,initial_credit,order_no,status\r\n"     // 1
            "0006*001,+40721000200,1234,10.50,\"IMP, \"\"1\"\" – ü\",ENABLED\r\n"  // 2 good
            "0006*001,12,,5,IMP-2,ENABLED\r\n"                                     // 3 bad number
            "0006*001,+40721000201,,unlimited,IMP-3,disabled\r\n"                  // 4 good
            "0006*001,+40721000202,12,1e5,IMP-4,MAYBE\r\n"                         // 5 bad x3
            "\r\n"                                                                 // 6 blank
            "0006*001,+40721000200,,1,dup,ENABLED\r\n"                             // 7 duplicate
            "0006*001,+40721000300,,1,there before,ENABLED\r\n"                    // 8 present
            "0006*001,+40721000204,,-1,x,ENABLED\r\n"                              // 9 negative
            "0006*001,+40721000205\r\n"                                            // 10 short
            "0006*001,+40721000206,,0.5,\"two\r\nlines\",DISABLED\r\n"             // 11-12 bad text
            "0006*001,+40721000207,,,,\r\n");                                      // 13 good
  const uint64_t before = LastSequence();
  ProcessResult dry = Ctl({"import", path, "--dry-run"});
  EXPECT_EXIT_CODE(dry, 1);
  EXPECT_EQ(LastSequence(), before) << "a dry run writes nothing";
  for (const char* bad : {"line 3: callback_number", "line 5: pin", "line 7: duplicate of line 2",
                          "line 9: initial_credit: must not be negative", "line 10: has 2 fields",
                          "line 11: order_no: contains control character"}) {
    EXPECT_THAT(dry.out, HasSubstr(bad)) << dry.out;
  }
  EXPECT_THAT(dry.out, HasSubstr("exponent"));  // line 5 names all its problems
  EXPECT_THAT(dry.out, HasSubstr("status: must be ENABLED or DISABLED"));
  EXPECT_THAT(dry.out, HasSubstr("10 rows, 4 valid, 6 bad; nothing was written"));
  // Good rows are not reported (each report starts a line).
  EXPECT_THAT("\n" + dry.out, Not(HasSubstr("\nline 2:")));
  EXPECT_THAT("\n" + dry.out, Not(HasSubstr("\nline 8:")));

  ProcessResult run = Ctl({"import", path});
  EXPECT_EXIT_CODE(run, 1);
  EXPECT_THAT(run.out, HasSubstr("10 rows: 3 added, 1 already present, 6 failed"));
  std::vector<std::string> numbers;
  for (const v1::CallerId& c : List("0006*001")) numbers.push_back(c.callback_number());
  EXPECT_THAT(numbers, ::testing::UnorderedElementsAre("+40721000300", "+40721000200",
                                                       "+40721000201", "+40721000207"));
  for (const v1::CallerId& c : List("0006*001")) {
    if (c.callback_number() == "+40721000200") {
      EXPECT_EQ(c.order_no(), "IMP, \"1\" – ü");
      EXPECT_TRUE(c.pin_set());
      EXPECT_EQ(c.total_credit(), "10.50");
    }
    if (c.callback_number() == "+40721000201") {
      EXPECT_TRUE(c.unlimited());
      EXPECT_EQ(c.status(), v1::CallerId::DISABLED);
    }
  }

  // Re-running adds nothing: the good rows are already there.
  const uint64_t after = LastSequence();
  ProcessResult again = Ctl({"import", path, "-o", "json"});
  EXPECT_EXIT_CODE(again, 1);
  EXPECT_THAT(again.out, HasSubstr("\"added\": 0"));
  EXPECT_THAT(again.out, HasSubstr("\"already_present\": 4"));
  EXPECT_EQ(LastSequence(), after);

  // A row imported earlier and since removed is "already done", not added again.
  const std::string single = server_.dir() + "/single.csv";
  WriteFile(single, "callback_number,initial_credit\n+40721000400,2\n");
  EXPECT_THAT(Ctl({"import", single, "-e", "0006*002"}).out, HasSubstr("1 added"));
  const std::vector<v1::CallerId> imported = List("0006*002");
  ASSERT_EQ(imported.size(), 1u);
  EXPECT_EXIT_CODE(Ctl({"remove", std::to_string(imported[0].id())}), 0);
  const uint64_t removed = LastSequence();
  ProcessResult rerun = Ctl({"import", single, "-e", "0006*002"});
  EXPECT_EXIT_CODE(rerun, 0);
  EXPECT_THAT(rerun.out, HasSubstr("0 added, 1 already present"));
  EXPECT_EQ(LastSequence(), removed);

  // A header it does not know is a usage error.
  WriteFile(single, "number,credit\n+40721000400,2\n");
  ProcessResult header = Ctl({"import", single, "--dry-run"});
  EXPECT_EXIT_CODE(header, 2);
  EXPECT_THAT(header.err, HasSubstr("unknown column \"number\""));
}

// ---------------------------------------------------------------------------------------
// The progress bar: on a terminal only.

// Runs ledgerctl on a new pseudo-terminal (stdout and stderr both on it) and returns what
// it wrote there; waits at most 30 s.
ProcessResult RunOnTerminal(const std::vector<std::string>& args) {
  ProcessResult result;
  std::vector<std::string> argv = {e2e::LedgerctlPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> pointers;
  for (std::string& arg : argv) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  winsize size{};
  size.ws_col = 120;
  size.ws_row = 40;
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, &size);
  if (pid < 0) return result;
  if (pid == 0) {
    execv(pointers[0], pointers.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fd{master, POLLIN, 0};
    if (poll(&fd, 1, 100) <= 0) continue;
    const ssize_t n = read(master, buffer, sizeof(buffer));
    if (n <= 0) break;  // EIO once the child is gone
    result.out.append(buffer, static_cast<size_t>(n));
  }
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    result.timed_out = true;
  }
  close(master);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

TEST_F(LedgerctlTest, ProgressBarOnATerminalOnly) {
  std::string file = "extension,callback_number,pin,initial_credit,order_no,status\n";
  for (int i = 0; i < 300; ++i)
    absl::StrAppend(&file, "0005*002,555", 10000 + i, ",,1,,DISABLED\n");
  const std::string path = server_.dir() + "/bar.csv";
  WriteFile(path, file);

  ProcessResult import = RunOnTerminal({"--server", server_.address(), "import", path});
  EXPECT_EQ(import.exit_code, 0) << import.out;
  EXPECT_THAT(import.out, HasSubstr("\r"));
  EXPECT_THAT(import.out, HasSubstr("100%"));
  EXPECT_THAT(import.out, HasSubstr("/s"));
  EXPECT_THAT(import.out, HasSubstr("300 added"));

  const std::string xlsx = server_.dir() + "/bar.xlsx";
  ProcessResult exported = RunOnTerminal(
      {"--server", server_.address(), "export", "callerids", "-e", "0005*002", "-f", xlsx});
  EXPECT_EQ(exported.exit_code, 0) << exported.out;
  EXPECT_THAT(exported.out, HasSubstr("300/300 rows"));
  EXPECT_THAT(exported.out, HasSubstr("rows/s"));
  ProcessResult quiet = RunOnTerminal({"--server", server_.address(), "--no-progress", "export",
                                       "callerids", "-e", "0005*002", "-f", xlsx});
  EXPECT_THAT(quiet.out, Not(HasSubstr("rows/s")));

  // Not a terminal: no bar at all.
  ProcessResult piped = Ctl({"export", "callerids", "-e", "0005*002", "-f", xlsx});
  EXPECT_EXIT_CODE(piped, 0);
  EXPECT_EQ(piped.err, "");
  EXPECT_THAT(piped.out, Not(HasSubstr("\r")));
}

// ---------------------------------------------------------------------------------------
// verify, offline.

TEST_F(LedgerctlTest, VerifyAfterTheServerStops) {
  Add(kExtension, "5550001");
  ASSERT_EQ(server_.Stop(), 0);
  ProcessResult verify = e2e::RunLedgerctl({"verify", "--data_dir", server_.data_dir()});
  EXPECT_EXIT_CODE(verify, 0);
  EXPECT_THAT(verify.out, HasSubstr("OK: the projections equal a replay of the log"));
  ProcessResult missing = e2e::RunLedgerctl({"verify", "--data_dir", server_.dir() + "/nope"});
  EXPECT_EXIT_CODE(missing, 2);
}

}  // namespace
}  // namespace callbackledger
