#include "clients/bench/server_metrics.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "clients/address.h"

namespace callbackledger::bench {
namespace {

constexpr char kGroupCount[] = "ledger_commit_group_size_count";
constexpr char kGroupSum[] = "ledger_commit_group_size_sum";
constexpr char kSyncCount[] = "ledger_sync_duration_seconds_count";
constexpr char kSyncSum[] = "ledger_sync_duration_seconds_sum";
constexpr char kSyncBucket[] = "ledger_sync_duration_seconds_bucket{le=\"";
constexpr char kThreadCpu[] = "ledger_thread_cpu_seconds_total{thread=\"";
constexpr char kCommitThread[] = "ledger-commit";
constexpr char kRocksDbThreads[] = "rocksdb:";
constexpr char kResident[] = "process_resident_memory_bytes";
constexpr char kRocksDbMemory[] = "ledger_storage_memory_bytes{";

bool ParseNumber(const std::string& text, double* out) {
  return absl::SimpleAtod(text, out) && std::isfinite(*out);
}

// The bound of the first bucket holding at least `quantile` of `total`, in microseconds.
double BucketQuantileUs(const std::vector<std::pair<double, double>>& deltas, double total,
                        double quantile) {
  if (total <= 0) return 0;
  for (const auto& [bound, count] : deltas) {
    if (count >= quantile * total) return bound * 1e6;
  }
  return -1;
}

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::StatusOr<std::string> HttpGetMetrics(const std::string& address) {
  if (!IsLoopbackHostPort(address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--server_metrics ", address,
                     " is not a loopback host:port (127.x.x.x, localhost, [::1])"));
  }
  const size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const std::string port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", address, ": ", gai_strerror(rc)));
  }
  Fd fd(socket(found->ai_family, found->ai_socktype, found->ai_protocol));
  timeval timeout{5, 0};
  bool connected = fd.get() >= 0 &&
                   setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) == 0 &&
                   setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) == 0 &&
                   connect(fd.get(), found->ai_addr, found->ai_addrlen) == 0;
  freeaddrinfo(found);
  if (!connected) {
    return absl::UnavailableError(absl::StrCat("cannot connect to the metrics at ", address));
  }
  const std::string request =
      absl::StrCat("GET /metrics HTTP/1.0\r\nHost: ", address, "\r\nConnection: close\r\n\r\n");
  if (send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return absl::UnavailableError(absl::StrCat("cannot send to the metrics at ", address));
  }
  std::string response;
  char buffer[16384];
  while (true) {
    ssize_t n = recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0) {
      return absl::UnavailableError(absl::StrCat("reading the metrics at ", address, " failed"));
    }
    if (n == 0) break;
    response.append(buffer, static_cast<size_t>(n));
    if (response.size() > (64u << 20)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the metrics at ", address, " are larger than 64 MiB"));
    }
  }
  const size_t body = response.find("\r\n\r\n");
  const std::string status_line = response.substr(0, response.find("\r\n"));
  const bool ok = status_line.rfind("HTTP/1.", 0) == 0 && status_line.size() >= 12 &&
                  status_line.compare(9, 3, "200") == 0;
  if (body == std::string::npos || !ok) {
    return absl::UnavailableError(
        absl::StrCat("the metrics at ", address, " answered \"", status_line, "\""));
  }
  return response.substr(body + 4);
}

}  // namespace

absl::StatusOr<CommitCounters> ParseCommitCounters(const std::string& text) {
  CommitCounters counters;
  bool seen[4] = {false, false, false, false};
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    const std::string name = line.substr(0, space);
    const std::string value_text = line.substr(space + 1);
    double* target = nullptr;
    int index = -1;
    if (name == kGroupCount) target = &counters.groups, index = 0;
    if (name == kGroupSum) target = &counters.commands, index = 1;
    if (name == kSyncCount) target = &counters.synced_groups, index = 2;
    if (name == kSyncSum) target = &counters.sync_seconds, index = 3;
    double value = 0;
    if (target != nullptr) {
      if (!ParseNumber(value_text, &value)) {
        return absl::InvalidArgumentError(
            absl::StrCat("metric ", name, " has the value \"", value_text, "\", not a number"));
      }
      *target = value;
      seen[index] = true;
    } else if (name == kResident) {
      if (!ParseNumber(value_text, &value)) {
        return absl::InvalidArgumentError(absl::StrCat("metric line \"", line, "\" is malformed"));
      }
      counters.resident_bytes = value;
    } else if (name.rfind(kRocksDbMemory, 0) == 0) {
      if (!ParseNumber(value_text, &value)) {
        return absl::InvalidArgumentError(absl::StrCat("metric line \"", line, "\" is malformed"));
      }
      counters.rocksdb_memory_bytes = counters.rocksdb_memory_bytes.value_or(0) + value;
    } else if (name.rfind(kSyncBucket, 0) == 0 && name.size() > sizeof kSyncBucket + 1) {
      const std::string bound_text =
          name.substr(sizeof kSyncBucket - 1, name.size() - (sizeof kSyncBucket - 1) - 2);
      if (bound_text == "+Inf") continue;
      double bound = 0;
      if (!ParseNumber(bound_text, &bound) || !ParseNumber(value_text, &value)) {
        return absl::InvalidArgumentError(absl::StrCat("metric line \"", line, "\" is malformed"));
      }
      counters.sync_buckets.emplace_back(bound, value);
    } else if (name.rfind(kThreadCpu, 0) == 0 && name.size() >= sizeof kThreadCpu + 1) {
      if (!ParseNumber(value_text, &value)) {
        return absl::InvalidArgumentError(absl::StrCat("metric line \"", line, "\" is malformed"));
      }
      const std::string thread =
          name.substr(sizeof kThreadCpu - 1, name.size() - (sizeof kThreadCpu - 1) - 2);
      counters.cpu_seconds = counters.cpu_seconds.value_or(0) + value;
      if (thread == kCommitThread) counters.commit_cpu_seconds = value;
      if (thread.rfind(kRocksDbThreads, 0) == 0) {
        counters.rocksdb_cpu_seconds = counters.rocksdb_cpu_seconds.value_or(0) + value;
      }
    }
  }
  const char* names[4] = {kGroupCount, kGroupSum, kSyncCount, kSyncSum};
  for (int i = 0; i < 4; ++i) {
    if (!seen[i]) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric ", names[i], " is missing: is this ledgerd's metrics address?"));
    }
  }
  std::sort(counters.sync_buckets.begin(), counters.sync_buckets.end());
  return counters;
}

CommitSummary Difference(const CommitCounters& before, const CommitCounters& after) {
  CommitSummary summary;
  const double groups = std::max(0.0, after.groups - before.groups);
  const double synced = std::max(0.0, after.synced_groups - before.synced_groups);
  summary.groups = static_cast<uint64_t>(std::llround(groups));
  summary.synced_groups = static_cast<uint64_t>(std::llround(synced));
  if (groups > 0) summary.mean_group_size = (after.commands - before.commands) / groups;
  if (synced > 0) summary.mean_sync_us = (after.sync_seconds - before.sync_seconds) / synced * 1e6;
  std::vector<std::pair<double, double>> deltas;
  for (const auto& [bound, count] : after.sync_buckets) {
    double earlier = 0;
    for (const auto& [old_bound, old_count] : before.sync_buckets) {
      if (old_bound == bound) earlier = old_count;
    }
    deltas.emplace_back(bound, count - earlier);
  }
  summary.p50_sync_us = BucketQuantileUs(deltas, synced, 0.5);
  summary.p99_sync_us = BucketQuantileUs(deltas, synced, 0.99);
  return summary;
}

absl::StatusOr<CommitCounters> ScrapeCommitCounters(const std::string& address) {
  absl::StatusOr<std::string> text = HttpGetMetrics(address);
  if (!text.ok()) return text.status();
  absl::StatusOr<CommitCounters> counters = ParseCommitCounters(*text);
  if (!counters.ok()) {
    return absl::Status(counters.status().code(), absl::StrCat("the metrics at ", address, ": ",
                                                               counters.status().message()));
  }
  return counters;
}

}  // namespace callbackledger::bench
