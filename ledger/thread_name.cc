#include "ledger/thread_name.h"

#include <pthread.h>

#include <algorithm>

namespace callbackledger {

namespace {
constexpr size_t kMaxName = 15;  // the kernel's limit, without the terminating NUL
}  // namespace

void NameThisThread(std::string_view name) { NameThread(pthread_self(), name); }

void NameThread(pthread_t thread, std::string_view name) {
  std::string truncated(name.substr(0, std::min(name.size(), kMaxName)));
  pthread_setname_np(thread, truncated.c_str());
}

std::string ThisThreadName() {
  char name[kMaxName + 1] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0) return "";
  return name;
}

}  // namespace callbackledger
