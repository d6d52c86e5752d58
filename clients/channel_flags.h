// The command-line flags of a client's channel to ledgerd, the same in every tool:
// --tls_ca, --tls_cert, --tls_key, --tls_server_name and --token_file (or the environment variable
// LEDGER_TOKEN). See clients/channel.h.
#ifndef CALLBACKLEDGER_CLIENTS_CHANNEL_FLAGS_H_
#define CALLBACKLEDGER_CLIENTS_CHANNEL_FLAGS_H_

#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "clients/channel.h"

namespace callbackledger {

struct ChannelFlags {
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  std::string token_file;
};

// Adds the five flags to `app`, writing into `flags`.
void AddChannelFlags(CLI::App* app, ChannelFlags* flags);

// The channel to `target` the flags describe, the token loaded (LoadToken).
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannelFromFlags(
    const ChannelFlags& flags, const std::string& target,
    const grpc::ChannelArguments& arguments = {});

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_CLIENTS_CHANNEL_FLAGS_H_
