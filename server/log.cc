#include "server/log.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/support/log.h"

namespace callbackledger {
namespace {

std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

// The length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not one.
size_t Utf8SequenceLength(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  size_t length;
  uint32_t min;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  uint32_t code = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

void AppendHex4(unsigned value, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->append("\\u00");
  out->push_back(kHex[(value >> 4) & 0xF]);
  out->push_back(kHex[value & 0xF]);
}

// Appends `s` escaped for a JSON string (or a quoted text value): quotes, backslashes and
// control characters escaped; invalid UTF-8 replaced by U+FFFD.
void AppendEscaped(std::string_view s, std::string* out) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t length = Utf8SequenceLength(s.substr(i));
      if (length == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD
        ++i;
      } else {
        out->append(s.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          AppendHex4(c, out);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  AppendEscaped(s, out);
  out->push_back('"');
}

// A text value: bare when it is a plain word, else quoted and escaped.
void AppendTextValue(std::string_view s, std::string* out) {
  bool bare = !s.empty();
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F || c == '"' || c == '=' || c == '\\') {
      bare = false;
      break;
    }
  }
  if (bare) {
    AppendEscaped(s, out);  // still replaces invalid UTF-8
    return;
  }
  out->push_back('"');
  AppendEscaped(s, out);
  out->push_back('"');
}

void AppendNumber(const LogValue& value, bool json, std::string* out) {
  switch (value.kind()) {
    case LogValue::Kind::kInt:
      absl::StrAppend(out, value.int_value());
      return;
    case LogValue::Kind::kUint:
      absl::StrAppend(out, value.uint_value());
      return;
    case LogValue::Kind::kDouble:
      if (std::isfinite(value.double_value())) {
        absl::StrAppend(out, value.double_value());
      } else {
        out->append(json ? "null" : "NaN");
      }
      return;
    case LogValue::Kind::kBool:
      out->append(value.bool_value() ? "true" : "false");
      return;
    case LogValue::Kind::kString:
      return;
  }
}

}  // namespace

bool ParseLogFormat(std::string_view text, LogFormat* format) {
  if (text == "text") {
    *format = LogFormat::kText;
  } else if (text == "json") {
    *format = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  if (text == "debug") {
    *level = LogLevel::kDebug;
  } else if (text == "info") {
    *level = LogLevel::kInfo;
  } else if (text == "warning") {
    *level = LogLevel::kWarning;
  } else if (text == "error") {
    *level = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

void SetLogFormat(LogFormat format) {
  g_format.store(static_cast<int>(format), std::memory_order_relaxed);
}

void SetLogLevel(LogLevel level) {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

std::string FormatLogLine(LogFormat format, absl::Time time, LogLevel level, std::string_view event,
                          std::string_view message, LogFields fields) {
  const std::string when = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
  std::string line;
  line.reserve(128);
  if (format == LogFormat::kJson) {
    absl::StrAppend(&line, "{\"time\":\"", when, "\",\"level\":\"", LevelName(level),
                    "\",\"logger\":\"ledgerd\",\"event\":");
    AppendJsonString(event, &line);
    line.append(",\"msg\":");
    AppendJsonString(message, &line);
    for (const LogField& field : fields) {
      line.push_back(',');
      AppendJsonString(field.key, &line);
      line.push_back(':');
      if (field.value.kind() == LogValue::Kind::kString) {
        AppendJsonString(field.value.string(), &line);
      } else {
        AppendNumber(field.value, /*json=*/true, &line);
      }
    }
    line.push_back('}');
    return line;
  }
  absl::StrAppend(&line, when, " ", LevelName(level), " ledgerd: ");
  AppendEscaped(message, &line);
  for (const LogField& field : fields) {
    line.push_back(' ');
    AppendEscaped(field.key, &line);
    line.push_back('=');
    if (field.value.kind() == LogValue::Kind::kString) {
      AppendTextValue(field.value.string(), &line);
    } else {
      AppendNumber(field.value, /*json=*/false, &line);
    }
  }
  return line;
}

void Log(LogLevel level, std::string_view event, std::string_view message, LogFields fields) {
  if (!LogEnabled(level)) return;
  const LogFormat format = static_cast<LogFormat>(g_format.load(std::memory_order_relaxed));
  std::string line = FormatLogLine(format, absl::Now(), level, event, message, fields);
  line.push_back('\n');
  // One write per line: lines from several threads never interleave.
  static std::mutex* const mu = new std::mutex;
  std::lock_guard<std::mutex> lock(*mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

namespace {

void LogFromGrpc(gpr_log_func_args* args) {
  LogLevel level = LogLevel::kDebug;
  if (args->severity == GPR_LOG_SEVERITY_ERROR) level = LogLevel::kError;
  if (args->severity == GPR_LOG_SEVERITY_INFO) level = LogLevel::kInfo;
  Log(level, "grpc", args->message != nullptr ? args->message : "",
      {{"file", args->file != nullptr ? args->file : ""}, {"line", args->line}});
}

}  // namespace

void RouteGrpcLogs() { gpr_set_log_function(&LogFromGrpc); }

void LogInfo(std::string_view message) { Log(LogLevel::kInfo, "message", message); }
void LogWarning(std::string_view message) { Log(LogLevel::kWarning, "message", message); }
void LogError(std::string_view message) { Log(LogLevel::kError, "message", message); }

bool LogLimiter::Allow(uint64_t* suppressed) {
  const absl::Time now = absl::Now();
  std::lock_guard<std::mutex> lock(mu_);
  if (now - window_start_ >= interval_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= per_interval_) {
    ++suppressed_;
    return false;
  }
  ++in_window_;
  *suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

}  // namespace callbackledger
