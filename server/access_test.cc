#include "server/access.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/access_table.h"
#include "server/pin_rate_limiter.h"
#include "server/roles.h"

namespace callbackledger {
namespace {

std::string HashLine(const std::string& name, const std::string& role, const std::string& token) {
  const TokenHash hash = HashToken(token);
  return absl::StrCat("token ", name, " ", role,
                      " sha256:", absl::BytesToHexString(std::string(hash.begin(), hash.end())),
                      "\n");
}

class TempFile {
 public:
  TempFile() {
    std::string pattern = ::testing::TempDir() + "access_test.XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back(0);
    int fd = mkstemp(name.data());
    if (fd >= 0) close(fd);
    path_ = name.data();
  }
  ~TempFile() { std::remove(path_.c_str()); }
  void Write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(HashToken, MatchesSha256sum) {
  // printf abc | sha256sum
  const TokenHash hash = HashToken("abc");
  EXPECT_EQ(absl::BytesToHexString(std::string(hash.begin(), hash.end())),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AccessTable, FindsTokensAndCertificates) {
  absl::StatusOr<AccessTable> table =
      AccessTable::Parse("# operators\n" + HashLine("ops-alice", "operator", "s3cret") +
                         "cert pbx-node-2 pbx   # a certificate\n\n");
  ASSERT_TRUE(table.ok()) << table.status();
  std::optional<Identity> alice = table->FindToken("s3cret");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->name, "ops-alice");
  EXPECT_EQ(alice->role, Role::kOperator);
  EXPECT_FALSE(table->FindToken("s3cret ").has_value());
  EXPECT_FALSE(table->FindToken("ops-alice").has_value());
  std::optional<Identity> node = table->FindCertificate("pbx-node-2");
  ASSERT_TRUE(node.has_value());
  EXPECT_EQ(node->role, Role::kPbx);
  EXPECT_FALSE(table->FindCertificate("ops-alice").has_value());
}

TEST(AccessTable, RejectsBadLinesNamingTheLine) {
  const std::string good = HashLine("a", "admin", "x");
  struct Case {
    std::string text;
    std::string error;
  } cases[] = {
      {good + "tokn b admin sha256:00\n", "line 2: unknown entry \"tokn\""},
      {good + "cert b boss\n", "line 2: unknown role \"boss\""},
      {good + "cert a pbx\n", "line 2: name \"a\" is given twice"},
      {"token b admin 1234\n", "line 1: the token hash must start with \"sha256:\""},
      {"token b admin sha256:12\n", "line 1: the token hash must be 64 hexadecimal digits"},
      {"cert b\n", "line 1: a cert line is"},
      {"cert b/c pbx\n", "line 1: name \"b/c\" must be"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<AccessTable> table = AccessTable::Parse(c.text);
    ASSERT_FALSE(table.ok()) << c.text;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(table.status().message().find(c.error), std::string::npos)
        << table.status().message();
  }
}

TEST(Roles, EachRoleCallsItsOwnRpcsOnly) {
  EXPECT_TRUE(RoleMayCall(Role::kPbx, "Calls.Reserve"));
  EXPECT_FALSE(RoleMayCall(Role::kPbx, "CallerIds.GetCallerId"));
  EXPECT_FALSE(RoleMayCall(Role::kPbx, "Events.ReadEvents"));
  EXPECT_TRUE(RoleMayCall(Role::kOperator, "CallerIds.AddCallerId"));
  EXPECT_TRUE(RoleMayCall(Role::kOperator, "Credit.AddCredit"));
  EXPECT_TRUE(RoleMayCall(Role::kOperator, "Reports.GetCostReport"));
  EXPECT_FALSE(RoleMayCall(Role::kOperator, "Calls.Authorize"));
  EXPECT_FALSE(RoleMayCall(Role::kOperator, "Events.WatchEvents"));
  EXPECT_TRUE(RoleMayCall(Role::kAuditor, "CallerIds.ListCallerIds"));
  EXPECT_TRUE(RoleMayCall(Role::kAuditor, "Events.WatchEvents"));
  EXPECT_FALSE(RoleMayCall(Role::kAuditor, "CallerIds.AddCallerId"));
  EXPECT_FALSE(RoleMayCall(Role::kAuditor, "CallerIds.SetExtensionPolicy"));
  EXPECT_FALSE(RoleMayCall(Role::kAuditor, "Credit.AddCredit"));
  EXPECT_FALSE(RoleMayCall(Role::kAuditor, "Calls.Authorize"));
  EXPECT_TRUE(RoleMayCall(Role::kAdmin, "Calls.SyncReservations"));
  EXPECT_EQ(RolesOf("Credit.ListRecharges"), "operator, auditor, admin");
}

TEST(Access, OpenWhenNothingIsConfigured) {
  Access access(AccessOptions{});
  ASSERT_TRUE(access.Load().ok());
  absl::StatusOr<Identity> who = access.Check(std::nullopt, "", "CallerIds.AddCallerId");
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->name, "admin");
}

TEST(Access, ChecksCredentialsThenRole) {
  TempFile file;
  file.Write(HashLine("ops", "operator", "tok-ops") + "cert node-a pbx\n");
  Access access(AccessOptions{file.path(), true});
  ASSERT_TRUE(access.Load().ok());
  EXPECT_EQ(access.Check(std::nullopt, "", "Calls.Reserve").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(access.Check("Bearer nope", "", "Calls.Reserve").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(access.Check("tok-ops", "", "Calls.Reserve").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(access.Check(std::nullopt, "stranger", "Calls.Reserve").status().code(),
            absl::StatusCode::kUnauthenticated);
  absl::StatusOr<Identity> node = access.Check(std::nullopt, "node-a", "Calls.Reserve");
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ(node->name, "node-a");
  absl::Status denied = access.Check("Bearer tok-ops", "node-a", "Calls.Reserve").status();
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.message(),
            "ops (role operator) may not call Calls.Reserve; it is for: pbx, admin");
  EXPECT_TRUE(access.Check("Bearer tok-ops", "", "Credit.AddCredit").ok());
}

TEST(Access, ReloadKeepsThePreviousTableWhenTheFileIsBad) {
  TempFile file;
  file.Write(HashLine("ops", "operator", "old"));
  Access access(AccessOptions{file.path()});
  ASSERT_TRUE(access.Load().ok());
  file.Write("token broken\n");
  EXPECT_FALSE(access.Reload().ok());
  EXPECT_TRUE(access.Check("Bearer old", "", "Credit.AddCredit").ok());
  file.Write(HashLine("ops", "operator", "new"));
  EXPECT_TRUE(access.Reload().ok());
  EXPECT_FALSE(access.Check("Bearer old", "", "Credit.AddCredit").ok());
  EXPECT_TRUE(access.Check("Bearer new", "", "Credit.AddCredit").ok());
}

TEST(Access, ReloadsWhenTheModificationTimeChanges) {
  TempFile file;
  file.Write(HashLine("ops", "operator", "old"));
  Access access(AccessOptions{file.path()});
  ASSERT_TRUE(access.Load().ok());
  file.Write(HashLine("ops", "operator", "new"));
  // Make the change visible however coarse the file system's clock is.
  struct timespec times[2] = {{0, UTIME_OMIT}, {1, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, file.path().c_str(), times, 0), 0);
  const absl::Time now = absl::Now();
  access.ReloadIfChanged(now);
  EXPECT_TRUE(access.Check("Bearer new", "", "Credit.AddCredit").ok());
  // At most one look a second.
  file.Write(HashLine("ops", "operator", "newer"));
  access.ReloadIfChanged(now + absl::Milliseconds(500));
  EXPECT_TRUE(access.Check("Bearer new", "", "Credit.AddCredit").ok());
}

TEST(Access, MissingFileIsAnError) {
  Access access(AccessOptions{"/nonexistent/access"});
  absl::Status loaded = access.Load();
  EXPECT_EQ(loaded.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(loaded.message().find("--access_file: cannot read /nonexistent/access"),
            std::string::npos);
}

TEST(PinRateLimiter, BurstThenRatePerIdentity) {
  PinRateLimiter limiter(/*per_second=*/2, /*burst=*/3);
  const absl::Time start = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("a", start)) << i;
  EXPECT_FALSE(limiter.Allow("a", start));
  EXPECT_TRUE(limiter.Allow("b", start));  // another identity has its own bucket
  EXPECT_TRUE(limiter.Allow("a", start + absl::Milliseconds(500)));
  EXPECT_FALSE(limiter.Allow("a", start + absl::Milliseconds(500)));
  // Refills up to the burst, never beyond.
  const absl::Time later = start + absl::Hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("a", later)) << i;
  EXPECT_FALSE(limiter.Allow("a", later));
}

TEST(Access, PinRateLimitMessageSaysSo) {
  Access access(AccessOptions{"", /*client_certificates=*/true, 1, 1});
  const Identity node{"node-a", Role::kPbx};
  const absl::Time now = absl::FromUnixSeconds(1000);
  EXPECT_TRUE(access.AllowPinAttempt(node, now).ok());
  absl::Status refused = access.AllowPinAttempt(node, now);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("too many Authorize calls with a wrong PIN from node-a"),
            std::string::npos);
}

TEST(Access, RightPinsGiveTheirAttemptBack) {
  Access access(AccessOptions{"", /*client_certificates=*/true, 1, 2});
  const Identity node{"node-a", Role::kPbx};
  const absl::Time now = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(access.AllowPinAttempt(node, now).ok()) << i;
    access.PinWasRight(node);
  }
  // Wrong ones are not given back: the burst of two, then refused.
  EXPECT_TRUE(access.AllowPinAttempt(node, now).ok());
  EXPECT_TRUE(access.AllowPinAttempt(node, now).ok());
  EXPECT_FALSE(access.AllowPinAttempt(node, now).ok());
  // A right PIN after the burst cannot refill beyond it.
  access.PinWasRight(node);
  access.PinWasRight(node);
  access.PinWasRight(node);
  EXPECT_TRUE(access.AllowPinAttempt(node, now).ok());
  EXPECT_TRUE(access.AllowPinAttempt(node, now).ok());
  EXPECT_FALSE(access.AllowPinAttempt(node, now).ok());
}

TEST(Access, OpenModeHasNoPinRateLimit) {
  // Every caller is the administrator, who may reset any PIN anyway.
  Access access(AccessOptions{"", false, 1, 1});
  const Identity admin{"admin", Role::kAdmin};
  const absl::Time now = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(access.AllowPinAttempt(admin, now).ok()) << i;
}

}  // namespace
}  // namespace callbackledger
