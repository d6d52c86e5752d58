// The CPU time ledgerd's threads have used, summed by thread name (the committer, gRPC's
// pollers, RocksDB's flush, ...), for the `ledger_thread_cpu_seconds_total` metric: which
// thread is busy, and how close the committer, the one thread every write waits on, comes
// to a whole CPU. Read from /proc/self/task at each scrape. And the process's resident
// memory, for `process_resident_memory_bytes`, from /proc/self/statm.
#ifndef CALLBACKLEDGER_SERVER_THREAD_CPU_H_
#define CALLBACKLEDGER_SERVER_THREAD_CPU_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace callbackledger {

// One thread's line of /proc/PID/task/TID/stat: its name and its user plus system CPU
// seconds (`ticks_per_second` clock ticks a second). nullopt when the line is malformed. A
// name may hold spaces and parentheses: it runs from the first '(' to the last ')'.
struct TaskCpu {
  std::string name;
  double seconds = 0;
};
std::optional<TaskCpu> ParseTaskStat(std::string_view stat, double ticks_per_second);

// CPU seconds by thread name, never falling: a thread that ends keeps counting under its
// name with what it had used when last read (so a pool whose threads come and go, or a
// rebuild's threads, still add up; what a thread used after the last read and before it
// ended is not counted; a thread counts under the name it has, and ledgerd's threads name
// themselves as they start). Thread-safe.
class ThreadCpu {
 public:
  std::map<std::string, double> Totals();

 private:
  absl::Mutex mu_;
  std::map<long, TaskCpu> live_ ABSL_GUARDED_BY(mu_);         // by thread id, as last read
  std::map<std::string, double> ended_ ABSL_GUARDED_BY(mu_);  // by name
};

// The resident set of /proc/self/statm's text ("size resident shared ..." in pages of
// `page_bytes`), in bytes; nullopt when the text is malformed.
std::optional<uint64_t> ParseStatmResidentBytes(std::string_view statm, uint64_t page_bytes);

// ledgerd's resident memory now (/proc/self/statm), for `process_resident_memory_bytes`;
// nullopt when it cannot be read.
std::optional<uint64_t> ResidentBytes();

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_THREAD_CPU_H_
