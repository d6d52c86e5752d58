// ledgerctl's files against the real ledgerd: exports read back by independent readers
// (Python's csv module and openpyxl), the bulk import with bad rows, dry runs and re-runs,
// the progress bar on a terminal and not otherwise, and verify once the server stops.
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ledgerctl_fixture.h"

namespace callbackledger::ledgerctl_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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
}  // namespace callbackledger::ledgerctl_test
