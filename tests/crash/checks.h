// The crash test's checks after a restart: the Checker reads the whole event log back,
// derives every CallerID's money from it alone, and holds the log, the acknowledged
// operations and the ledger's answers against each other; every difference is a violation.
#ifndef CALLBACKLEDGER_TESTS_CRASH_CHECKS_H_
#define CALLBACKLEDGER_TESTS_CRASH_CHECKS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "callbackledger/v1/events.pb.h"
#include "tests/crash/operations.h"

namespace callbackledger::crash_test {

// Money of one CallerID, derived from the log alone.
struct Balance {
  bool unlimited = false;
  int64_t recharges = 0;  // initial credit included
  int64_t settled = 0;
  int64_t held = 0;  // open holds that count against the credit
  uint32_t open = 0;
  int64_t credit_left() const { return recharges - settled; }
  int64_t available() const { return credit_left() - held; }
};

class Checker {
 public:
  explicit Checker(Violations* violations) : violations_(violations) {}

  // Reads the whole log and checks it; false when it could not be read.
  bool ReadLog(Client* client, int round);

  // Money conservation from the log, and the figures the ledger wrote in its events.
  void CheckMoney();

  // What the ledger answers for every CallerID agrees with the log.
  void CheckCallerIds(Client* client);

  // The event that recorded `op` (answered or not), or null.
  const v1::Event* FindEvent(const Operation& op) const;

  // Every acknowledged operation is in the log, as it was answered.
  void CheckAcknowledgedInLog(const std::vector<Operation>& ops);

  // Retries `ops` with the same keys and arguments: each answers its first answer, and
  // the log does not grow. Returns how many answered the same.
  uint64_t Retry(Client* client, const std::vector<const Operation*>& ops);

  size_t events() const { return events_.size(); }
  size_t callerids() const { return money_.size(); }

 private:
  void Violation(const std::string& what);

  void Expect(const std::string& at, const char* what, int64_t actual, int64_t derived);

  void NotNegative(const std::string& at, const Balance& money);

  // Whether the event says what the answer to `op` said.
  static bool Agrees(const Operation& op, const v1::Event& event);

  Violations* const violations_;
  int round_ = 0;
  std::vector<v1::Event> events_;
  // Indexes of events_: by request_id, and by reservation_id for openings and closings.
  std::map<std::string, const v1::Event*> by_request_, opened_, closed_;
  std::vector<std::string> seen_;  // the serialized events read by earlier checks
  std::map<uint64_t, Balance> money_;
};

}  // namespace callbackledger::crash_test

#endif  // CALLBACKLEDGER_TESTS_CRASH_CHECKS_H_
