// What ledgerd's metrics and logs look like to the tests: a plain HTTP GET of /metrics, the
// Prometheus text format parsed into samples, and JSON log lines checked by Python's own
// parser.
#ifndef CALLBACKLEDGER_TESTS_METRICS_TEXT_H_
#define CALLBACKLEDGER_TESTS_METRICS_TEXT_H_

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/server_harness.h"

namespace callbackledger {
namespace e2e {

// The whole file, as bytes (empty when it cannot be read).
std::string ReadWholeFile(const std::string& path);

struct HttpReply {
  int status = 0;
  std::string body;
  std::string error;  // set when there is no reply
};

// A plain HTTP/1.0 GET over a loopback socket, bounded by `timeout`.
HttpReply HttpGet(int port, const std::string& path, std::chrono::milliseconds timeout);

// The Prometheus text format: one sample per line, `name{label="value",...} number`.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<Sample> ParseExposition(const std::string& text);

// The value of the sample `name` whose labels include `labels`, if there is one.
std::optional<double> Find(const std::vector<Sample>& samples, const std::string& name,
                           const std::map<std::string, std::string>& labels = {});

// Scrapes until `ready` holds for the samples, or `timeout` passes; returns the last
// scrape (and its text in `*text`).
std::vector<Sample> ScrapeUntil(int port,
                                const std::function<bool(const std::vector<Sample>&)>& ready,
                                std::string* text,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Runs Python on `path`: every line must be one JSON object with the fields every line has.
// Its output is the number of lines.
ProcessResult CheckJsonLines(const std::string& path);

}  // namespace e2e
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_TESTS_METRICS_TEXT_H_
