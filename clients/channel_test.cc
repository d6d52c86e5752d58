// Tests of MakeChannel and LoadToken: half TLS configurations and unreadable files are
// refused with a clear message that never shows the token, and a token reaches the server
// as "authorization: Bearer <token>" on every call (checked against a small in-process gRPC
// server on 127.0.0.1 whose Health service records the metadata it receives), in plaintext,
// over TLS and over mutual TLS with certificates made by `openssl` for the test.
#include "clients/channel.h"

#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace callbackledger {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kToken[] = "s3cr3t-t0ken-value";

// A Health service that answers SERVING and keeps the authorization headers it saw.
class RecordingHealth final : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.emplace_back();
    auto [first, last] = context->client_metadata().equal_range("authorization");
    for (auto it = first; it != last; ++it) {
      seen_.back().emplace_back(it->second.data(), it->second.size());
    }
    response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }

  // The authorization values of each call, in order.
  std::vector<std::vector<std::string>> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::vector<std::vector<std::string>> seen_;
};

class ChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/channel_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    unsetenv("LEDGER_TOKEN");
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
    std::filesystem::remove_all(dir_);
    unsetenv("LEDGER_TOKEN");
  }

  std::string WriteFile(const std::string& name, const std::string& contents) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << contents;
    return path;
  }

  // Starts the recording server on a free loopback port; returns its address.
  std::string StartServer(
      std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials()) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    EXPECT_NE(port, 0);
    return "127.0.0.1:" + std::to_string(port);
  }

  static grpc::Status Check(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
  }

  static ChannelOptions Options(const std::string& target = "127.0.0.1:50051") {
    ChannelOptions options;
    options.target = target;
    options.token = kToken;
    return options;
  }

  // Expects INVALID_ARGUMENT whose message holds `part` and never the token.
  static void ExpectRefused(const ChannelOptions& options, const std::string& part) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
    EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument) << channel.status();
    EXPECT_THAT(std::string(channel.status().message()), HasSubstr(part));
    EXPECT_THAT(std::string(channel.status().message()), Not(HasSubstr(kToken)));
  }

  std::string dir_;
  RecordingHealth health_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ChannelTest, HalfTlsConfigurationsAreRefused) {
  const std::string pem = WriteFile("some.pem", "-----BEGIN CERTIFICATE-----\n");
  ChannelOptions cert_only = Options();
  cert_only.tls_ca = pem;
  cert_only.tls_cert = pem;
  ExpectRefused(cert_only, "--tls_cert and --tls_key go together");

  ChannelOptions key_only = Options();
  key_only.tls_ca = pem;
  key_only.tls_key = pem;
  ExpectRefused(key_only, "--tls_cert and --tls_key go together");

  ChannelOptions no_ca = Options();
  no_ca.tls_cert = pem;
  no_ca.tls_key = pem;
  ExpectRefused(no_ca, "--tls_cert and --tls_key need --tls_ca");
}

TEST_F(ChannelTest, UnreadableOrEmptyFilesAreNamed) {
  ChannelOptions missing_ca = Options();
  missing_ca.tls_ca = dir_ + "/no-such-ca.pem";
  ExpectRefused(missing_ca, "--tls_ca: cannot read " + dir_ + "/no-such-ca.pem");

  ChannelOptions empty_ca = Options();
  empty_ca.tls_ca = WriteFile("empty.pem", "");
  ExpectRefused(empty_ca, "--tls_ca: " + empty_ca.tls_ca + " is empty");

  ChannelOptions missing_key = Options();
  missing_key.tls_ca = WriteFile("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  missing_key.tls_cert = missing_key.tls_ca;
  missing_key.tls_key = dir_ + "/no-such-key.pem";
  ExpectRefused(missing_key, "--tls_key: cannot read");
}

TEST_F(ChannelTest, ATokenTravelsInPlaintextOnlyToLoopback) {
  ExpectRefused(Options("ledger.example.com:50051"),
                "refusing to send the token in plaintext to ledger.example.com:50051");
  // A name that only starts like a loopback address may resolve anywhere.
  ExpectRefused(Options("127.evil.com:50051"),
                "refusing to send the token in plaintext to 127.evil.com:50051");
  EXPECT_TRUE(MakeChannel(Options("dns:///localhost:50051")).ok());
  ChannelOptions no_token = Options("ledger.example.com:50051");
  no_token.token.clear();
  EXPECT_TRUE(MakeChannel(no_token).ok());
}

TEST_F(ChannelTest, ATokenThatCannotBeAHeaderIsRefusedWithoutShowingIt) {
  ChannelOptions spaced = Options();
  spaced.token = std::string(kToken) + " more";
  ExpectRefused(spaced, "holds a space or a character a header cannot carry");

  setenv("LEDGER_TOKEN", (std::string(kToken) + "\x01").c_str(), 1);
  absl::StatusOr<std::string> token = LoadToken("");
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(token.status().message()), HasSubstr("LEDGER_TOKEN"));
  EXPECT_THAT(std::string(token.status().message()), Not(HasSubstr(kToken)));
}

TEST_F(ChannelTest, TheTokenComesFromTheFileElseTheEnvironment) {
  absl::StatusOr<std::string> none = LoadToken("");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, "");

  setenv("LEDGER_TOKEN", "from-env", 1);
  absl::StatusOr<std::string> env = LoadToken("");
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(*env, "from-env");

  absl::StatusOr<std::string> file = LoadToken(WriteFile("token", "  from-file\n"));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(*file, "from-file");

  absl::StatusOr<std::string> missing = LoadToken(dir_ + "/no-such-token");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("--token_file: cannot read"));

  absl::StatusOr<std::string> blank = LoadToken(WriteFile("blank", " \n"));
  EXPECT_EQ(blank.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(blank.status().message()), HasSubstr("holds only white space"));
}

TEST_F(ChannelTest, TheTokenReachesTheServerOnEveryCall) {
  const std::string address = StartServer();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(Options(address));
  ASSERT_TRUE(channel.ok()) << channel.status();
  ASSERT_TRUE(Check(*channel).ok());
  ASSERT_TRUE(Check(*channel).ok());

  ChannelOptions anonymous = Options(address);
  anonymous.token.clear();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> plain = MakeChannel(anonymous);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(Check(*plain).ok());

  const std::string bearer = std::string("Bearer ") + kToken;
  EXPECT_THAT(health_.seen(), ElementsAre(ElementsAre(bearer), ElementsAre(bearer), IsEmpty()));
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it.
class ChannelTlsTest : public ChannelTest {
 protected:
  void SetUp() override {
    ChannelTest::SetUp();
    const std::string script = WriteFile("make-certs.sh", R"(set -e
cd "$1"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
key ca.key
openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=test-ca
for who in server client; do
  key $who.key
  openssl req -new -key $who.key -out $who.csr -subj /CN=$who
done
printf 'subjectAltName=IP:127.0.0.1,DNS:ledger.example\nextendedKeyUsage=serverAuth\n' > server.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
for who in server client; do
  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile $who.ext -out $who.pem
done
)");
    const std::string command = "bash " + script + " " + dir_ + " >" + dir_ + "/openssl.log 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << "openssl failed; see " << dir_;
  }

  std::string Read(const std::string& name) {
    std::ifstream in(dir_ + "/" + name);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::shared_ptr<grpc::ServerCredentials> ServerTls(bool require_client_certificate) {
    grpc::SslServerCredentialsOptions options(
        require_client_certificate ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                   : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    options.pem_root_certs = Read("ca.pem");
    options.pem_key_cert_pairs.push_back({Read("server.key"), Read("server.pem")});
    return grpc::SslServerCredentials(options);
  }
};

TEST_F(ChannelTlsTest, TheTokenReachesTheServerOverTls) {
  ChannelOptions options = Options(StartServer(ServerTls(false)));
  options.tls_ca = dir_ + "/ca.pem";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  ASSERT_TRUE(channel.ok()) << channel.status();
  grpc::Status checked = Check(*channel);
  ASSERT_TRUE(checked.ok()) << checked.error_message();
  EXPECT_THAT(health_.seen(), ElementsAre(ElementsAre(std::string("Bearer ") + kToken)));
}

TEST_F(ChannelTlsTest, MutualTlsPresentsTheClientCertificate) {
  ChannelOptions options = Options(StartServer(ServerTls(true)));
  options.tls_ca = dir_ + "/ca.pem";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> without = MakeChannel(options);
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_FALSE(Check(*without).ok()) << "the server requires a client certificate";

  options.tls_cert = dir_ + "/client.pem";
  options.tls_key = dir_ + "/client.key";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> with = MakeChannel(options);
  ASSERT_TRUE(with.ok()) << with.status();
  grpc::Status checked = Check(*with);
  ASSERT_TRUE(checked.ok()) << checked.error_message();
  EXPECT_THAT(health_.seen(), ElementsAre(ElementsAre(std::string("Bearer ") + kToken)));
}

TEST_F(ChannelTlsTest, TheServerNameToCheckCanDifferFromTheAddressDialled) {
  const std::string target = StartServer(ServerTls(false));
  ChannelOptions options = Options(target);
  options.tls_ca = dir_ + "/ca.pem";
  options.tls_server_name = "ledger.example";  // in the certificate, beside 127.0.0.1
  absl::StatusOr<std::shared_ptr<grpc::Channel>> named = MakeChannel(options);
  ASSERT_TRUE(named.ok()) << named.status();
  grpc::Status checked = Check(*named);
  EXPECT_TRUE(checked.ok()) << checked.error_message();

  options.tls_server_name = "other.example";  // not in the certificate: refused
  absl::StatusOr<std::shared_ptr<grpc::Channel>> wrong = MakeChannel(options);
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  EXPECT_FALSE(Check(*wrong).ok()) << "a certificate without the name was accepted";
  EXPECT_EQ(health_.seen().size(), 1u);
}

TEST_F(ChannelTest, AServerNameWithoutTlsIsRefused) {
  ChannelOptions options = Options();
  options.tls_server_name = "ledger.example";
  ExpectRefused(options, "--tls_server_name needs --tls_ca");
}

TEST_F(ChannelTlsTest, AServerTheCaDidNotSignIsRefused) {
  ChannelOptions options = Options(StartServer(ServerTls(false)));
  options.tls_ca = dir_ + "/client.pem";  // a certificate, but not the server's CA
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  ASSERT_TRUE(channel.ok()) << channel.status();
  EXPECT_FALSE(Check(*channel).ok());
  EXPECT_THAT(health_.seen(), IsEmpty());
}

TEST(StatusCodeNameTest, NamesCodesAsTheApiSpellsThem) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::INVALID_ARGUMENT), "INVALID_ARGUMENT");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::FAILED_PRECONDITION), "FAILED_PRECONDITION");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::DO_NOT_USE), "UNKNOWN_CODE");
}

}  // namespace
}  // namespace callbackledger
