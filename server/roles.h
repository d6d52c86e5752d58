// Roles and which RPCs each may call. The one table every RPC is checked against.
#ifndef CALLBACKLEDGER_SERVER_ROLES_H_
#define CALLBACKLEDGER_SERVER_ROLES_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace callbackledger {

// pbx: Calls.*; operator: CallerIds.*, Credit.*, Reports.*; auditor: the read-only RPCs
// and Events.*; admin: everything.
enum class Role { kPbx, kOperator, kAuditor, kAdmin };

// "pbx", "operator", "auditor" or "admin".
absl::string_view RoleName(Role role);
std::optional<Role> ParseRole(absl::string_view name);

// Whether `role` may call `rpc`, named "Service.Method" (e.g. "Calls.Reserve"). An RPC
// missing from the table is for admin only.
bool RoleMayCall(Role role, absl::string_view rpc);

// The roles that may call `rpc`, e.g. "operator, auditor, admin" (for error messages).
std::string RolesOf(absl::string_view rpc);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_ROLES_H_
