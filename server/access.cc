#include "server/access.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/log.h"

namespace callbackledger {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

// The file's modification time, or InfinitePast() when it cannot be read.
absl::Time ModificationTime(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return absl::InfinitePast();
  return absl::TimeFromTimespec(info.st_mtim);
}

absl::StatusOr<AccessTable> ReadTable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--access_file: cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  absl::StatusOr<AccessTable> table = AccessTable::Parse(text.str());
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--access_file ", path, ": ", table.status().message()));
  }
  return table;
}

absl::string_view ToView(grpc::string_ref ref) { return absl::string_view(ref.data(), ref.size()); }

}  // namespace

Access::Access(AccessOptions options)
    : options_(std::move(options)),
      pin_limiter_(options_.pin_attempts_per_second, options_.pin_attempts_burst),
      table_(std::make_shared<AccessTable>()) {}

absl::Status Access::Load() {
  if (options_.access_file.empty()) return absl::OkStatus();
  const absl::Time modified = ModificationTime(options_.access_file);
  absl::StatusOr<AccessTable> table = ReadTable(options_.access_file);
  if (!table.ok()) return table.status();
  const size_t entries = table->size();
  absl::MutexLock lock(&mu_);
  table_ = std::make_shared<const AccessTable>(*std::move(table));
  modified_ = modified;
  Log(LogLevel::kInfo, "access_loaded",
      "access file loaded:", {{"access_file", options_.access_file}, {"identities", entries}});
  return absl::OkStatus();
}

absl::Status Access::Reload() {
  absl::Status loaded = Load();
  if (!loaded.ok()) {
    Log(LogLevel::kError, "access_reload_failed",
        "access file not reloaded, the previous identities stay in force:",
        {{"error", loaded.message()}});
  }
  return loaded;
}

void Access::ReloadIfChanged(absl::Time now) {
  if (options_.access_file.empty()) return;
  {
    absl::MutexLock lock(&mu_);
    if (now - last_look_ < absl::Seconds(1)) return;
    last_look_ = now;
  }
  const absl::Time modified = ModificationTime(options_.access_file);
  {
    absl::MutexLock lock(&mu_);
    if (modified == modified_) return;
    // Tried once per change: a broken file is not re-read every second.
    modified_ = modified;
  }
  Reload().IgnoreError();
}

std::shared_ptr<const AccessTable> Access::table() const {
  absl::MutexLock lock(&mu_);
  return table_;
}

absl::StatusOr<Identity> Access::Authenticate(std::optional<absl::string_view> authorization,
                                              absl::string_view certificate_cn) {
  if (open()) return Identity{"admin", Role::kAdmin};
  std::shared_ptr<const AccessTable> table = this->table();
  if (authorization.has_value()) {
    if (!absl::StartsWith(*authorization, kBearer) || authorization->size() == kBearer.size()) {
      return absl::UnauthenticatedError("the authorization metadata must be \"Bearer <token>\"");
    }
    std::optional<Identity> identity = table->FindToken(authorization->substr(kBearer.size()));
    if (!identity.has_value()) {
      return absl::UnauthenticatedError("the bearer token is not valid (unknown or revoked)");
    }
    return *identity;
  }
  if (!certificate_cn.empty()) {
    std::optional<Identity> identity = table->FindCertificate(certificate_cn);
    if (!identity.has_value()) {
      return absl::UnauthenticatedError(absl::StrCat(
          "the client certificate's CN \"", certificate_cn, "\" is not in the access file"));
    }
    return *identity;
  }
  return absl::UnauthenticatedError(
      "no credentials: send \"authorization: Bearer <token>\" metadata or a client certificate");
}

absl::StatusOr<Identity> Access::Check(std::optional<absl::string_view> authorization,
                                       absl::string_view certificate_cn, absl::string_view rpc) {
  absl::StatusOr<Identity> identity = Authenticate(authorization, certificate_cn);
  if (!identity.ok()) return identity;
  if (!RoleMayCall(identity->role, rpc)) {
    return absl::PermissionDeniedError(absl::StrCat(identity->name, " (role ",
                                                    RoleName(identity->role), ") may not call ",
                                                    rpc, "; it is for: ", RolesOf(rpc)));
  }
  return identity;
}

absl::StatusOr<Identity> Access::Check(grpc::CallbackServerContext* context,
                                       absl::string_view rpc) {
  // Open: every caller is the administrator, whatever it sends (Authenticate).
  if (open()) return Check(std::nullopt, {}, rpc);
  ReloadIfChanged(absl::Now());
  std::optional<absl::string_view> authorization;
  const auto& metadata = context->client_metadata();
  if (auto found = metadata.find("authorization"); found != metadata.end()) {
    authorization = ToView(found->second);
  }
  std::string certificate_cn;
  // A token wins over a certificate (Authenticate): the certificate is read only without.
  std::shared_ptr<const grpc::AuthContext> auth =
      authorization.has_value() ? nullptr : context->auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    std::vector<grpc::string_ref> names = auth->FindPropertyValues("x509_common_name");
    if (!names.empty()) certificate_cn = std::string(ToView(names.front()));
  }
  return Check(authorization, certificate_cn, rpc);
}

absl::Status Access::AllowPinAttempt(const Identity& identity, absl::Time now) {
  if (open() || pin_limiter_.Allow(identity.name, now)) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("too many Authorize calls with a wrong PIN from ", identity.name, ": at most ",
                   pin_limiter_.per_second(), " a second (burst ", pin_limiter_.burst(),
                   ", --authorize_pin_rate); nothing was checked, retry later"));
}

void Access::PinWasRight(const Identity& identity) {
  if (!open()) pin_limiter_.Refund(identity.name);
}

}  // namespace callbackledger
