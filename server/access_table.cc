#include "server/access_table.h"

#include <sodium.h>

#include <algorithm>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace callbackledger {
namespace {

constexpr size_t kMaxNameLength = 128;
constexpr absl::string_view kHashPrefix = "sha256:";

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.' && c != '@') return false;
  }
  return true;
}

absl::StatusOr<TokenHash> ParseHash(absl::string_view field) {
  if (!absl::StartsWith(field, kHashPrefix)) {
    return absl::InvalidArgumentError("the token hash must start with \"sha256:\"");
  }
  absl::string_view hex = field.substr(kHashPrefix.size());
  std::string bytes;
  if (hex.size() != 64 || !absl::c_all_of(hex, absl::ascii_isxdigit)) {
    return absl::InvalidArgumentError("the token hash must be 64 hexadecimal digits");
  }
  bytes = absl::HexStringToBytes(hex);
  TokenHash hash;
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

}  // namespace

TokenHash HashToken(absl::string_view token) {
  TokenHash hash;
  crypto_hash_sha256(hash.data(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size());
  return hash;
}

absl::Status AccessTable::AddLine(absl::string_view line) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.empty()) return absl::OkStatus();
  const absl::string_view kind = fields[0];
  if (kind != "token" && kind != "cert") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown entry \"", kind, "\"; use token or cert"));
  }
  const size_t wanted = kind == "token" ? 4 : 3;
  if (fields.size() != wanted) {
    return absl::InvalidArgumentError(
        kind == "token" ? "a token line is: token NAME ROLE sha256:HEX"
                        : "a cert line is: cert NAME ROLE (NAME is the certificate's CN)");
  }
  const std::string name(fields[1]);
  if (!ValidName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("name \"", name, "\" must be 1-128 letters, digits or -_.@"));
  }
  if (names_.contains(name)) {
    return absl::InvalidArgumentError(absl::StrCat("name \"", name, "\" is given twice"));
  }
  std::optional<Role> role = ParseRole(fields[2]);
  if (!role.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown role \"", fields[2], "\"; use pbx, operator, auditor or admin"));
  }
  if (kind == "token") {
    absl::StatusOr<TokenHash> hash = ParseHash(fields[3]);
    if (!hash.ok()) return hash.status();
    tokens_.push_back(TokenEntry{Identity{name, *role}, *hash});
  } else {
    certificates_[name] = Identity{name, *role};
  }
  names_[name] = true;
  return absl::OkStatus();
}

absl::StatusOr<AccessTable> AccessTable::Parse(absl::string_view text) {
  AccessTable table;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = line.substr(0, line.find('#'));
    if (absl::Status added = table.AddLine(line); !added.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", number, ": ", added.message()));
    }
  }
  return table;
}

std::optional<Identity> AccessTable::FindToken(absl::string_view token) const {
  const TokenHash hash = HashToken(token);
  const TokenEntry* found = nullptr;
  // Every entry is compared, so the time taken does not say which one matched.
  for (const TokenEntry& entry : tokens_) {
    if (sodium_memcmp(entry.hash.data(), hash.data(), hash.size()) == 0) found = &entry;
  }
  if (found == nullptr) return std::nullopt;
  return found->identity;
}

std::optional<Identity> AccessTable::FindCertificate(absl::string_view common_name) const {
  auto found = certificates_.find(common_name);
  if (found == certificates_.end()) return std::nullopt;
  return found->second;
}

}  // namespace callbackledger
