#include "server/tls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace callbackledger {
namespace {

// Reads a PEM file that must hold a block of `kind` ("CERTIFICATE" or "PRIVATE KEY").
absl::StatusOr<std::string> ReadPem(const char* flag, const std::string& path, const char* kind) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  const std::string block = text.str();
  const size_t begin = block.find("-----BEGIN ");
  if (begin == std::string::npos || block.find(kind, begin) == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", path, " holds no PEM ", kind, " block"));
  }
  return text.str();
}

// Parses the first certificate of `cert_pem` and the key of `key_pem` and checks that the
// key is the certificate's: gRPC would only find out when it tries to listen.
absl::Status CheckKeyMatchesCertificate(const TlsFiles& files, const std::string& cert_pem,
                                        const std::string& key_pem) {
  using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
  Bio cert_bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), &BIO_free);
  Bio key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), &BIO_free);
  if (cert_bio == nullptr || key_bio == nullptr) {
    return absl::ResourceExhaustedError("out of memory reading the TLS files");
  }
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert: ", files.cert, " holds no certificate OpenSSL can read"));
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key: ", files.key,
                     " holds no private key OpenSSL can read (an encrypted key "
                     "is not supported)"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("--tls_key: ", files.key,
                                                   " is not the key of the certificate in ",
                                                   files.cert, " (--tls_cert)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string TlsFiles::Describe() const {
  if (mutual()) return "mutual TLS";
  return tls() ? "TLS" : "plaintext";
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files) {
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together: give both (TLS) or neither (plaintext)");
  }
  if (files.mutual() && !files.tls()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca (mutual TLS) needs the server's own --tls_cert and --tls_key");
  }
  if (!files.tls()) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert = ReadPem("--tls_cert", files.cert, "CERTIFICATE");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem("--tls_key", files.key, "PRIVATE KEY");
  if (!key.ok()) return key.status();
  if (absl::Status match = CheckKeyMatchesCertificate(files, *cert, *key); !match.ok()) {
    return match;
  }
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (files.mutual()) {
    absl::StatusOr<std::string> ca = ReadPem("--tls_client_ca", files.client_ca, "CERTIFICATE");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace callbackledger
