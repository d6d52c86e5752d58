// ledgerd's in-memory state is hundreds of MiB of small allocations made at start-up; with
// 4 KiB pages, faulting them in is a third of the start-up's CPU. glibc's malloc can ask
// for transparent huge pages instead (the tunable glibc.malloc.hugetlb=1, glibc 2.35 and
// later), but reads its tunables only when a process starts: ledgerd sets it and
// re-executes itself once, before doing anything else.
//
// An operator who sets glibc.malloc.hugetlb in GLIBC_TUNABLES (to 0, say) keeps that
// choice; ledgerd then runs as started. Where the kernel's transparent huge pages are
// "never", or glibc is older, the tunable does nothing.
#ifndef CALLBACKLEDGER_SERVER_HUGE_PAGES_H_
#define CALLBACKLEDGER_SERVER_HUGE_PAGES_H_

#include <optional>
#include <string>

namespace callbackledger {

// The GLIBC_TUNABLES value to run with, given the current one (null when unset); nullopt
// when it already says something about glibc.malloc.hugetlb.
std::optional<std::string> TunablesWithHugePages(const char* current);

// Re-executes this program (/proc/self/exe, same arguments) with TunablesWithHugePages;
// returns only when there is nothing to do or the re-execution failed.
void ReexecWithHugePageMalloc(char** argv);

// The name a process started as `argv0` has: its last path component. A re-executed
// ledgerd is named after the link it was started through ("exe"), which `ps`, `pgrep` and
// `top` would show; main names itself with this instead.
std::string ProgramName(const char* argv0);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_HUGE_PAGES_H_
