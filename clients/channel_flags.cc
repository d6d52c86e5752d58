#include "clients/channel_flags.h"

namespace callbackledger {

void AddChannelFlags(CLI::App* app, ChannelFlags* flags) {
  app->add_option("--tls_ca", flags->tls_ca,
                  "PEM file of the CA that signed ledgerd's certificate: speak TLS");
  app->add_option("--tls_cert", flags->tls_cert,
                  "PEM file of this client's certificate, for mutual TLS (with --tls_key)");
  app->add_option("--tls_key", flags->tls_key,
                  "PEM file of this client's private key, for mutual TLS (with --tls_cert)");
  app->add_option("--tls_server_name", flags->tls_server_name,
                  "the name ledgerd's certificate must carry, when it is not the --server host "
                  "(e.g. a probe that dials 127.0.0.1 in the pod)");
  app->add_option("--token_file", flags->token_file,
                  "file holding the bearer token sent on every call (else the environment "
                  "variable LEDGER_TOKEN; never on the command line)");
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannelFromFlags(
    const ChannelFlags& flags, const std::string& target, const grpc::ChannelArguments& arguments) {
  absl::StatusOr<std::string> token = LoadToken(flags.token_file);
  if (!token.ok()) return token.status();
  ChannelOptions options;
  options.target = target;
  options.tls_ca = flags.tls_ca;
  options.tls_cert = flags.tls_cert;
  options.tls_key = flags.tls_key;
  options.tls_server_name = flags.tls_server_name;
  options.token = *std::move(token);
  return MakeChannel(options, arguments);
}

}  // namespace callbackledger
