// Clients for the security end-to-end tests: test certificates made by
// scripts/make-test-certs.sh, TLS channel credentials with or without a client certificate,
// calls carrying a bearer token, and the log's last sequence.
#ifndef CALLBACKLEDGER_TESTS_SECURITY_CLIENTS_H_
#define CALLBACKLEDGER_TESTS_SECURITY_CLIENTS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace callbackledger {
namespace e2e {

// Runs scripts/make-test-certs.sh into `dir`.
absl::Status MakeTestCerts(const std::string& dir);

// The text of `dir/name`.
std::string ReadText(const std::string& path);

// TLS trusting `dir/ca.pem`; with `client` (e.g. "ops"), presents `dir/client.pem`.
std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(const std::string& dir,
                                                         const std::string& client = "",
                                                         const std::string& ca = "ca");

// A token-bearing line of an access file: token NAME ROLE sha256:HEX.
std::string TokenLine(const std::string& name, const std::string& role, const std::string& token);

// A client context with a 10 s deadline and, when `token` is set, its bearer token.
std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& token = "");

// The log's last sequence, read through `channel` (whose caller must be allowed
// Events.ReadEvents); 0 on failure, which the caller's assertion then shows.
uint64_t LastSequence(const std::shared_ptr<grpc::Channel>& channel);

// Health/Check through `channel`.
grpc::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel);

}  // namespace e2e
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_TESTS_SECURITY_CLIENTS_H_
