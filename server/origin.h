// The origin of a write as the ledger sees it: who calls and until when the answer is
// wanted, taken from the gRPC call.
#ifndef CALLBACKLEDGER_SERVER_ORIGIN_H_
#define CALLBACKLEDGER_SERVER_ORIGIN_H_

#include <string>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "ledger/ledger.h"

namespace callbackledger {

// The call's deadline, or `fallback` from now when the client set none
// (absl::InfiniteDuration(): no deadline).
absl::Time DeadlineOf(const grpc::CallbackServerContext* context, absl::Duration fallback);

// The caller (`actor`, the identity's name) and the call's deadline (DeadlineOf).
Origin OriginOf(const grpc::CallbackServerContext* context, const std::string& actor,
                absl::Duration fallback = absl::InfiniteDuration());

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_ORIGIN_H_
