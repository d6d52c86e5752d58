// Metrics and structured logs of ledgerd, end to end: the real binary with
// --metrics_listen on a free loopback port, a few RPCs, a scrape of /metrics with a plain
// socket HTTP GET, and checks of the counters, gauges and histograms; the JSON log format
// parsed line by line; no PIN in any log line. Plus unit tests of the log line format.
// Every RPC has a deadline; every wait is bounded.
#include "server/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/log.h"
#include "server/rpc_monitor.h"
#include "tests/server_harness.h"

namespace callbackledger {
namespace {

using e2e::LedgerServer;
using e2e::PickFreeLoopbackPort;
using e2e::ProcessResult;
using e2e::RunProcess;

constexpr std::chrono::seconds kRpcTimeout(5);
constexpr char kPython[] = "/usr/bin/python3";

// PINs no other part of a log line could contain by chance.
constexpr char kGoodPin[] = "80417263";
constexpr char kBadPin[] = "6150937248351";  // 13 digits: refused, INVALID_ARGUMENT

::testing::AssertionResult IsOk(const grpc::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "gRPC status " << status.error_code() << ": " << status.error_message();
}

::testing::AssertionResult IsOk(const absl::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.ToString();
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// ---------------------------------------------------------------------------------------
// A plain HTTP/1.0 GET over a socket, bounded by `timeout`.

struct HttpReply {
  int status = 0;
  std::string body;
  std::string error;  // set when there is no reply
};

HttpReply HttpGet(int port, const std::string& path, std::chrono::milliseconds timeout) {
  HttpReply reply;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    reply.error = absl::StrCat("socket: ", std::strerror(errno));
    return reply;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    reply.error = absl::StrCat("connect: ", std::strerror(errno));
    close(fd);
    return reply;
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      reply.error = absl::StrCat("send: ", std::strerror(errno));
      close(fd);
      return reply;
    }
    sent += static_cast<size_t>(n);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string raw;
  char buffer[8192];
  while (std::chrono::steady_clock::now() < deadline) {
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) break;  // the server closed: the whole reply is in
    if (n < 0) {
      if (errno == EINTR) continue;
      reply.error = absl::StrCat("recv: ", std::strerror(errno));
      break;
    }
    raw.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  size_t header_end = raw.find("\r\n\r\n");
  std::vector<std::string> status_line = absl::StrSplit(raw.substr(0, raw.find("\r\n")), ' ');
  if (header_end == std::string::npos || status_line.size() < 2 ||
      !absl::SimpleAtoi(status_line[1], &reply.status)) {
    if (reply.error.empty()) reply.error = absl::StrCat("not an HTTP reply: ", raw.substr(0, 200));
    return reply;
  }
  reply.body = raw.substr(header_end + 4);
  return reply;
}

// ---------------------------------------------------------------------------------------
// The Prometheus text format: one sample per line, `name{label="value",...} number`.

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<Sample> ParseExposition(const std::string& text) {
  std::vector<Sample> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    Sample sample;
    size_t value_at = line.rfind(' ');
    if (value_at == absl::string_view::npos) continue;
    absl::string_view series = line.substr(0, value_at);
    absl::string_view number = line.substr(value_at + 1);
    if (!absl::SimpleAtod(number, &sample.value)) continue;  // NaN and the like
    size_t brace = series.find('{');
    sample.name = std::string(series.substr(0, brace));
    if (brace != absl::string_view::npos) {
      // Label values in our metrics have no quotes, commas or escapes.
      absl::string_view labels = series.substr(brace + 1);
      if (absl::EndsWith(labels, "}")) labels.remove_suffix(1);
      for (absl::string_view pair : absl::StrSplit(labels, ',', absl::SkipEmpty())) {
        size_t equals = pair.find('=');
        if (equals == absl::string_view::npos) continue;
        absl::string_view value = pair.substr(equals + 1);
        if (absl::StartsWith(value, "\"")) value.remove_prefix(1);
        if (absl::EndsWith(value, "\"")) value.remove_suffix(1);
        sample.labels[std::string(pair.substr(0, equals))] = std::string(value);
      }
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

// The value of the sample `name` whose labels include `labels`, if there is one.
std::optional<double> Find(const std::vector<Sample>& samples, const std::string& name,
                           const std::map<std::string, std::string>& labels = {}) {
  for (const Sample& sample : samples) {
    if (sample.name != name) continue;
    bool match = true;
    for (const auto& [key, value] : labels) {
      auto it = sample.labels.find(key);
      if (it == sample.labels.end() || it->second != value) match = false;
    }
    if (match) return sample.value;
  }
  return std::nullopt;
}

// Scrapes until `ready` holds for the samples, or `timeout` passes; returns the last
// scrape (and its text in `*text`).
std::vector<Sample> ScrapeUntil(int port,
                                const std::function<bool(const std::vector<Sample>&)>& ready,
                                std::string* text,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<Sample> samples;
  while (true) {
    HttpReply reply = HttpGet(port, "/metrics", std::chrono::seconds(5));
    *text = reply.error.empty() ? reply.body : reply.error;
    samples = reply.status == 200 ? ParseExposition(reply.body) : std::vector<Sample>();
    if (ready(samples) || std::chrono::steady_clock::now() >= deadline) return samples;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// ---------------------------------------------------------------------------------------
// JSON lines, checked by Python's own parser.

// Runs Python on `path`: every line must be one JSON object with the fields every line has.
ProcessResult CheckJsonLines(const std::string& path) {
  static constexpr char kScript[] = R"(
import json, sys
count = 0
with open(sys.argv[1], encoding='utf-8') as log:
    for number, line in enumerate(log, 1):
        if not line.strip():
            continue
        record = json.loads(line)
        if not isinstance(record, dict):
            sys.exit('line %d is not an object' % number)
        for key in ('time', 'level', 'logger', 'event', 'msg'):
            if key not in record:
                sys.exit('line %d has no %r' % (number, key))
        count += 1
print(count)
)";
  return RunProcess({kPython, "-c", kScript, path}, {}, std::chrono::seconds(30));
}

// ---------------------------------------------------------------------------------------
// End to end.

class MetricsTest : public ::testing::Test {
 protected:
  grpc::Status AddCallerId(const std::string& number, const std::string& pin, v1::CallerId* reply) {
    v1::AddCallerIdRequest request;
    request.set_extension("0003*005");
    request.set_callback_number(number);
    request.set_pin(pin);
    request.set_initial_credit("10");
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
    return server_.caller_ids()->AddCallerId(&context, request, reply);
  }

  LedgerServer server_;
};

TEST_F(MetricsTest, CountsRequestsReadsGaugesAndLogsJsonWithoutPins) {
  const int metrics_port = PickFreeLoopbackPort();
  ASSERT_NE(metrics_port, 0);
  ASSERT_TRUE(IsOk(server_.Start({absl::StrCat("--metrics_listen=127.0.0.1:", metrics_port),
                                  "--license_max_active_callerids=7", "--log_format=json",
                                  "--log_level=debug"})));

  v1::CallerId added;
  ASSERT_TRUE(IsOk(AddCallerId("+15550001", kGoodPin, &added)));
  v1::CallerId refused;
  grpc::Status bad = AddCallerId("+15550002", kBadPin, &refused);
  ASSERT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.error_message();

  v1::ReadEventsRequest read;
  read.set_from_sequence(1);
  v1::ReadEventsResponse events;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
    ASSERT_TRUE(IsOk(server_.events()->ReadEvents(&context, read, &events)));
  }
  ASSERT_GE(events.last_sequence(), 1u);

  // The group observer runs after the answer leaves: scrape until it has been counted.
  std::string text;
  std::vector<Sample> samples = ScrapeUntil(
      metrics_port,
      [](const std::vector<Sample>& s) {
        std::optional<double> groups = Find(s, "ledger_commit_group_size_count");
        return groups.has_value() && *groups >= 1;
      },
      &text);
  ASSERT_FALSE(samples.empty()) << text;

  // Requests by RPC and code.
  EXPECT_EQ(Find(samples, "ledger_requests_total", {{"rpc", "AddCallerId"}, {"code", "OK"}}), 1.0)
      << text;
  EXPECT_EQ(Find(samples, "ledger_requests_total",
                 {{"rpc", "AddCallerId"}, {"code", "INVALID_ARGUMENT"}}),
            1.0)
      << text;
  EXPECT_EQ(Find(samples, "ledger_requests_total", {{"rpc", "ReadEvents"}, {"code", "OK"}}), 1.0)
      << text;
  EXPECT_FALSE(Find(samples, "ledger_requests_total", {{"rpc", "AddCallerId"}, {"code", "UNKNOWN"}})
                   .has_value())
      << text;

  // Latency histograms per RPC; the committer's histograms.
  EXPECT_EQ(Find(samples, "ledger_request_duration_seconds_count", {{"rpc", "AddCallerId"}}), 2.0)
      << text;
  EXPECT_EQ(Find(samples, "ledger_request_duration_seconds_bucket",
                 {{"rpc", "AddCallerId"}, {"le", "+Inf"}}),
            2.0)
      << text;
  EXPECT_TRUE(Find(samples, "ledger_request_duration_seconds_sum", {{"rpc", "AddCallerId"}}))
      << text;
  EXPECT_GE(Find(samples, "ledger_commit_group_size_count").value_or(0), 1.0) << text;
  EXPECT_TRUE(Find(samples, "ledger_commit_group_size_bucket", {{"le", "1"}})) << text;
  EXPECT_GE(Find(samples, "ledger_sync_duration_seconds_count").value_or(0), 1.0) << text;
  EXPECT_GT(Find(samples, "ledger_sync_duration_seconds_sum").value_or(0), 0.0) << text;

  // Gauges, read from the ledger at scrape time.
  EXPECT_EQ(Find(samples, "ledger_ready"), 1.0) << text;
  EXPECT_EQ(Find(samples, "ledger_writes_accepted"), 1.0) << text;
  EXPECT_EQ(Find(samples, "ledger_active_callerids"), 1.0) << text;
  EXPECT_EQ(Find(samples, "ledger_callerids"), 1.0) << text;
  EXPECT_EQ(Find(samples, "ledger_license_max_active_callerids"), 7.0) << text;
  EXPECT_EQ(Find(samples, "ledger_last_event_sequence"),
            static_cast<double>(events.last_sequence()))
      << text;
  EXPECT_EQ(Find(samples, "ledger_open_reservations"), 0.0) << text;
  EXPECT_EQ(Find(samples, "ledger_commit_queue_depth"), 0.0) << text;
  // The writes above are in the log, not yet in table files.
  EXPECT_GT(Find(samples, "ledger_write_ahead_log_bytes").value_or(0), 0.0) << text;
  // ... and so in the memtables, which RocksDB counts in its memory.
  EXPECT_GT(Find(samples, "ledger_storage_memory_bytes", {{"kind", "memtables"}}).value_or(0), 0.0)
      << text;
  EXPECT_TRUE(Find(samples, "ledger_storage_memory_bytes", {{"kind", "table_readers"}})) << text;
  EXPECT_TRUE(Find(samples, "ledger_storage_memory_bytes", {{"kind", "block_cache"}})) << text;

  // Only /metrics is served.
  HttpReply other = HttpGet(metrics_port, "/", std::chrono::seconds(5));
  EXPECT_NE(other.status, 200) << other.error << other.body;

  ASSERT_EQ(server_.Stop(), 0) << server_.Log();

  // One JSON object per line, and never a PIN.
  const std::string log = server_.Log();
  ProcessResult parsed = CheckJsonLines(server_.dir() + "/ledgerd.log");
  EXPECT_EQ(parsed.exit_code, 0) << parsed.Describe() << "\n--- log ---\n" << log;
  int lines = 0;
  EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(parsed.out), &lines)) << parsed.out;
  EXPECT_GE(lines, 6) << log;
  EXPECT_FALSE(absl::StrContains(log, kGoodPin)) << log;
  EXPECT_FALSE(absl::StrContains(log, kBadPin)) << log;
  EXPECT_TRUE(absl::StrContains(log, R"("event":"serving")")) << log;
  EXPECT_TRUE(absl::StrContains(log, R"("event":"metrics")")) << log;
  EXPECT_TRUE(absl::StrContains(log, R"("event":"stopped","msg":"stopped cleanly")")) << log;
  // Debug level: a line per RPC and per committed group, without bodies.
  EXPECT_TRUE(absl::StrContains(log, R"("event":"rpc","msg":"RPC answered","rpc":"AddCallerId")"))
      << log;
  EXPECT_TRUE(absl::StrContains(log, R"("event":"commit")")) << log;
}

TEST(MetricsFlagsTest, OffByDefaultAndTextLogs) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start()));
  ASSERT_EQ(server.Stop(), 0) << server.Log();
  const std::string log = server.Log();
  EXPECT_FALSE(absl::StrContains(log, "metrics on")) << log;
  EXPECT_FALSE(absl::StrContains(log, "{\"time\"")) << log;
  EXPECT_TRUE(absl::StrContains(log, " INFO ledgerd: serving: data_dir=")) << log;
  // Info level: no line per RPC (the harness's health checks are RPCs).
  EXPECT_FALSE(absl::StrContains(log, "RPC answered")) << log;
}

TEST(MetricsFlagsTest, JsonFromTheEnvironment) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start({}, {{"LEDGERD_LOG_FORMAT", "json"}})));
  ASSERT_EQ(server.Stop(), 0) << server.Log();
  ProcessResult parsed = CheckJsonLines(server.dir() + "/ledgerd.log");
  EXPECT_EQ(parsed.exit_code, 0) << parsed.Describe() << "\n--- log ---\n" << server.Log();
  EXPECT_TRUE(absl::StrContains(server.Log(), R"("event":"serving")")) << server.Log();
}

TEST(MetricsFlagsTest, RefusesANonLoopbackMetricsAddressWithoutInsecure) {
  LedgerServer server;
  ProcessResult run =
      server.RunUntilExit({absl::StrCat("--metrics_listen=0.0.0.0:", PickFreeLoopbackPort())});
  EXPECT_FALSE(run.timed_out) << "ledgerd served metrics on 0.0.0.0 without --insecure";
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "--insecure")) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "metrics")) << run.Describe();
}

TEST(MetricsFlagsTest, RefusesAnUnknownLogFormatOrLevel) {
  LedgerServer server;
  ProcessResult format = server.RunUntilExit({"--log_format=xml"});
  EXPECT_EQ(format.exit_code, 2) << format.Describe();
  EXPECT_TRUE(absl::StrContains(format.err, "--log_format")) << format.Describe();
  ProcessResult level = server.RunUntilExit({"--log_level=verbose"});
  EXPECT_EQ(level.exit_code, 2) << level.Describe();
  EXPECT_TRUE(absl::StrContains(level.err, "--log_level")) << level.Describe();
}

TEST(MetricsFlagsTest, ATakenMetricsPortIsAnError) {
  // Hold a port on 127.0.0.1 so that ledgerd cannot listen on it.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int port = ntohs(address.sin_port);
  LedgerServer server;
  ProcessResult run = server.RunUntilExit({absl::StrCat("--metrics_listen=127.0.0.1:", port)});
  close(fd);
  EXPECT_EQ(run.exit_code, 1) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "for metrics")) << run.Describe();
}

// ---------------------------------------------------------------------------------------
// The log line format.

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
