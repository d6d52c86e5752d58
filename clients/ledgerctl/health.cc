// health: asks a running ledgerd's grpc.health.v1.Health/Check, over the same channel as
// every other subcommand (plaintext on loopback, TLS, mutual TLS), so that a Kubernetes
// exec probe or a script can check a server that only speaks TLS. Health needs no role:
// any caller, even without a token, may ask.
//
// Exit codes: 0 SERVING; 1 the server answered, but not SERVING (NOT_SERVING, or NOT_FOUND
// for a service it does not know); 3 the server could not be reached or did not answer in
// time.
#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "clients/ledgerctl/commands.h"
#include "clients/ledgerctl/common.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace callbackledger {
namespace ctl {
namespace {

const char* ServingStatusName(grpc::health::v1::HealthCheckResponse::ServingStatus status) {
  switch (status) {
    case grpc::health::v1::HealthCheckResponse::SERVING:
      return "SERVING";
    case grpc::health::v1::HealthCheckResponse::NOT_SERVING:
      return "NOT_SERVING";
    case grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN:
      return "SERVICE_UNKNOWN";
    default:
      return "UNKNOWN";
  }
}

int Health(const Globals& globals, const std::string& service) {
  const std::string command = "health";
  auto stub = grpc::health::v1::Health::NewStub(globals.channel);
  grpc::ClientContext context;
  context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(globals.timeout_seconds * 1000)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  std::string answer;
  if (status.ok()) {
    answer = ServingStatusName(response.status());
  } else if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    answer = "SERVICE_UNKNOWN";  // the server does not know this service name
  } else {
    return RpcFailed(command, globals, status);
  }
  const std::string shown = service.empty() ? "(the server)" : service;
  switch (globals.output) {
    case OutputFormat::kJson:
      std::printf("{\"service\": \"%s\", \"status\": \"%s\"}\n", service.c_str(), answer.c_str());
      break;
    case OutputFormat::kCsv:
      std::printf("service,status\n%s,%s\n", service.c_str(), answer.c_str());
      break;
    case OutputFormat::kTable:
      std::printf("%s: %s\n", shown.c_str(), answer.c_str());
      break;
  }
  return answer == "SERVING" ? kExitOk : kExitRefused;
}

}  // namespace

void AddHealthCommand(CLI::App* app, const Globals* globals, Runner* run) {
  auto service = std::make_shared<std::string>();
  CLI::App* health = app->add_subcommand(
      "health",
      "Ask the server's health (grpc.health.v1.Health/Check); exit 0 when SERVING, 1 when "
      "not, 3 when unreachable. For probes and scripts; takes the TLS and token options");
  health
      ->add_option("--service", *service,
                   "a service name, e.g. callbackledger.v1.Calls (default: the server as a "
                   "whole, which is NOT_SERVING when it cannot write)")
      ->check([](const std::string& name) -> std::string {
        for (char c : name) {
          if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_')) {
            return "a service name has only letters, digits, '.' and '_'";
          }
        }
        return "";
      });
  health->callback([=] { *run = [=] { return Health(*globals, *service); }; });
}

}  // namespace ctl
}  // namespace callbackledger
