// The log line format and the monitoring hooks (RpcMonitor, MonitorGroup), in process: what
// ledgerd's RPCs and commit groups put into its metrics and its log, with no server running.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/rpc_monitor.h"
#include "tests/metrics_text.h"

namespace callbackledger {
namespace {

using e2e::CheckJsonLines;
using e2e::Find;
using e2e::ParseExposition;
using e2e::ProcessResult;
using e2e::ReadWholeFile;
using e2e::Sample;

// A PIN no other part of a log line could contain by chance.
constexpr char kBadPin[] = "6150937248351";  // 13 digits: refused, INVALID_ARGUMENT

TEST(LogFormatTest, TextLineHasTimeLevelMessageAndFields) {
  const absl::Time time = absl::FromUnixMillis(1798364519701);
  std::string line = FormatLogLine(LogFormat::kText, time, LogLevel::kInfo, "serving", "serving:",
                                   {{"data_dir", "./data"},
                                    {"events", uint64_t{3}},
                                    {"note", "two words"},
                                    {"ok", true},
                                    {"delta", -2}});
  EXPECT_TRUE(
      absl::StartsWith(line, absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone())))
      << line;
  EXPECT_TRUE(
      absl::EndsWith(line,
                     " INFO ledgerd: serving: data_dir=./data events=3 note=\"two words\" ok=true "
                     "delta=-2"))
      << line;
}

TEST(LogFormatTest, JsonLinesParseEvenWithHostileStrings) {
  const std::string hostile = std::string("quote\" backslash\\ newline\n tab\t nul") +
                              std::string(1, '\0') + " bell\x07 bad utf8 \xC3\x28 \xFF end";
  std::vector<std::string> lines = {
      FormatLogLine(LogFormat::kJson, absl::Now(), LogLevel::kError, "storage_failure", hostile,
                    {{"error", hostile}, {"count", size_t{2}}, {"ms", 1.5}}),
      FormatLogLine(LogFormat::kJson, absl::Now(), LogLevel::kDebug, "rpc", "", {}),
      FormatLogLine(LogFormat::kJson, absl::Now(), LogLevel::kWarning, "x", "é ✓ 😀",
                    {{"nan", std::nan("")}})};
  std::string path = absl::StrCat(::testing::TempDir(), "/log_format_test.jsonl");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (const std::string& line : lines) {
      EXPECT_EQ(line.find('\n'), std::string::npos) << line;
      out << line << "\n";
    }
  }
  ProcessResult parsed = CheckJsonLines(path);
  EXPECT_EQ(parsed.exit_code, 0) << parsed.Describe() << "\n" << ReadWholeFile(path);
  EXPECT_EQ(absl::StripAsciiWhitespace(parsed.out), "3") << parsed.Describe();
  std::remove(path.c_str());
}

// ---------------------------------------------------------------------------------------
// The monitor hooks, in process.

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogFormat(LogFormat::kJson);
    SetLogLevel(LogLevel::kInfo);
  }
  void TearDown() override {
    SetLogFormat(LogFormat::kText);
    SetLogLevel(LogLevel::kInfo);
  }

  int Rpc(const std::string& path) { return rpcs_.Find(path); }

  RpcTable rpcs_;
  ServerMetrics metrics_{&rpcs_};
  RpcMonitor monitor_{&rpcs_, &metrics_};
};

TEST_F(MonitorTest, NamesEveryRpcOfTheApi) {
  EXPECT_EQ(rpcs_.label(Rpc("/callbackledger.v1.CallerIds/AddCallerId")), "AddCallerId");
  EXPECT_EQ(rpcs_.label(Rpc("/callbackledger.v1.Calls/Settle")), "Settle");
  EXPECT_EQ(rpcs_.label(Rpc("/callbackledger.v1.Reports/GetCostReport")), "GetCostReport");
  EXPECT_EQ(rpcs_.label(Rpc("/callbackledger.v1.Credit/AddCredit")), "AddCredit");
  EXPECT_EQ(rpcs_.label(Rpc("/grpc.health.v1.Health/Check")), "Health/Check");
  EXPECT_EQ(Rpc("/callbackledger.v1.CallerIds/NoSuchRpc"), rpcs_.unknown());
  EXPECT_EQ(rpcs_.label(rpcs_.unknown()), "unknown");
  const int watch = Rpc("/callbackledger.v1.Events/WatchEvents");
  EXPECT_EQ(rpcs_.label(watch), "WatchEvents");
  EXPECT_TRUE(rpcs_.streaming(watch));
  EXPECT_FALSE(rpcs_.streaming(Rpc("/callbackledger.v1.Events/ReadEvents")));
}

TEST_F(MonitorTest, LogsServerFailuresRateLimitedButNeverClientMessages) {
  const int add = Rpc("/callbackledger.v1.CallerIds/AddCallerId");
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 25; ++i) {
    monitor_.Finished(add,
                      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                   "the ledger accepts no writes after a storage failure: disk"),
                      std::chrono::milliseconds(1), nullptr);
  }
  monitor_.Finished(add, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, kBadPin),
                    std::chrono::milliseconds(1), nullptr);
  SetLogLevel(LogLevel::kDebug);
  monitor_.Finished(add, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, kBadPin),
                    std::chrono::milliseconds(1), nullptr);
  const std::string log = ::testing::internal::GetCapturedStderr();

  const std::vector<std::string> lines = absl::StrSplit(log, '\n', absl::SkipEmpty());
  int failures = 0;
  for (const std::string& line : lines) {
    if (absl::StrContains(line, R"("event":"rpc_failed")")) ++failures;
  }
  EXPECT_GE(failures, 1) << log;
  EXPECT_LE(failures, 10) << log;  // at most 10 a second
  EXPECT_TRUE(absl::StrContains(log, "after a storage failure: disk")) << log;
  EXPECT_TRUE(absl::StrContains(log, R"("code":"UNAVAILABLE")")) << log;
  // The debug line names the RPC and the code, never the message.
  EXPECT_TRUE(absl::StrContains(log, R"("rpc":"AddCallerId","code":"INVALID_ARGUMENT")")) << log;
  EXPECT_FALSE(absl::StrContains(log, kBadPin)) << log;

  const std::vector<Sample> samples = ParseExposition(metrics_.Render());
  EXPECT_EQ(
      Find(samples, "ledger_requests_total", {{"rpc", "AddCallerId"}, {"code", "UNAVAILABLE"}}),
      25.0);
  EXPECT_EQ(Find(samples, "ledger_requests_total",
                 {{"rpc", "AddCallerId"}, {"code", "INVALID_ARGUMENT"}}),
            2.0);
  EXPECT_EQ(Find(samples, "ledger_request_duration_seconds_count", {{"rpc", "AddCallerId"}}), 27.0);
  // No ledger yet: only the readiness gauge.
  EXPECT_EQ(Find(samples, "ledger_ready"), 0.0);
  EXPECT_FALSE(Find(samples, "ledger_active_callerids").has_value());
}

TEST_F(MonitorTest, StreamsAreCountedWithoutLatency) {
  const int watch = Rpc("/callbackledger.v1.Events/WatchEvents");
  monitor_.Finished(watch, grpc::Status::CANCELLED, std::chrono::seconds(30), nullptr);
  const std::vector<Sample> samples = ParseExposition(metrics_.Render());
  EXPECT_EQ(Find(samples, "ledger_requests_total", {{"rpc", "WatchEvents"}, {"code", "CANCELLED"}}),
            1.0);
  EXPECT_FALSE(
      Find(samples, "ledger_request_duration_seconds_count", {{"rpc", "WatchEvents"}}).has_value());
}

TEST_F(MonitorTest, GroupsAreCountedAndAStorageFailureIsLogged) {
  GroupStats committed;
  committed.commands = 3;
  committed.events = 3;
  committed.write_micros = 1500;
  GroupStats refused;  // after a failure: nothing written
  refused.commands = 2;
  GroupStats failed;
  failed.commands = 1;
  failed.events = 1;
  failed.write_micros = 800;
  failed.write_status = absl::UnavailableError("IO error: No space left on device");

  ::testing::internal::CaptureStderr();
  MonitorGroup(&metrics_, committed);  // info level: not logged
  MonitorGroup(&metrics_, failed);
  MonitorGroup(&metrics_, refused);
  SetLogLevel(LogLevel::kDebug);
  MonitorGroup(nullptr, committed);  // metrics off: logged only
  const std::string log = ::testing::internal::GetCapturedStderr();

  EXPECT_TRUE(
      absl::StrContains(log, R"("level":"ERROR","logger":"ledgerd","event":"storage_failure")"))
      << log;
  EXPECT_TRUE(absl::StrContains(log, "No space left on device")) << log;
  EXPECT_EQ(absl::StrContains(log, R"("event":"commit")"), true) << log;
  const std::vector<std::string> lines = absl::StrSplit(log, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 2u) << log;

  const std::vector<Sample> samples = ParseExposition(metrics_.Render());
  EXPECT_EQ(Find(samples, "ledger_commit_group_size_count"), 3.0);
  EXPECT_EQ(Find(samples, "ledger_commit_group_size_sum"), 6.0);
  EXPECT_EQ(Find(samples, "ledger_commit_group_size_bucket", {{"le", "2"}}), 2.0);
  EXPECT_EQ(Find(samples, "ledger_sync_duration_seconds_count"), 2.0);
  EXPECT_DOUBLE_EQ(Find(samples, "ledger_sync_duration_seconds_sum").value_or(0), 0.0023);
}

}  // namespace
}  // namespace callbackledger
