// The gRPC port's credentials from the TLS flags: plaintext, TLS, or mutual TLS. A
// half-configured setup is an error, never a silent fall back to plaintext.
#ifndef CALLBACKLEDGER_SERVER_TLS_H_
#define CALLBACKLEDGER_SERVER_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace callbackledger {

struct TlsFiles {
  std::string cert;       // --tls_cert: PEM certificate chain
  std::string key;        // --tls_key: PEM private key
  std::string client_ca;  // --tls_client_ca: PEM CA bundle; set means mutual TLS

  bool tls() const { return !cert.empty(); }
  bool mutual() const { return !client_ca.empty(); }
  // "plaintext", "TLS" or "mutual TLS".
  std::string Describe() const;
};

// Reads the files and builds the credentials. INVALID_ARGUMENT names the flag at fault:
// --tls_cert without --tls_key (or the reverse), --tls_client_ca without both, an
// unreadable or empty file, a key that is not the certificate's.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_TLS_H_
