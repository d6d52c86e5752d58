#include "clients/channel.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/support/client_interceptor.h"

namespace callbackledger {
namespace {

// Adds "authorization: Bearer <token>" to every call of a plaintext channel, where gRPC
// refuses call credentials.
class BearerInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string* header) : header_(header) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", *header_});
    }
    methods->Proceed();
  }

 private:
  const std::string* const header_;
};

class BearerInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerInterceptorFactory(const std::string& token) : header_("Bearer " + token) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new BearerInterceptor(&header_);
  }

 private:
  const std::string header_;  // outlives the channel's calls: the channel owns the factory
};

absl::StatusOr<std::string> ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (contents.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " is empty"));
  }
  return contents.str();
}

// A token must fit in a header: printable ASCII without spaces.
absl::Status CheckToken(const std::string& token, const std::string& where) {
  for (char c : token) {
    if (c <= 0x20 || c >= 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the token in ", where,
          " holds a space or a character a header cannot carry (only printable ASCII)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> TlsCredentials(
    const ChannelOptions& options) {
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca = ReadFile("--tls_ca", options.tls_ca);
  if (!ca.ok()) return ca.status();
  ssl.pem_root_certs = *std::move(ca);
  if (!options.tls_cert.empty()) {
    absl::StatusOr<std::string> cert = ReadFile("--tls_cert", options.tls_cert);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile("--tls_key", options.tls_key);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(ssl);
  if (!options.token.empty()) {
    credentials =
        grpc::CompositeChannelCredentials(credentials, grpc::AccessTokenCredentials(options.token));
  }
  return credentials;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ChannelOptions& options, const grpc::ChannelArguments& arguments) {
  if (options.target.empty()) return absl::InvalidArgumentError("the server address is empty");
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together (mutual TLS): give both or neither");
  }
  if (options.tls_ca.empty() && !options.tls_cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key need --tls_ca: the CA that signed the server's certificate");
  }
  if (!options.tls_server_name.empty() && options.tls_ca.empty()) {
    return absl::InvalidArgumentError(
        "--tls_server_name needs --tls_ca: it is the name checked in the server's certificate");
  }
  if (absl::Status token = CheckToken(options.token, "the options"); !token.ok()) return token;
  if (!options.tls_ca.empty()) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = TlsCredentials(options);
    if (!credentials.ok()) return credentials.status();
    grpc::ChannelArguments tls_arguments = arguments;
    if (!options.tls_server_name.empty()) {
      tls_arguments.SetSslTargetNameOverride(options.tls_server_name);
    }
    return grpc::CreateCustomChannel(options.target, *credentials, tls_arguments);
  }
  if (options.token.empty()) {
    return grpc::CreateCustomChannel(options.target, grpc::InsecureChannelCredentials(), arguments);
  }
  if (!IsLoopbackTarget(options.target)) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing to send the token in plaintext to ", options.target,
                     ": give --tls_ca to use TLS (plaintext is for loopback addresses only)"));
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> bearer;
  bearer.push_back(std::make_unique<BearerInterceptorFactory>(options.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      options.target, grpc::InsecureChannelCredentials(), arguments, std::move(bearer));
}

absl::StatusOr<std::string> LoadToken(const std::string& token_file) {
  std::string token;
  std::string where;
  if (!token_file.empty()) {
    absl::StatusOr<std::string> contents = ReadFile("--token_file", token_file);
    if (!contents.ok()) return contents.status();
    token = std::string(absl::StripAsciiWhitespace(*contents));
    where = absl::StrCat("--token_file ", token_file);
    if (token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--token_file: ", token_file, " holds only white space"));
    }
  } else if (const char* env = std::getenv("LEDGER_TOKEN"); env != nullptr) {
    token = std::string(absl::StripAsciiWhitespace(env));
    where = "LEDGER_TOKEN";
  }
  if (absl::Status checked = CheckToken(token, where); !checked.ok()) return checked;
  return token;
}

std::string StatusCodeName(grpc::StatusCode code) {
  // gRPC's codes are absl's, number for number (the server names them the same way).
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "UNKNOWN_CODE" : name;
}

}  // namespace callbackledger
