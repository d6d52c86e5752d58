#include "server/tls.h"

#include <fstream>
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
