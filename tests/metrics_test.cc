// Metrics and structured logs of ledgerd, end to end: the real binary with
// --metrics_listen on a free loopback port, a few RPCs, a scrape of /metrics with a plain
// socket HTTP GET, and checks of the counters, gauges and histograms; the JSON log format
// parsed line by line; no PIN in any log line. The log line format and the monitoring hooks
// in process are in monitor_test.cc. Every RPC has a deadline; every wait is bounded. Also the
// names of the process and its threads, as `ps` and `top -H` show them.
#include "server/metrics.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "server/log.h"
#include "tests/e2e_client.h"
#include "tests/metrics_text.h"
#include "tests/server_harness.h"

namespace callbackledger {
namespace {

using e2e::CheckJsonLines;
using e2e::Find;
using e2e::HttpGet;
using e2e::HttpReply;
using e2e::IsOk;
using e2e::LedgerServer;
using e2e::PickFreeLoopbackPort;
using e2e::ProcessResult;
using e2e::Sample;
using e2e::ScrapeUntil;

constexpr std::chrono::seconds kRpcTimeout(5);

// PINs no other part of a log line could contain by chance.
constexpr char kGoodPin[] = "80417263";
constexpr char kBadPin[] = "6150937248351";  // 13 digits: refused, INVALID_ARGUMENT

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
  // The table files on disk, family by family: the event log's and each projection's.
  EXPECT_TRUE(Find(samples, "ledger_storage_table_file_bytes", {{"family", "events"}})) << text;
  EXPECT_TRUE(Find(samples, "ledger_storage_table_file_bytes", {{"family", "callerids"}})) << text;
  // ledgerd's resident memory: at least its memtables, less than the machine.
  EXPECT_GT(Find(samples, "process_resident_memory_bytes").value_or(0),
            Find(samples, "ledger_storage_memory_bytes", {{"kind", "memtables"}}).value_or(0))
      << text;
  EXPECT_LT(Find(samples, "process_resident_memory_bytes").value_or(0), 1e12) << text;
  // CPU by thread name: the committer, which decided and wrote the commands above, is there
  // (its time may still round to 0 ticks), and the threads together have used some.
  EXPECT_TRUE(absl::StrContains(text, "# TYPE ledger_thread_cpu_seconds_total counter")) << text;
  EXPECT_GE(
      Find(samples, "ledger_thread_cpu_seconds_total", {{"thread", "ledger-commit"}}).value_or(-1),
      0.0)
      << text;
  double cpu_seconds = 0;
  for (const Sample& sample : samples) {
    if (sample.name == "ledger_thread_cpu_seconds_total") cpu_seconds += sample.value;
  }
  EXPECT_GT(cpu_seconds, 0.0) << text;

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

// A port on 127.0.0.1 held by a listening socket, so that ledgerd cannot listen on it.
class HeldPort {
 public:
  HeldPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        listen(fd_, 1) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~HeldPort() {
    if (fd_ >= 0) close(fd_);
  }
  int port() const { return port_; }  // 0 if none could be held

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(MetricsFlagsTest, ATakenMetricsPortIsAnError) {
  HeldPort held;
  ASSERT_GT(held.port(), 0);
  LedgerServer server;
  ProcessResult run =
      server.RunUntilExit({absl::StrCat("--metrics_listen=127.0.0.1:", held.port())});
  EXPECT_EQ(run.exit_code, 1) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, "for metrics")) << run.Describe();
}

// What gRPC's core logs itself (here: the listen that fails) goes through ledgerd's log, so
// in the JSON format every line is still one JSON object.
TEST(MetricsFlagsTest, GrpcsOwnLinesAreJsonLinesToo) {
  HeldPort held;
  ASSERT_GT(held.port(), 0);
  LedgerServer server;
  ProcessResult run = server.RunUntilExit({absl::StrCat("--listen=127.0.0.1:", held.port())},
                                          {{"LEDGERD_LOG_FORMAT", "json"}});
  EXPECT_EQ(run.exit_code, 1) << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, R"("level":"ERROR","logger":"ledgerd","event":"grpc")"))
      << run.Describe();
  EXPECT_TRUE(absl::StrContains(run.err, R"("event":"listen_failed")")) << run.Describe();
  const std::string path = server.dir() + "/grpc_lines.jsonl";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << run.err;
  }
  ProcessResult parsed = CheckJsonLines(path);
  EXPECT_EQ(parsed.exit_code, 0) << parsed.Describe() << "\n--- stderr ---\n" << run.err;
}

// The ids of a process's threads, the main thread's (the process's own) first.
std::vector<long> ThreadIds(pid_t pid) {
  std::vector<long> tids;
  DIR* dir = opendir(absl::StrCat("/proc/", pid, "/task").c_str());
  if (dir == nullptr) return tids;
  while (const dirent* entry = readdir(dir)) {
    long tid = 0;
    if (absl::SimpleAtoi(entry->d_name, &tid)) tids.push_back(tid);
  }
  closedir(dir);
  // The main thread first: its id is the process's. Not the smallest id: ids wrap around
  // at the kernel's pid_max, so a thread started later may have a smaller one.
  std::sort(tids.begin(), tids.end(), [pid](long a, long b) {
    return std::make_pair(a != pid, a) < std::make_pair(b != pid, b);
  });
  return tids;
}

std::string ThreadFile(pid_t pid, long tid, const char* name) {
  return e2e::ReadWholeFile(absl::StrCat("/proc/", pid, "/task/", tid, "/", name));
}

// The names of a process's threads, the main thread's first.
std::vector<std::string> ThreadNames(pid_t pid) {
  std::vector<std::string> names;
  for (long tid : ThreadIds(pid)) {
    names.emplace_back(absl::StripAsciiWhitespace(ThreadFile(pid, tid, "comm")));
  }
  return names;
}

// What `ps`, `pgrep ledgerd` and `top -H` show: the process by its own name, whether it
// re-executed itself for huge pages (the default) or not (the operator's GLIBC_TUNABLES
// already says), and ledgerd's own threads by theirs.
TEST(ProcessNamesTest, TheProcessAndItsThreadsAreNamedForTheOperator) {
  for (const char* tunables : {"", "glibc.malloc.hugetlb=0"}) {
    SCOPED_TRACE(absl::StrCat("GLIBC_TUNABLES=", tunables));
    LedgerServer server;
    e2e::EnvVars env;
    if (*tunables != '\0') env.push_back({"GLIBC_TUNABLES", tunables});
    ASSERT_TRUE(IsOk(server.Start({}, env)));
    const std::vector<std::string> names = ThreadNames(server.pid());
    ASSERT_FALSE(names.empty());
    EXPECT_EQ(names.front(), "ledgerd");
    for (const char* own : {"ledger-commit", "ledger-expiry", "ledger-watch"}) {
      EXPECT_NE(std::find(names.begin(), names.end(), own), names.end())
          << own << " in " << absl::StrJoin(names, ", ");
    }
    EXPECT_EQ(std::find(names.begin(), names.end(), "exe"), names.end())
        << absl::StrJoin(names, ", ");
    EXPECT_EQ(server.Stop(), 0) << server.Log();
  }
}

// SIGTERM, SIGINT and SIGHUP are for the main thread's sigwait alone. The kernel hands a
// process's signal to any thread that does not block it; one that does not (gRPC starts
// threads as soon as credentials are made) would take SIGTERM with the default action and
// kill ledgerd without finishing its calls: exit 143 instead of 0, now and then, whenever
// SIGTERM came before the main thread reached sigwait.
TEST(ProcessNamesTest, OnlyTheMainThreadTakesTheStopSignals) {
  LedgerServer server;
  ASSERT_TRUE(IsOk(server.Start({"--metrics_listen=127.0.0.1:0"})));
  const std::vector<long> tids = ThreadIds(server.pid());
  ASSERT_GT(tids.size(), 1u);
  ASSERT_EQ(tids.front(), server.pid());
  // Bit n-1 of SigBlk is signal n.
  const uint64_t stop = (uint64_t{1} << (SIGHUP - 1)) | (uint64_t{1} << (SIGINT - 1)) |
                        (uint64_t{1} << (SIGTERM - 1));
  for (size_t i = 1; i < tids.size(); ++i) {
    const std::string status = ThreadFile(server.pid(), tids[i], "status");
    const size_t at = status.find("SigBlk:");
    if (at == std::string::npos) continue;  // The thread ended while being read.
    uint64_t blocked = 0;
    ASSERT_TRUE(absl::SimpleHexAtoi(
        absl::StripAsciiWhitespace(status.substr(at + 7, status.find('\n', at) - at - 7)),
        &blocked))
        << status;
    EXPECT_EQ(blocked & stop, stop)
        << "thread " << tids[i] << " ("
        << absl::StripAsciiWhitespace(ThreadFile(server.pid(), tids[i], "comm"))
        << ") does not block SIGHUP, SIGINT and SIGTERM:\n"
        << status;
  }
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

}  // namespace
}  // namespace callbackledger
