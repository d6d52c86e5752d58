// The one place clients build their channel to ledgerd: plaintext, TLS or mutual TLS, and
// a bearer token sent on every call. Used by ledgerctl and ledger-bench; PBX nodes linking
// pbx_client may use it too:
//
//   absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = callbackledger::MakeChannel(
//       {.target = "ledger:50051", .tls_ca = "ca.pem", .token = token});
//   callbackledger::PbxClient client(*channel, {.node_id = "pbx-1"});
//
// Never falls back to something less safe than asked: a half TLS configuration is an
// error, and a token travels in plaintext only to a loopback address. Error messages name
// the setting and the file that is wrong, never the token.
//
// Also the names of gRPC status codes, for the messages of every client.
#ifndef CALLBACKLEDGER_CLIENTS_CHANNEL_H_
#define CALLBACKLEDGER_CLIENTS_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "clients/address.h"
#include "grpcpp/grpcpp.h"

namespace callbackledger {

struct ChannelOptions {
  std::string target;    // host:port
  std::string tls_ca;    // PEM file of the CA that signed the server's certificate: TLS
  std::string tls_cert;  // PEM file of this client's certificate chain: mutual TLS
  std::string tls_key;   // PEM file of this client's private key: mutual TLS
  // The name the server's certificate must carry, when it is not the host of `target`
  // (e.g. a probe inside the pod dials 127.0.0.1 but the certificate names the Service).
  std::string tls_server_name;
  std::string token;  // sent as "authorization: Bearer <token>" on every call
};

// The channel `options` describe; INVALID_ARGUMENT naming the problem when they are
// incomplete or a file cannot be read. `arguments` tune the channel (message sizes...).
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ChannelOptions& options, const grpc::ChannelArguments& arguments = {});

// The token: the contents of `token_file` (surrounding white space removed) when given,
// else the environment variable LEDGER_TOKEN, else "". Tokens never come from the command
// line, where other users of the machine could read them.
absl::StatusOr<std::string> LoadToken(const std::string& token_file);

// The name of a gRPC status code as the API and grpcurl spell it ("INVALID_ARGUMENT"),
// for messages; "UNKNOWN_CODE" for any other value (grpc::StatusCode::DO_NOT_USE).
std::string StatusCodeName(grpc::StatusCode code);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_CLIENTS_CHANNEL_H_
