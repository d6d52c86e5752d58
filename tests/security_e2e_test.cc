// Security of ledgerd end to end: TLS and mutual TLS, identities and roles, the PBX node
// binding, request size and PIN rate limits, and secrets kept out of logs and events.
// Certificates are made at test time by scripts/make-test-certs.sh.
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/caller_ids.grpc.pb.h"
#include "callbackledger/v1/calls.grpc.pb.h"
#include "callbackledger/v1/credit.grpc.pb.h"
#include "callbackledger/v1/events.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/rpc_table.h"
#include "tests/security_clients.h"
#include "tests/server_harness.h"

namespace callbackledger {
namespace e2e {
namespace {

using Channel = std::shared_ptr<grpc::Channel>;

constexpr char kExtension[] = "0003*005";
constexpr char kNumber[] = "+15550001";
constexpr char kPin[] = "73914682";
constexpr char kWrongPin[] = "19283746";
constexpr char kOpsToken[] = "ops-token-5f1c0a9e7d3b4c2a";
constexpr char kPbxToken[] = "pbx-token-8e2d4b6a1c9f7e3d";
constexpr int kPinBurst = 6;
constexpr int kMaxRequestBytes = 65536;

// The role each client certificate of make-test-certs.sh is given (stranger: none).
const std::map<std::string, std::string> kCertificateRoles = {{"pbx-node-a", "pbx"},
                                                              {"pbx-node-b", "pbx"},
                                                              {"ops", "operator"},
                                                              {"audit", "auditor"},
                                                              {"admin", "admin"}};

// One mutual-TLS ledgerd shared by the tests of this suite.
class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new LedgerServer();
    certs_ = new std::string(server_->dir() + "/certs");
    ASSERT_TRUE(MakeTestCerts(*certs_).ok());
    std::string access = "# the test's identities\n";
    for (const auto& [name, role] : kCertificateRoles) {
      absl::StrAppend(&access, "cert ", name, " ", role, "\n");
    }
    access += TokenLine("ops-alice", "operator", kOpsToken);
    access += TokenLine("pbx-token", "pbx", kPbxToken);
    std::ofstream(server_->dir() + "/access") << access;
    server_->UseChannelCredentials(TlsCredentials(*certs_, "admin"));
    absl::Status started = server_->Start(
        {"--tls_cert=" + *certs_ + "/server.pem", "--tls_key=" + *certs_ + "/server.key",
         "--tls_client_ca=" + *certs_ + "/ca.pem", "--access_file=" + server_->dir() + "/access",
         absl::StrCat("--max_request_bytes=", kMaxRequestBytes), "--pin_max_attempts=3",
         "--authorize_pin_rate=0.001", absl::StrCat("--authorize_pin_burst=", kPinBurst),
         "--log_level=debug"});
    ASSERT_TRUE(started.ok()) << started;
    target_ = new RpcTarget{kExtension, kNumber, AddCallerId(kNumber, kPin)};
    // An open reservation of pbx-node-a, which Extend, Settle, Release and
    // SyncReservations would change.
    v1::ReserveRequest reserve;
    reserve.set_reservation_id("matrix-open");
    reserve.set_extension(kExtension);
    reserve.set_callback_number(kNumber);
    reserve.set_amount("2");
    v1::ReserveResponse reserved;
    grpc::Status status =
        v1::Calls::NewStub(As("pbx-node-a"))->Reserve(ContextWith().get(), reserve, &reserved);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete certs_;
    delete target_;
  }

  // A channel presenting the client certificate `name` (no certificate when empty).
  static Channel As(const std::string& name) {
    return server_->NewChannel(TlsCredentials(*certs_, name));
  }
  static Channel Admin() { return As("admin"); }

  static uint64_t AddCallerId(const std::string& number, const std::string& pin) {
    v1::AddCallerIdRequest request;
    request.set_extension(kExtension);
    request.set_callback_number(number);
    request.set_pin(pin);
    request.set_initial_credit("100");
    v1::CallerId added;
    grpc::Status status =
        v1::CallerIds::NewStub(Admin())->AddCallerId(ContextWith().get(), request, &added);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return added.id();
  }

  // Authorize with `pin` for `number`, as `channel` (and `token`, when set).
  static grpc::Status Authorize(const Channel& channel, const std::string& number,
                                const std::string& pin, v1::AuthorizeResponse* response,
                                const std::string& token = "") {
    v1::AuthorizeRequest request;
    request.set_extension(kExtension);
    request.set_callback_number(number);
    request.set_pin(pin);
    return v1::Calls::NewStub(channel)->Authorize(ContextWith(token).get(), request, response);
  }

  // Every event of the log, as admin.
  static std::vector<v1::Event> AllEvents() {
    std::vector<v1::Event> events;
    v1::ReadEventsRequest request;
    request.set_from_sequence(1);
    request.set_page_size(1000);
    v1::ReadEventsResponse response;
    grpc::Status status =
        v1::Events::NewStub(Admin())->ReadEvents(ContextWith().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    events.assign(response.events().begin(), response.events().end());
    return events;
  }

  static LedgerServer* server_;
  static std::string* certs_;
  static RpcTarget* target_;
};

LedgerServer* SecurityTest::server_ = nullptr;
std::string* SecurityTest::certs_ = nullptr;
RpcTarget* SecurityTest::target_ = nullptr;

TEST_F(SecurityTest, EachRoleIsDeniedTheRpcsOfEveryOtherRoleAndNothingIsWritten) {
  const Channel admin = Admin();
  int denied = 0;
  for (const RpcRow& row : AllRpcs()) {
    for (const auto& [certificate, role] : kCertificateRoles) {
      if (role == "admin" || absl::c_linear_search(row.roles, role)) continue;
      const uint64_t before = LastSequence(admin);
      grpc::Status status = row.call(As(certificate), ContextWith().get(), *target_);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << row.rpc << " as " << role << ": " << status.error_message();
      EXPECT_TRUE(absl::StrContains(status.error_message(), row.rpc)) << status.error_message();
      EXPECT_EQ(LastSequence(admin), before) << row.rpc << " as " << role << " wrote events";
      ++denied;
    }
    // A token holder's role counts the same as a certificate's.
    if (!absl::c_linear_search(row.roles, "operator")) {
      grpc::Status status = row.call(As("stranger"), ContextWith(kOpsToken).get(), *target_);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << row.rpc;
    }
  }
  // 5 operator writes x 3 (two pbx nodes, auditor) + 5 reads x 2 (pbx nodes) + 2 Events x 3
  // (pbx nodes, operator) + 6 Calls x 2 (operator, auditor).
  EXPECT_EQ(denied, 15 + 10 + 6 + 12);
}

TEST_F(SecurityTest, EachRoleReachesTheRpcsOfItsOwnTable) {
  // Every read-only row (reads, Events) as the auditor: allowed, and changes nothing.
  const uint64_t before = LastSequence(Admin());
  for (const RpcRow& row : AllRpcs()) {
    if (!absl::c_linear_search(row.roles, "auditor")) continue;
    grpc::Status status = row.call(As("audit"), ContextWith().get(), *target_);
    // WatchEvents is cancelled by the client once its first event arrives.
    EXPECT_TRUE(status.ok() || status.error_code() == grpc::StatusCode::CANCELLED)
        << row.rpc << ": " << status.error_message();
  }
  EXPECT_EQ(LastSequence(Admin()), before);
  // A pbx token holder and a pbx certificate both reach Calls.
  v1::AuthorizeResponse response;
  EXPECT_TRUE(Authorize(As("stranger"), kNumber, "", &response, kPbxToken).ok());
  EXPECT_TRUE(Authorize(As("pbx-node-a"), kNumber, "", &response).ok());
  EXPECT_EQ(response.decision(), v1::PIN_REQUIRED);
}

TEST_F(SecurityTest, CallersWithoutAKnownIdentityAreUnauthenticatedForEveryRpc) {
  const uint64_t before = LastSequence(Admin());
  for (const RpcRow& row : AllRpcs()) {
    // A certificate the CA signed but the access file does not list, with no token.
    grpc::Status status = row.call(As("stranger"), ContextWith().get(), *target_);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << row.rpc;
    status = row.call(As("stranger"), ContextWith("not-a-token").get(), *target_);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << row.rpc;
  }
  EXPECT_EQ(LastSequence(Admin()), before);
  // Health stays open to anyone who completes the handshake.
  EXPECT_TRUE(CheckHealth(As("stranger")).ok());
}

TEST_F(SecurityTest, EventsRecordTheIdentityThatCausedThem) {
  v1::AddCreditRequest request;
  request.set_callerid_id(target_->callerid_id);
  request.set_amount("1");
  v1::Recharge recharge;
  ASSERT_TRUE(
      v1::Credit::NewStub(As("ops"))->AddCredit(ContextWith().get(), request, &recharge).ok());
  EXPECT_EQ(AllEvents().back().actor(), "ops");
  ASSERT_TRUE(v1::Credit::NewStub(As("stranger"))
                  ->AddCredit(ContextWith(kOpsToken).get(), request, &recharge)
                  .ok());
  EXPECT_EQ(AllEvents().back().actor(), "ops-alice");
}

TEST_F(SecurityTest, APbxNodeActsForItselfOnly) {
  v1::ReserveRequest request;
  request.set_reservation_id("bound-1");
  request.set_extension(kExtension);
  request.set_callback_number(kNumber);
  request.set_amount("1");
  request.set_node_id("pbx-node-b");
  v1::ReserveResponse response;
  const uint64_t before = LastSequence(Admin());
  grpc::Status status =
      v1::Calls::NewStub(As("pbx-node-a"))->Reserve(ContextWith().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "node_id pbx-node-b is not yours"))
      << status.error_message();
  EXPECT_EQ(LastSequence(Admin()), before);

  request.clear_node_id();  // filled with the caller's identity
  status = v1::Calls::NewStub(As("pbx-node-b"))->Reserve(ContextWith().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const v1::Event opened = AllEvents().back();
  EXPECT_EQ(opened.actor(), "pbx-node-b");
  EXPECT_EQ(opened.reservation_opened().node_id(), "pbx-node-b");

  v1::ReleaseRequest release;  // admin may act for any node
  release.set_reservation_id("bound-1");
  release.set_node_id("pbx-node-b");
  v1::ReleaseResponse released;
  status = v1::Calls::NewStub(Admin())->Release(ContextWith().get(), release, &released);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(SecurityTest, PlaintextClientCannotTalkToTheTlsServer) {
  grpc::Status status = CheckHealth(server_->NewChannel(grpc::InsecureChannelCredentials()));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(SecurityTest, ClientWithoutATrustedCertificateFailsTheHandshake) {
  EXPECT_EQ(CheckHealth(As("")).error_code(), grpc::StatusCode::UNAVAILABLE);
  // Signed by an unrelated CA (CN=admin all the same).
  Channel other = server_->NewChannel(TlsCredentials(*certs_, "other-client"));
  EXPECT_EQ(CheckHealth(other).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(CheckHealth(Admin()).ok());
}

TEST_F(SecurityTest, OversizedRequestIsRefusedAndNothingIsWritten) {
  v1::AddCallerIdRequest request;
  request.set_extension(kExtension);
  request.set_callback_number("+15550099");
  request.set_order_no(std::string(kMaxRequestBytes + 1, 'x'));
  v1::CallerId added;
  const uint64_t before = LastSequence(Admin());
  grpc::Status status =
      v1::CallerIds::NewStub(As("ops"))->AddCallerId(ContextWith().get(), request, &added);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_EQ(LastSequence(Admin()), before);
  EXPECT_TRUE(CheckHealth(Admin()).ok());  // and the server keeps serving
}

TEST_F(SecurityTest, WrongPinStormLocksTheCallerIdAndIsRateLimited) {
  const std::string number = "+15550002";
  AddCallerId(number, "58203917");
  const Channel node = As("pbx-node-b");
  v1::AuthorizeResponse response;
  for (int i = 0; i < kPinBurst; ++i) {  // the burst: each attempt is checked and counted
    ASSERT_TRUE(Authorize(node, number, kWrongPin, &response).ok()) << i;
  }
  EXPECT_EQ(response.decision(), v1::PIN_LOCKED);  // --pin_max_attempts=3
  const uint64_t before = LastSequence(Admin());
  for (int i = 0; i < 2 * kPinBurst; ++i) {  // beyond it: refused before any check
    grpc::Status status = Authorize(node, number, kWrongPin, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_TRUE(
        absl::StrContains(status.error_message(), "too many Authorize calls with a wrong PIN"))
        << status.error_message();
  }
  EXPECT_EQ(LastSequence(Admin()), before);
  // Locked for everyone, the right PIN included, until an operator resets it.
  ASSERT_TRUE(Authorize(Admin(), number, "58203917", &response).ok());
  EXPECT_EQ(response.decision(), v1::PIN_LOCKED);
}

TEST_F(SecurityTest, RightPinsAreNeverRateLimited) {
  // Only wrong PINs count against an identity: a busy node whose callers type their PINs
  // correctly goes far beyond the burst.
  v1::AuthorizeResponse response;
  for (int i = 0; i < 3 * kPinBurst; ++i) {
    grpc::Status status = Authorize(As("pbx-node-a"), kNumber, kPin, &response);
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
    EXPECT_EQ(response.decision(), v1::ALLOWED) << i;
  }
}

TEST_F(SecurityTest, TokensAndPinsNeverAppearInLogsOrEvents) {
  v1::AuthorizeResponse response;
  ASSERT_TRUE(Authorize(As("stranger"), kNumber, kWrongPin, &response, kPbxToken).ok());
  ASSERT_TRUE(Authorize(As("stranger"), kNumber, kPin, &response, kPbxToken).ok());
  EXPECT_EQ(response.decision(), v1::ALLOWED);
  v1::CallerId caller;
  v1::GetCallerIdRequest get;
  get.set_id(target_->callerid_id);
  ASSERT_TRUE(v1::CallerIds::NewStub(As("stranger"))
                  ->GetCallerId(ContextWith(kOpsToken).get(), get, &caller)
                  .ok());
  // A token that is not valid is not logged either.
  EXPECT_FALSE(v1::CallerIds::NewStub(As("stranger"))
                   ->GetCallerId(ContextWith("wrong-token-3c7a9b").get(), get, &caller)
                   .ok());
  std::string events;
  for (const v1::Event& event : AllEvents()) events += event.DebugString();
  const std::string log = server_->Log();
  ASSERT_TRUE(absl::StrContains(log, "RPC answered"));  // debug lines were written
  for (const char* secret :
       {kOpsToken, kPbxToken, kPin, kWrongPin, "58203917", "wrong-token-3c7a9b"}) {
    EXPECT_FALSE(absl::StrContains(log, secret)) << secret << " is in ledgerd's log";
    EXPECT_FALSE(absl::StrContains(events, secret)) << secret << " is in the events";
  }
}

}  // namespace
}  // namespace e2e
}  // namespace callbackledger
