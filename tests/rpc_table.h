// Every RPC of callbackledger.v1, each with a valid request that would change or read
// something were it allowed: the rows of the security tests' role matrix.
#ifndef CALLBACKLEDGER_TESTS_RPC_TABLE_H_
#define CALLBACKLEDGER_TESTS_RPC_TABLE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"

namespace callbackledger {
namespace e2e {

// What the requests refer to: an existing CallerID.
struct RpcTarget {
  std::string extension;
  std::string callback_number;
  uint64_t callerid_id = 0;
};

struct RpcRow {
  std::string rpc;                 // "Service.Method"
  std::vector<std::string> roles;  // the roles that may call it (admin always may)
  std::function<grpc::Status(const std::shared_ptr<grpc::Channel>&, grpc::ClientContext*,
                             const RpcTarget&)>
      call;
};

// All of them, WatchEvents included (its status is the stream's).
const std::vector<RpcRow>& AllRpcs();

}  // namespace e2e
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_TESTS_RPC_TABLE_H_
