// Structured logs: one line per thing worth logging, to stderr, with a UTC timestamp, a
// level, a short event name, a human message and typed fields.
//
// Two formats (SetLogFormat):
//   text  2026-11-27T10:11:59.701Z INFO ledgerd: serving: data_dir=./data events=0
//   json  {"time":"2026-11-27T10:11:59.701Z","level":"INFO","logger":"ledgerd",
//          "event":"serving","msg":"serving:","data_dir":"./data","events":0}
// (one JSON object per line; strings are escaped and made valid UTF-8).
//
// What is logged is chosen by the callers, never a request body: a log line must never
// carry a PIN, a token or a message that may echo input.
#ifndef CALLBACKLEDGER_SERVER_LOG_H_
#define CALLBACKLEDGER_SERVER_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace callbackledger {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class LogFormat { kText, kJson };

// "text" or "json"; false for anything else.
bool ParseLogFormat(std::string_view text, LogFormat* format);
// "debug", "info", "warning" or "error"; false for anything else.
bool ParseLogLevel(std::string_view text, LogLevel* level);

// Process-wide settings; set them once at startup, before other threads log.
void SetLogFormat(LogFormat format);
void SetLogLevel(LogLevel level);
// Whether a line at `level` would be written (cheap: one atomic load).
bool LogEnabled(LogLevel level);

// One value of a structured field. Holds views: it lives only for the call it is part of.
class LogValue {
 public:
  enum class Kind { kString, kInt, kUint, kDouble, kBool };

  LogValue(std::string_view value) : kind_(Kind::kString), string_(value) {}    // NOLINT
  LogValue(const char* value) : kind_(Kind::kString), string_(value) {}         // NOLINT
  LogValue(const std::string& value) : kind_(Kind::kString), string_(value) {}  // NOLINT
#if !defined(ABSL_USES_STD_STRING_VIEW)
  LogValue(absl::string_view value)  // NOLINT
      : kind_(Kind::kString), string_(value.data(), value.size()) {}
#endif
  LogValue(bool value) : kind_(Kind::kBool), bool_(value) {}        // NOLINT
  LogValue(double value) : kind_(Kind::kDouble), double_(value) {}  // NOLINT
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>,
                                         int> = 0>
  LogValue(T value) {  // NOLINT
    if constexpr (std::is_signed_v<T>) {
      kind_ = Kind::kInt;
      int_ = value;
    } else {
      kind_ = Kind::kUint;
      uint_ = value;
    }
  }

  Kind kind() const { return kind_; }
  std::string_view string() const { return string_; }
  int64_t int_value() const { return int_; }
  uint64_t uint_value() const { return uint_; }
  double double_value() const { return double_; }
  bool bool_value() const { return bool_; }

 private:
  Kind kind_;
  std::string_view string_;
  int64_t int_ = 0;
  uint64_t uint_ = 0;
  double double_ = 0;
  bool bool_ = false;
};

struct LogField {
  std::string_view key;  // lower_snake_case; not "time", "level", "logger", "event", "msg"
  LogValue value;
};

using LogFields = std::initializer_list<LogField>;

// Writes one line when `level` is enabled. `event` is a short stable name for machines
// ("serving", "commit", "rpc_error"); `message` is for people.
void Log(LogLevel level, std::string_view event, std::string_view message, LogFields fields = {});

// The line Log() writes (without the newline), for tests.
std::string FormatLogLine(LogFormat format, absl::Time time, LogLevel level, std::string_view event,
                          std::string_view message, LogFields fields);

// Sends what gRPC's core logs itself (a listen that fails, a TLS handshake refused, ...)
// through Log, event "grpc", with its source file and line as fields: in the JSON format
// too, every line on stderr is then one JSON object. gRPC's own verbosity
// (GRPC_VERBOSITY, ERROR by default) still decides what it logs.
void RouteGrpcLogs();

// Unstructured shorthands (event "message").
void LogInfo(std::string_view message);
void LogWarning(std::string_view message);
void LogError(std::string_view message);

// Lets at most `per_interval` lines through per interval, and counts the others, so that
// a flood of identical failures cannot flood the log. Thread-safe.
class LogLimiter {
 public:
  LogLimiter(int per_interval, absl::Duration interval)
      : per_interval_(per_interval), interval_(interval) {}

  // True when a line may be written now; then `*suppressed` is how many were held back
  // since the last line that was let through.
  bool Allow(uint64_t* suppressed);

 private:
  const int per_interval_;
  const absl::Duration interval_;
  std::mutex mu_;
  absl::Time window_start_ = absl::InfinitePast();
  int in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_LOG_H_
