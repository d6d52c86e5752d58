// The clients against a ledgerd that wants mutual TLS and identities: ledgerctl with a
// client certificate, with a bearer token from --token_file, with a role too small, and
// without TLS; ledger-bench with an admin certificate. The actor of each event is the
// identity that caused it.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/events.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/security_clients.h"
#include "tests/server_harness.h"

namespace callbackledger {
namespace e2e {
namespace {

constexpr char kOpsToken[] = "ops-token-for-clients-4b7e19c2";

class ClientsTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new LedgerServer();
    certs_ = new std::string(server_->dir() + "/certs");
    ASSERT_TRUE(MakeTestCerts(*certs_).ok());
    std::ofstream(server_->dir() + "/access")
        << "cert admin admin\ncert ops operator\ncert audit auditor\n"
        << TokenLine("ops-alice", "operator", kOpsToken);
    std::ofstream(server_->dir() + "/token") << kOpsToken << "\n";
    server_->UseChannelCredentials(TlsCredentials(*certs_, "admin"));
    absl::Status started = server_->Start(
        {"--tls_cert=" + *certs_ + "/server.pem", "--tls_key=" + *certs_ + "/server.key",
         "--tls_client_ca=" + *certs_ + "/ca.pem", "--access_file=" + server_->dir() + "/access"});
    ASSERT_TRUE(started.ok()) << started;
  }
  static void TearDownTestSuite() {
    delete server_;
    delete certs_;
  }

  // ledgerctl --server ADDRESS with the TLS flags of client certificate `client` (none
  // when empty) and then `args`.
  static ProcessResult Ctl(const std::string& client, const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--server", server_->address()};
    if (!client.empty()) {
      all.insert(all.end(),
                 {"--tls_ca", *certs_ + "/ca.pem", "--tls_cert", *certs_ + "/" + client + ".pem",
                  "--tls_key", *certs_ + "/" + client + ".key"});
    }
    all.insert(all.end(), args.begin(), args.end());
    return RunLedgerctl(all);
  }

  static std::vector<v1::Event> Events() {
    v1::ReadEventsRequest request;
    request.set_page_size(1000);
    v1::ReadEventsResponse response;
    grpc::Status status = v1::Events::NewStub(server_->NewChannel(TlsCredentials(*certs_, "admin")))
                              ->ReadEvents(ContextWith().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.events().begin(), response.events().end()};
  }

  static LedgerServer* server_;
  static std::string* certs_;
};

LedgerServer* ClientsTlsTest::server_ = nullptr;
std::string* ClientsTlsTest::certs_ = nullptr;

TEST_F(ClientsTlsTest, LedgerctlWithAClientCertificateActsAsItsIdentity) {
  ProcessResult added = Ctl("ops", {"add", "-e", "0003*005", "-n", "+15550101", "--credit", "5"});
  ASSERT_EQ(added.exit_code, 0) << added.Describe();
  std::vector<v1::Event> events = Events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().actor(), "ops");
  ProcessResult listed = Ctl("audit", {"list", "-e", "0003*005", "-o", "json"});
  EXPECT_EQ(listed.exit_code, 0) << listed.Describe();
  EXPECT_TRUE(absl::StrContains(listed.out, "+15550101")) << listed.out;
}

TEST_F(ClientsTlsTest, LedgerctlWithATokenFileActsAsTheTokensIdentity) {
  // Mutual TLS wants a certificate; "stranger" has none of the access file's roles, so the
  // token decides who calls.
  ProcessResult added = Ctl("stranger", {"--token_file", server_->dir() + "/token", "add", "-e",
                                         "0003*005", "-n", "+15550102", "--credit", "5"});
  ASSERT_EQ(added.exit_code, 0) << added.Describe();
  EXPECT_EQ(Events().back().actor(), "ops-alice");
  EXPECT_FALSE(absl::StrContains(added.out + added.err, kOpsToken));
}

TEST_F(ClientsTlsTest, ARoleTooSmallIsRefusedAndWritesNothing) {
  const uint64_t before = Events().size();
  ProcessResult refused =
      Ctl("audit", {"add", "-e", "0003*005", "-n", "+15550103", "--credit", "5"});
  EXPECT_EQ(refused.exit_code, 1) << refused.Describe();
  EXPECT_TRUE(absl::StrContains(refused.err, "PERMISSION_DENIED") ||
              absl::StrContains(refused.err, "may not"))
      << refused.Describe();
  ProcessResult stranger = Ctl("stranger", {"license"});
  EXPECT_NE(stranger.exit_code, 0) << stranger.Describe();
  EXPECT_EQ(Events().size(), before);
}

TEST_F(ClientsTlsTest, LedgerctlWithoutTlsCannotReachATlsServer) {
  ProcessResult plaintext = Ctl("", {"--timeout", "3", "license"});
  EXPECT_EQ(plaintext.exit_code, 3) << plaintext.Describe();
}

// `ledgerctl health` is what a Kubernetes exec probe runs against a TLS-only server: any
// certificate will do (Health needs no role), the exit code says SERVING or not.
TEST_F(ClientsTlsTest, LedgerctlHealthProbesATlsServer) {
  ProcessResult whole = Ctl("stranger", {"health"});
  EXPECT_EQ(whole.exit_code, 0) << whole.Describe();
  EXPECT_EQ(whole.out, "(the server): SERVING\n");
  ProcessResult calls =
      Ctl("stranger", {"health", "--service", "callbackledger.v1.Calls", "-o", "json"});
  EXPECT_EQ(calls.exit_code, 0) << calls.Describe();
  EXPECT_EQ(calls.out, "{\"service\": \"callbackledger.v1.Calls\", \"status\": \"SERVING\"}\n");
  ProcessResult unknown = Ctl("stranger", {"health", "--service", "no.such.Service"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.Describe();
  EXPECT_EQ(unknown.out, "no.such.Service: SERVICE_UNKNOWN\n");
  ProcessResult bad_name = Ctl("stranger", {"health", "--service", "x y"});
  EXPECT_EQ(bad_name.exit_code, 2) << bad_name.Describe();
  ProcessResult plaintext = Ctl("", {"--timeout", "3", "health"});
  EXPECT_EQ(plaintext.exit_code, 3) << plaintext.Describe();
}

TEST_F(ClientsTlsTest, LedgerBenchRunsOverMutualTls) {
  ProcessResult bench = RunProcess(
      {LEDGER_BENCH_BINARY, "--server=" + server_->address(), "--tls_ca=" + *certs_ + "/ca.pem",
       "--tls_cert=" + *certs_ + "/admin.pem", "--tls_key=" + *certs_ + "/admin.key",
       "--callerids=20", "--extensions=2", "--in_flight=4", "--seconds=1"},
      {}, std::chrono::seconds(60));
  ASSERT_EQ(bench.exit_code, 0) << bench.Describe();
  bool settled = false;
  for (const v1::Event& event : Events()) {
    if (event.has_reservation_settled() || event.has_reservation_released()) {
      settled = true;
      EXPECT_EQ(event.actor(), "admin");
    }
  }
  EXPECT_TRUE(settled) << bench.out;
}

}  // namespace
}  // namespace e2e
}  // namespace callbackledger
