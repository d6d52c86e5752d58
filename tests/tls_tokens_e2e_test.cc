// ledgerd's start-up refusals of a half-configured security setup, and bearer tokens over
// plain (server-only) TLS, reloaded without a restart.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "callbackledger/v1/caller_ids.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/security_clients.h"
#include "tests/server_harness.h"

namespace callbackledger {
namespace e2e {
namespace {

struct Refusal {
  std::vector<std::string> flags;
  std::string error;
};

TEST(SecurityStartup, RefusesAHalfConfiguredSetupWithExitCode2) {
  LedgerServer server;
  const std::string certs = server.dir() + "/certs";
  ASSERT_TRUE(MakeTestCerts(certs).ok());
  std::ofstream(server.dir() + "/bad-access") << "token ops-alice operator sha256:1234\n";
  const std::string cert = "--tls_cert=" + certs + "/server.pem";
  const std::string key = "--tls_key=" + certs + "/server.key";
  const Refusal refusals[] = {
      {{cert}, "--tls_cert and --tls_key go together"},
      {{key}, "--tls_cert and --tls_key go together"},
      {{"--tls_client_ca=" + certs + "/ca.pem"}, "--tls_client_ca (mutual TLS) needs"},
      {{"--tls_cert=" + certs + "/missing.pem", key}, "--tls_cert: cannot read"},
      {{cert, key, "--tls_client_ca=" + certs + "/ca.pem"}, "--tls_client_ca needs --access_file"},
      {{cert, key, "--tls_client_ca=" + certs + "/ca.key"},
       "ca.key holds no PEM CERTIFICATE block"},
      {{cert, "--tls_key=" + certs + "/server.pem"}, "server.pem holds no PEM PRIVATE KEY block"},
      {{cert, "--tls_key=" + certs + "/admin.key"},
       "admin.key is not the key of the certificate in"},
      {{"--access_file=" + server.dir() + "/missing"}, "--access_file: cannot read"},
      {{"--access_file=" + server.dir() + "/bad-access"},
       "line 1: the token hash must be 64 hexadecimal digits"},
  };
  for (const Refusal& refusal : refusals) {
    ProcessResult result = server.RunUntilExit(refusal.flags);
    EXPECT_EQ(result.exit_code, 2) << result.Describe();
    EXPECT_TRUE(absl::StrContains(result.err, refusal.error)) << result.Describe();
  }
}

// Lists CallerIDs with `token` (none when empty).
grpc::Status List(const std::shared_ptr<grpc::Channel>& channel, const std::string& token) {
  v1::ListCallerIdsRequest request;
  request.set_extension("0003*005");
  v1::ListCallerIdsResponse response;
  return v1::CallerIds::NewStub(channel)->ListCallerIds(ContextWith(token).get(), request,
                                                        &response);
}

TEST(TlsTokens, TokensAuthenticateOverTlsAndAreReloadedOnSighup) {
  LedgerServer server;
  const std::string certs = server.dir() + "/certs";
  ASSERT_TRUE(MakeTestCerts(certs).ok());
  const std::string access = server.dir() + "/access";
  std::ofstream(access) << TokenLine("audit-1", "auditor", "first-token-d41d8cd9");
  server.UseChannelCredentials(TlsCredentials(certs));
  ASSERT_TRUE(server
                  .Start({"--tls_cert=" + certs + "/server.pem",
                          "--tls_key=" + certs + "/server.key", "--access_file=" + access})
                  .ok());
  EXPECT_EQ(CheckHealth(server.NewChannel(grpc::InsecureChannelCredentials())).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  const std::shared_ptr<grpc::Channel> channel = server.channel();
  EXPECT_EQ(List(channel, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(List(channel, "second-token-8f00b204").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(List(channel, "first-token-d41d8cd9").ok());

  // Rotate: the new token replaces the old one, then SIGHUP.
  std::ofstream(access, std::ios::trunc)
      << TokenLine("audit-1", "auditor", "second-token-8f00b204");
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!List(channel, "second-token-8f00b204").ok() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(List(channel, "second-token-8f00b204").ok());
  EXPECT_EQ(List(channel, "first-token-d41d8cd9").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(absl::StrContains(server.Log(), "access file loaded"));
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace e2e
}  // namespace callbackledger
