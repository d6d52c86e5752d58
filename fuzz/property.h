// PROPERTY(condition, detail): what a fuzzer asserts about a parser. A broken property
// prints the condition and `detail` (the input, escaped) and aborts, so libFuzzer saves
// the input as a crash artifact.
#ifndef CALLBACKLEDGER_FUZZ_PROPERTY_H_
#define CALLBACKLEDGER_FUZZ_PROPERTY_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"

#define PROPERTY(condition, detail)                                                          \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: property broken: %s\n  for \"%s\"\n", __FILE__, __LINE__, \
                   #condition, absl::CHexEscape(std::string(detail)).c_str());               \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)

namespace callbackledger {

// Error messages go to logs and replies: they must be printable ASCII whatever the input.
inline bool IsPrintableAscii(absl::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) {
      return false;
    }
  }
  return true;
}

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_FUZZ_PROPERTY_H_
