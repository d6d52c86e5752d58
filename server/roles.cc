#include "server/roles.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace callbackledger {
namespace {

constexpr std::pair<absl::string_view, Role> kRoleNames[] = {{"pbx", Role::kPbx},
                                                             {"operator", Role::kOperator},
                                                             {"auditor", Role::kAuditor},
                                                             {"admin", Role::kAdmin}};

// The RPCs that change nothing; the auditor may call them.
constexpr absl::string_view kReadOnly[] = {"CallerIds.GetCallerId", "CallerIds.ListCallerIds",
                                           "CallerIds.GetLicenseUsage", "Credit.ListRecharges",
                                           "Reports.GetCostReport"};

bool IsReadOnly(absl::string_view rpc) {
  for (absl::string_view name : kReadOnly) {
    if (rpc == name) return true;
  }
  return false;
}

}  // namespace

absl::string_view RoleName(Role role) {
  for (const auto& [name, value] : kRoleNames) {
    if (value == role) return name;
  }
  return "unknown";
}

std::optional<Role> ParseRole(absl::string_view name) {
  for (const auto& [role_name, value] : kRoleNames) {
    if (role_name == name) return value;
  }
  return std::nullopt;
}

bool RoleMayCall(Role role, absl::string_view rpc) {
  switch (role) {
    case Role::kAdmin:
      return true;
    case Role::kPbx:
      return absl::StartsWith(rpc, "Calls.");
    case Role::kOperator:
      return absl::StartsWith(rpc, "CallerIds.") || absl::StartsWith(rpc, "Credit.") ||
             absl::StartsWith(rpc, "Reports.");
    case Role::kAuditor:
      return IsReadOnly(rpc) || absl::StartsWith(rpc, "Events.");
  }
  return false;
}

std::string RolesOf(absl::string_view rpc) {
  std::string roles;
  for (const auto& [name, role] : kRoleNames) {
    if (!RoleMayCall(role, rpc)) continue;
    absl::StrAppend(&roles, roles.empty() ? "" : ", ", name);
  }
  return roles;
}

}  // namespace callbackledger
