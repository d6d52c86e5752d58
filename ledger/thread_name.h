// Thread names, for the operator: `top -H`, `ps -L`, `perf` and a core dump show which of
// ledgerd's threads is which (the committer, the expiry, ...) instead of the name of the
// thread that started it.
#ifndef CALLBACKLEDGER_LEDGER_THREAD_NAME_H_
#define CALLBACKLEDGER_LEDGER_THREAD_NAME_H_

#include <string>
#include <string_view>

namespace callbackledger {

// Names the calling thread; Linux keeps the first 15 bytes. On the main thread this is the
// process's name too (what `ps`, `pgrep` and `top` show).
void NameThisThread(std::string_view name);

// The calling thread's name ("" if it cannot be read).
std::string ThisThreadName();

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_THREAD_NAME_H_
