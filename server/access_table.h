// The access file: who may call, and as which role.
//
//   # comment
//   token  ops-alice   operator  sha256:<64 hex digits: SHA-256 of the token>
//   cert   pbx-node-2  pbx       # a client certificate whose subject CN is pbx-node-2
//
// Names are identities: unique, recorded as the actor of every event they cause. The file
// holds only hashes of tokens, never tokens.
#ifndef CALLBACKLEDGER_SERVER_ACCESS_TABLE_H_
#define CALLBACKLEDGER_SERVER_ACCESS_TABLE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/roles.h"

namespace callbackledger {

struct Identity {
  std::string name;
  Role role;
};

using TokenHash = std::array<uint8_t, 32>;

// SHA-256 of `token`.
TokenHash HashToken(absl::string_view token);

class AccessTable {
 public:
  // Parses the file's text; an error names the line and what is wrong with it.
  static absl::StatusOr<AccessTable> Parse(absl::string_view text);

  // The identity holding `token` (compared by hash, in constant time per entry).
  std::optional<Identity> FindToken(absl::string_view token) const;
  // The identity of a verified client certificate with subject CN `common_name`.
  std::optional<Identity> FindCertificate(absl::string_view common_name) const;

  size_t size() const { return tokens_.size() + certificates_.size(); }

 private:
  struct TokenEntry {
    Identity identity;
    TokenHash hash;
  };
  absl::Status AddLine(absl::string_view line);

  std::vector<TokenEntry> tokens_;
  absl::flat_hash_map<std::string, Identity> certificates_;
  absl::flat_hash_map<std::string, bool> names_;
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_ACCESS_TABLE_H_
