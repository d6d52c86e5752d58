// The table of malformed requests that tests/wire_test.cc sends to every RPC: one row per
// request, with the status code and the field name the server's answer must carry.
#ifndef CALLBACKLEDGER_TESTS_WIRE_TABLE_H_
#define CALLBACKLEDGER_TESTS_WIRE_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"

namespace callbackledger {
namespace e2e {

// A row of the table: one malformed request and what the server must answer.
struct Row {
  std::string rpc;      // "Service/Method"
  std::string what;     // what is wrong with the request
  std::string request;  // the serialized request
  grpc::StatusCode code;
  std::string names;  // a substring of the error message: the field; empty for gRPC's own
};

// What the table's requests refer to: made by a few valid calls before it runs.
struct WireSetup {
  uint64_t callerid_id = 0;          // limited, with credit and a recharge
  std::string reservation_id;        // open, on callerid_id, held by node "node-1"
  std::string callerids_page_token;  // a next_page_token of ListCallerIds
  std::string recharges_page_token;  // a next_page_token of ListRecharges
};

// Every row, for a server prepared as `setup` says.
std::vector<Row> MalformedRequests(const WireSetup& setup);

}  // namespace e2e
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_TESTS_WIRE_TABLE_H_
