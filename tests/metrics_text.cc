#include "tests/metrics_text.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace callbackledger {
namespace e2e {
namespace {

constexpr char kPython[] = "/usr/bin/python3";

}  // namespace

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

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

std::optional<double> Find(const std::vector<Sample>& samples, const std::string& name,
                           const std::map<std::string, std::string>& labels) {
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

std::vector<Sample> ScrapeUntil(int port,
                                const std::function<bool(const std::vector<Sample>&)>& ready,
                                std::string* text, std::chrono::milliseconds timeout) {
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

}  // namespace e2e
}  // namespace callbackledger
