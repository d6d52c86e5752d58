// The access check every RPC passes before anything else: who is calling (a bearer token
// or a verified client certificate, looked up in the access file) and whether their role
// may call the RPC; plus the per-identity rate of Authorize calls carrying a PIN.
//
// With no access file and no client CA configured, every caller is the local
// administrator "admin" (the local first run). Thread-safe.
#ifndef CALLBACKLEDGER_SERVER_ACCESS_H_
#define CALLBACKLEDGER_SERVER_ACCESS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/access_table.h"
#include "server/pin_rate_limiter.h"

namespace callbackledger {

struct AccessOptions {
  std::string access_file;           // empty: none
  bool client_certificates = false;  // mutual TLS is on
  double pin_attempts_per_second = 5;
  double pin_attempts_burst = 10;
};

class Access {
 public:
  explicit Access(AccessOptions options);

  // Reads the access file (if any). At start-up a failure is fatal; later, Reload() keeps
  // the previous table and logs why.
  absl::Status Load();
  absl::Status Reload();
  // Reloads when the file's modification time changed; looks at most once a second.
  void ReloadIfChanged(absl::Time now);

  // True when no credentials are configured: every caller is "admin".
  bool open() const { return options_.access_file.empty() && !options_.client_certificates; }

  // Who is calling, from the `authorization` metadata ("Bearer TOKEN", or nullopt when
  // absent) or else the verified certificate's CN (empty when none). UNAUTHENTICATED
  // when neither names a known identity.
  absl::StatusOr<Identity> Authenticate(std::optional<absl::string_view> authorization,
                                        absl::string_view certificate_cn);
  // Authenticate, then PERMISSION_DENIED unless the role may call `rpc` ("Calls.Reserve").
  absl::StatusOr<Identity> Check(std::optional<absl::string_view> authorization,
                                 absl::string_view certificate_cn, absl::string_view rpc);
  // The same, reading the call's metadata and peer certificate.
  absl::StatusOr<Identity> Check(grpc::CallbackServerContext* context, absl::string_view rpc);

  // RESOURCE_EXHAUSTED when `identity` got too many PINs wrong lately. Takes an attempt;
  // give it back with PinWasRight when the PIN was accepted. In the open mode (every
  // caller is the administrator, who may reset any PIN) there is no limit.
  absl::Status AllowPinAttempt(const Identity& identity, absl::Time now);
  void PinWasRight(const Identity& identity);

 private:
  std::shared_ptr<const AccessTable> table() const;

  const AccessOptions options_;
  PinRateLimiter pin_limiter_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const AccessTable> table_ ABSL_GUARDED_BY(mu_);
  absl::Time last_look_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time modified_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_ACCESS_H_
