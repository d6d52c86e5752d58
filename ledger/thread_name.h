// Thread names, for the operator: `top -H`, `ps -L`, `perf` and a core dump show which of
// ledgerd's threads is which (the committer, the expiry, ...) instead of the name of the
// thread that started it.
#ifndef CALLBACKLEDGER_LEDGER_THREAD_NAME_H_
#define CALLBACKLEDGER_LEDGER_THREAD_NAME_H_

#include <pthread.h>

#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace callbackledger {

// Names the calling thread; Linux keeps the first 15 bytes. On the main thread this is the
// process's name too (what `ps`, `pgrep` and `top` show).
void NameThisThread(std::string_view name);

// The calling thread's name ("" if it cannot be read).
std::string ThisThreadName();

// Names another thread of this process; the same 15 bytes kept.
void NameThread(pthread_t thread, std::string_view name);

// Starts `body` on a new thread and names it before returning, so that the name is there
// for whoever looks next (the operator's `top -H` once ledgerd says it is serving), not
// only once the new thread has been scheduled.
template <typename Body>
std::thread StartNamedThread(std::string_view name, Body body) {
  std::thread thread(std::move(body));
  NameThread(thread.native_handle(), name);
  return thread;
}

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_THREAD_NAME_H_
