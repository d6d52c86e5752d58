#include "server/origin.h"

#include "grpc/support/time.h"

namespace callbackledger {

absl::Time DeadlineOf(const grpc::CallbackServerContext* context, absl::Duration fallback) {
  gpr_timespec raw = context->raw_deadline();
  if (gpr_time_cmp(raw, gpr_inf_future(raw.clock_type)) != 0) {
    return absl::FromChrono(context->deadline());
  }
  if (fallback == absl::InfiniteDuration()) return absl::InfiniteFuture();
  return absl::Now() + fallback;
}

Origin OriginOf(const grpc::CallbackServerContext* context, const std::string& actor,
                absl::Duration fallback) {
  return Origin(actor, DeadlineOf(context, fallback));
}

}  // namespace callbackledger
