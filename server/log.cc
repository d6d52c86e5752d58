#include "server/log.h"

#include <cstdio>
#include <mutex>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace callbackledger {
namespace {

void Log(const char* level, std::string_view message) {
  static std::mutex mu;
  std::string when = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "%s %s ledgerd: %.*s\n", when.c_str(), level,
               static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
}

}  // namespace

void LogInfo(std::string_view message) { Log("INFO", message); }
void LogWarning(std::string_view message) { Log("WARN", message); }
void LogError(std::string_view message) { Log("ERROR", message); }

}  // namespace callbackledger
