#include "ledger/secrets.h"

#include <sodium.h>

#include <utility>

#include "projections/check.h"

namespace callbackledger {
namespace {

std::string KeyedHash(const std::string& key, std::string_view a, std::string_view b) {
  crypto_generichash_state state;
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                          out.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(a.data()), a.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(b.data()), b.size());
  crypto_generichash_final(&state, reinterpret_cast<unsigned char*>(out.data()), out.size());
  return out;
}

std::string RandomBytes(size_t n) {
  LEDGER_CHECK(sodium_init() >= 0);
  std::string bytes(n, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  return bytes;
}

}  // namespace

Secrets::Secrets(std::string key) : key_(std::move(key)) {
  LEDGER_CHECK(sodium_init() >= 0);
  LEDGER_CHECK(key_.size() == kSecretKeyBytes);
}

std::string Secrets::NewKey() { return RandomBytes(kSecretKeyBytes); }

std::string Secrets::NewSalt() { return RandomBytes(kPinSaltBytes); }

std::string Secrets::HashPin(std::string_view salt, std::string_view pin) const {
  return KeyedHash(key_, salt, pin);
}

bool Secrets::PinMatches(std::string_view salt, std::string_view hash, std::string_view pin) const {
  std::string computed = HashPin(salt, pin);
  return computed.size() == hash.size() &&
         sodium_memcmp(computed.data(), hash.data(), hash.size()) == 0;
}

std::string Secrets::Fingerprint(std::string_view canonical_request) const {
  return KeyedHash(key_, "request", canonical_request);
}

std::string Secrets::Tag(std::string_view purpose, std::string_view message) const {
  std::string labelled;
  AppendCanonical(&labelled, purpose);
  return KeyedHash(key_, labelled, message);
}

bool Secrets::TagMatches(std::string_view purpose, std::string_view message,
                         std::string_view tag) const {
  std::string computed = Tag(purpose, message);
  return computed.size() == tag.size() &&
         sodium_memcmp(computed.data(), tag.data(), tag.size()) == 0;
}

void AppendCanonical(std::string* out, std::string_view field) {
  out->append(std::to_string(field.size()));
  out->push_back(':');
  out->append(field);
}

}  // namespace callbackledger
