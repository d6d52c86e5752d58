// Assertions that stay on in release builds. A ledger that doubts its own state must not
// keep writing: a broken invariant stops the process with a message saying which.
#ifndef CALLBACKLEDGER_PROJECTIONS_CHECK_H_
#define CALLBACKLEDGER_PROJECTIONS_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define LEDGER_CHECK(condition)                                                        \
  do {                                                                                 \
    if (!(condition)) {                                                                \
      std::fprintf(stderr, "%s:%d: ledger invariant broken: %s\n", __FILE__, __LINE__, \
                   #condition);                                                        \
      std::abort();                                                                    \
    }                                                                                  \
  } while (false)

#endif  // CALLBACKLEDGER_PROJECTIONS_CHECK_H_
