// Hand-made request bytes for any RPC of a server: the protobuf wire encoding of single
// fields, and a call that sends such bytes through grpc::GenericStub, so that a test can
// send what no generated stub would (invalid UTF-8, truncated or garbage messages, unknown
// fields, out-of-range varints).
#ifndef CALLBACKLEDGER_TESTS_WIRE_CALL_H_
#define CALLBACKLEDGER_TESTS_WIRE_CALL_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "grpcpp/grpcpp.h"

namespace callbackledger {
namespace e2e {

// Field `number` as a varint (wire type 0) holding `value`. A negative int32 or int64 is
// the 10-byte varint of its two's complement, as protobuf encodes it.
std::string VarintField(int number, uint64_t value);

// Field `number` as a length-delimited record (wire type 2): strings, bytes and messages.
std::string LengthField(int number, std::string_view bytes);

// Sends `request` as the one request message of `method` ("/package.Service/Rpc") and
// half-closes, then reads one reply into `reply` (when not null). With `server_stream` the
// call is cancelled after that first reply, and the status is CANCELLED unless the server
// had already ended the call. `deadline` bounds the call (it may be in the past); the wait
// for the outcome is bounded by it plus a few seconds.
grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::string& request, std::chrono::system_clock::time_point deadline,
                     std::string* reply = nullptr, bool server_stream = false);

}  // namespace e2e
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_TESTS_WIRE_CALL_H_
