// Keyed hashing of PINs, of requests and of page tokens. The key is 32 random bytes made
// when a data directory is created and kept in it; PINs are hashed with it and a per-PIN random
// salt (BLAKE2b through libsodium), so the store never holds a PIN in clear and a stolen hash
// cannot be checked against the 10^4..10^12 possible PINs without the key.
#ifndef CALLBACKLEDGER_LEDGER_SECRETS_H_
#define CALLBACKLEDGER_LEDGER_SECRETS_H_

#include <string>
#include <string_view>

namespace callbackledger {

inline constexpr size_t kSecretKeyBytes = 32;
inline constexpr size_t kPinSaltBytes = 16;

class Secrets {
 public:
  // `key` must hold kSecretKeyBytes bytes.
  explicit Secrets(std::string key);

  static std::string NewKey();
  static std::string NewSalt();

  std::string HashPin(std::string_view salt, std::string_view pin) const;
  // Constant-time comparison of a PIN with a stored salt and hash.
  bool PinMatches(std::string_view salt, std::string_view hash, std::string_view pin) const;
  // A keyed hash of a request's canonical form: tells a retry from a reused request_id
  // without storing the request (it may hold a PIN).
  std::string Fingerprint(std::string_view canonical_request) const;
  // A keyed hash of `message` for `purpose` (e.g. "page-token"), so that what the ledger
  // hands a client to give back (a page token) cannot be altered unseen; TagMatches compares
  // in constant time.
  std::string Tag(std::string_view purpose, std::string_view message) const;
  bool TagMatches(std::string_view purpose, std::string_view message, std::string_view tag) const;

 private:
  std::string key_;
};

// Appends a length-prefixed field to a canonical request form.
void AppendCanonical(std::string* out, std::string_view field);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_SECRETS_H_
