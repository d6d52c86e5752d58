#include "tests/security_clients.h"

#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/events.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/server_harness.h"

#ifndef MAKE_TEST_CERTS_SCRIPT
#error "MAKE_TEST_CERTS_SCRIPT must be defined to the path of scripts/make-test-certs.sh"
#endif

namespace callbackledger {
namespace e2e {

absl::Status MakeTestCerts(const std::string& dir) {
  ProcessResult made = RunProcess({"/bin/bash", MAKE_TEST_CERTS_SCRIPT, dir});
  if (made.exit_code != 0) {
    return absl::InternalError(absl::StrCat("make-test-certs.sh failed: ", made.Describe()));
  }
  return absl::OkStatus();
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(const std::string& dir,
                                                         const std::string& client,
                                                         const std::string& ca) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadText(absl::StrCat(dir, "/", ca, ".pem"));
  if (!client.empty()) {
    options.pem_cert_chain = ReadText(absl::StrCat(dir, "/", client, ".pem"));
    options.pem_private_key = ReadText(absl::StrCat(dir, "/", client, ".key"));
  }
  return grpc::SslCredentials(options);
}

std::string TokenLine(const std::string& name, const std::string& role, const std::string& token) {
  // The same hash as scripts/issue-token.sh, computed by sha256sum.
  ProcessResult hashed =
      RunProcess({"/bin/sh", "-c", absl::StrCat("printf %s '", token, "' | sha256sum")});
  return absl::StrCat("token ", name, " ", role, " sha256:", hashed.out.substr(0, 64), "\n");
}

std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  return context;
}

uint64_t LastSequence(const std::shared_ptr<grpc::Channel>& channel) {
  v1::ReadEventsRequest request;
  request.set_from_sequence(1);
  request.set_page_size(1);
  v1::ReadEventsResponse response;
  grpc::Status status =
      v1::Events::NewStub(channel)->ReadEvents(ContextWith().get(), request, &response);
  return status.ok() ? response.last_sequence() : 0;
}

grpc::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  std::unique_ptr<grpc::ClientContext> context = ContextWith();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  return grpc::health::v1::Health::NewStub(channel)->Check(context.get(), request, &response);
}

}  // namespace e2e
}  // namespace callbackledger
