#include "server/thread_cpu.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace callbackledger {

std::optional<TaskCpu> ParseTaskStat(std::string_view stat, double ticks_per_second) {
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open ||
      ticks_per_second <= 0) {
    return std::nullopt;
  }
  // After the name: state (field 3), then fields 4 to 13, then utime (14) and stime (15).
  std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(stat.data() + close + 1, stat.size() - close - 1), ' ', absl::SkipEmpty());
  uint64_t user = 0, system = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &user) ||
      !absl::SimpleAtoi(fields[12], &system)) {
    return std::nullopt;
  }
  TaskCpu task;
  task.name = std::string(stat.substr(open + 1, close - open - 1));
  task.seconds = static_cast<double>(user + system) / ticks_per_second;
  return task;
}

std::optional<uint64_t> ParseStatmResidentBytes(std::string_view statm, uint64_t page_bytes) {
  std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(statm.data(), statm.size()), absl::ByAnyChar(" \n"), absl::SkipEmpty());
  uint64_t pages = 0;
  if (fields.size() < 2 || page_bytes == 0 || !absl::SimpleAtoi(fields[1], &pages) ||
      pages > UINT64_MAX / page_bytes) {
    return std::nullopt;
  }
  return pages * page_bytes;
}

std::optional<uint64_t> ResidentBytes() {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  std::ifstream file("/proc/self/statm");
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  return ParseStatmResidentBytes(line, page);
}

std::map<std::string, double> ThreadCpu::Totals() {
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::map<long, TaskCpu> now;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", error)) {
    char* end = nullptr;
    const std::string id = entry.path().filename().string();
    const long tid = std::strtol(id.c_str(), &end, 10);
    if (end == id.c_str() || *end != '\0') continue;
    std::ifstream file(entry.path() / "stat");
    const std::string stat((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
    std::optional<TaskCpu> task = ParseTaskStat(stat, ticks);
    if (task.has_value()) now.emplace(tid, *std::move(task));  // gone meanwhile: not read
  }
  absl::MutexLock lock(&mu_);
  for (const auto& [tid, task] : live_) {
    auto found = now.find(tid);
    // A thread id reused by a new thread: the old one ended (its CPU cannot have fallen).
    if (found == now.end() || found->second.seconds < task.seconds) {
      ended_[task.name] += task.seconds;
    }
  }
  live_ = std::move(now);
  std::map<std::string, double> totals = ended_;
  for (const auto& [tid, task] : live_) totals[task.name] += task.seconds;
  return totals;
}

}  // namespace callbackledger
