// ledgerctl against the real ledgerd: usage, help and exit codes, and every subcommand's
// happy path and its bad-input path (exit codes and messages). The exports, the bulk import
// and the progress bar are in ledgerctl_files_test.cc; the CSV, import-row and progress
// pieces have unit tests beside them in clients/ledgerctl/.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ledgerctl_fixture.h"

namespace callbackledger::ledgerctl_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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

}  // namespace
}  // namespace callbackledger::ledgerctl_test
