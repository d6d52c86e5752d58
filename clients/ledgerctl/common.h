// Shared pieces of ledgerctl: global options, exit codes, the connection to ledgerd and
// how server errors are reported.
#ifndef CALLBACKLEDGER_CLIENTS_LEDGERCTL_COMMON_H_
#define CALLBACKLEDGER_CLIENTS_LEDGERCTL_COMMON_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "callbackledger/v1/caller_ids.grpc.pb.h"
#include "callbackledger/v1/credit.grpc.pb.h"
#include "callbackledger/v1/events.grpc.pb.h"
#include "callbackledger/v1/reports.grpc.pb.h"
#include "clients/channel_flags.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/grpcpp.h"

namespace callbackledger {
namespace ctl {

// The exit codes of every subcommand but verify (see ledgerctl.cc).
inline constexpr int kExitOk = 0;
// The server refused the request (or, for import, some rows were not imported).
inline constexpr int kExitRefused = 1;
// Bad usage: a missing or malformed option, an unreadable file, a bad CSV header.
inline constexpr int kExitUsage = 2;
// The server could not be reached or did not answer in time.
inline constexpr int kExitUnreachable = 3;

enum class OutputFormat { kTable, kJson, kCsv };

// The options every subcommand takes.
struct Globals {
  std::string server = "127.0.0.1:50051";
  double timeout_seconds = 10;
  OutputFormat output = OutputFormat::kTable;
  // Shown beside money in tables. When not given, the server's own (GetLicenseUsage names
  // it) is filled in on connecting.
  mutable std::string currency;
  bool no_progress = false;
  // --tls_ca, --tls_cert, --tls_key, --token_file, and the channel main() makes of them.
  ChannelFlags channel_flags;
  std::shared_ptr<grpc::Channel> channel;
};

// The channel to --server that the channel flags describe; an error message on failure.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const Globals& globals);

// Prints "ledgerctl <command>: <message>" on stderr and returns `exit_code`.
int Fail(const std::string& command, int exit_code, const std::string& message);

// Whether a failed RPC means the server was not reached or did not answer (exit code 3).
bool IsUnreachable(const grpc::Status& status);

// Reports a failed RPC on stderr, with the code, the server's message and a hint on what
// to do, and returns the exit code: kExitUnreachable or kExitRefused.
int RpcFailed(const std::string& command, const Globals& globals, const grpc::Status& status);

// The message RpcFailed prints, without the command name (for import's per-row report).
std::string DescribeRpcError(const grpc::Status& status);

// The stubs of the operators' services on the channel OpenChannel() made. Every RPC made through
// NewContext() carries the --timeout deadline.
class Connection {
 public:
  explicit Connection(const Globals& globals);

  std::unique_ptr<grpc::ClientContext> NewContext() const;
  // A context without a deadline, for streams that follow the log.
  std::unique_ptr<grpc::ClientContext> NewStreamContext() const;

  v1::CallerIds::Stub* caller_ids() const { return caller_ids_.get(); }
  v1::Credit::Stub* credit() const { return credit_.get(); }
  v1::Reports::Stub* reports() const { return reports_.get(); }
  v1::Events::Stub* events() const { return events_.get(); }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  std::chrono::milliseconds timeout_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::CallerIds::Stub> caller_ids_;
  std::unique_ptr<v1::Credit::Stub> credit_;
  std::unique_ptr<v1::Reports::Stub> reports_;
  std::unique_ptr<v1::Events::Stub> events_;
};

// Calls a unary RPC with the --timeout deadline.
template <typename Stub, typename Request, typename Response>
grpc::Status Call(const Connection& connection, Stub* stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                  const Request& request, Response* response) {
  std::unique_ptr<grpc::ClientContext> context = connection.NewContext();
  return (stub->*method)(context.get(), request, response);
}

// Checks the form of --server (host:port, no scheme); returns an error message or "".
std::string CheckServerAddress(const std::string& server);

// Timestamps.
int64_t ToUnixMicros(const google::protobuf::Timestamp& timestamp);
// RFC 3339 in UTC as the API's JSON shows it: "2026-11-27T10:12:03.673178Z"; "" when unset.
std::string Rfc3339(const google::protobuf::Timestamp& timestamp);
// For people: "2026-11-27 10:12:03" (UTC); "" when unset.
std::string HumanTime(const google::protobuf::Timestamp& timestamp);
// Parses "2026-11-27", "2026-11-27T10:12:03Z" or "2026-11-27 10:12:03" (UTC unless an
// offset is given). Returns false on anything else.
bool ParseTimeArgument(const std::string& text, google::protobuf::Timestamp* out);

// Money from the server, for people: "10.50" or "10.50 USD" with --currency.
std::string WithCurrency(const Globals& globals, const std::string& money);
// A column title with the currency: "total credit (USD)", or the title alone.
std::string MoneyTitle(const Globals& globals, const std::string& title);

// "ENABLED"/"DISABLED" from text, case-insensitive; false for anything else.
bool ParseStatus(const std::string& text, v1::CallerId::Status* status);
const char* StatusName(v1::CallerId::Status status);

// "1,234,567".
std::string Thousands(uint64_t value);

}  // namespace ctl
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_CLIENTS_LEDGERCTL_COMMON_H_
