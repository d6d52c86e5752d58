// Requests whose bytes do not parse. gRPC's callback server answers them UNIMPLEMENTED
// with an empty message before any handler runs; for the ledger's own methods that is
// malformed input, which SPEC answers INVALID_ARGUMENT. This interceptor rewrites exactly
// that status (no handler of ours answers UNIMPLEMENTED) into INVALID_ARGUMENT naming the
// request type. Unknown methods stay UNIMPLEMENTED.
#ifndef CALLBACKLEDGER_SERVER_PARSE_ERRORS_H_
#define CALLBACKLEDGER_SERVER_PARSE_ERRORS_H_

#include <memory>
#include <string>

#include "grpcpp/support/server_interceptor.h"

namespace callbackledger {

// The request type of a gRPC method path ("/callbackledger.v1.Calls/Reserve" →
// "callbackledger.v1.ReserveRequest"); empty when the method is not one of ours.
std::string RequestTypeOf(const char* method_path);

// For grpc::ServerBuilder::experimental().SetInterceptorCreators(); put it first.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewParseErrorFactory();

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_PARSE_ERRORS_H_
