// The books after a run. Speed bought with a lost or doubly counted cent is no speed at all,
// so ledger-bench checks, after the calls, that the credit left of each of its CallerIDs fell
// by exactly what the run's Settles said they charged it:
//
//   - before the calls and after them it reads every CallerID's credit_left (ListCallerIds,
//     page by page, keeping ledger-bench's own numbers: NumberOf and ExtensionOf);
//   - during the calls it adds up, per CallerID, the `cost` of every Settle answer (Charges);
//   - Audit() then compares, to the micro: money is parsed, never floating.
//
// credit_left is the credit before holds, so Reserve, Extend and Release do not move it, nor
// do reservations that expire or stay open (of this run or an earlier one): only settled
// charges and recharges do. So the audit holds only while nothing but ledger-bench changes
// these CallerIDs, and a run with failed RPCs is not audited: a failed Settle may have
// charged or not.
#ifndef CALLBACKLEDGER_CLIENTS_BENCH_AUDIT_H_
#define CALLBACKLEDGER_CLIENTS_BENCH_AUDIT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "callbackledger/v1/caller_ids.grpc.pb.h"

namespace callbackledger::bench {

// Each CallerID's credit left in micros, by ledger-bench's index; nullopt when the CallerID
// is not there or its credit is unlimited (`unlimited` tells which).
struct CreditLeft {
  std::vector<std::optional<int64_t>> micros;
  std::vector<bool> unlimited;
};

// The index of ledger-bench's CallerID with this extension and number, among `callerids`
// spread over `extensions`; nullopt for any other CallerID.
std::optional<int> BenchIndexOf(std::string_view extension, std::string_view number, int callerids,
                                int extensions);

// Reads the credit left of ledger-bench's CallerIDs 0 .. callerids - 1 through `stub`, a page
// of 1000 at a time, each page within `rpc_timeout_seconds`.
absl::StatusOr<CreditLeft> ReadCreditLeft(v1::CallerIds::Stub* stub, int callerids, int extensions,
                                          double rpc_timeout_seconds);

// What the run's Settles charged, per CallerID. Add is called from the thread that takes the
// answers; the totals are read once the calls are over.
class Charges {
 public:
  explicit Charges(int callerids);

  // Adds the `cost` of a Settle answer to the CallerID's total. A cost that is not money
  // is kept as the reason the audit fails.
  void Add(int index, std::string_view cost);

  int64_t of(int index) const { return micros_[static_cast<size_t>(index)].load(); }
  // The first cost that was not money, or "".
  std::string unreadable() const;

 private:
  std::unique_ptr<std::atomic<int64_t>[]> micros_;
  mutable std::mutex mu_;
  std::string unreadable_;
};

struct AuditResult {
  uint64_t callerids = 0;           // compared
  uint64_t unlimited = 0;           // unlimited before and after: nothing to compare
  uint64_t absent = 0;              // not there before or after, and charged nothing
  absl::int128 charged = 0;         // what the Settles said they charged, in all
  absl::int128 credit_fell_by = 0;  // how far the credit left fell, in all
  uint64_t mismatches = 0;
  std::string first_mismatch;  // what the first mismatch was, or why the audit failed

  bool ok() const { return mismatches == 0 && first_mismatch.empty(); }
};

// Compares, for each CallerID, the credit left after the calls with the credit left before
// them less what the Settles charged it.
AuditResult Audit(const CreditLeft& before, const CreditLeft& after, const Charges& charges,
                  int extensions);

}  // namespace callbackledger::bench

#endif  // CALLBACKLEDGER_CLIENTS_BENCH_AUDIT_H_
