#include "server/huge_pages.h"

#include <stdlib.h>
#include <unistd.h>

#include <string_view>

namespace callbackledger {

std::optional<std::string> TunablesWithHugePages(const char* current) {
  constexpr std::string_view kHugePages = "glibc.malloc.hugetlb=1";
  std::string value = current != nullptr ? current : "";
  if (value.find("glibc.malloc.hugetlb") != std::string::npos) return std::nullopt;
  if (!value.empty()) value.push_back(':');
  value.append(kHugePages);
  return value;
}

void ReexecWithHugePageMalloc(char** argv) {
  const char* current = getenv("GLIBC_TUNABLES");
  std::optional<std::string> wanted = TunablesWithHugePages(current);
  if (!wanted.has_value()) return;
  const std::string before = current != nullptr ? current : "";
  if (setenv("GLIBC_TUNABLES", wanted->c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Could not re-execute: run as started, with the environment as it was.
  if (current != nullptr) {
    setenv("GLIBC_TUNABLES", before.c_str(), 1);
  } else {
    unsetenv("GLIBC_TUNABLES");
  }
}

std::string ProgramName(const char* argv0) {
  std::string_view path = argv0 != nullptr ? argv0 : "";
  const size_t slash = path.rfind('/');
  if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
  return std::string(path);
}

}  // namespace callbackledger
