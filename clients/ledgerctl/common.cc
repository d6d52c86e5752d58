#include "clients/ledgerctl/common.h"

#include <cctype>
#include <cstdio>
#include <ctime>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "clients/channel.h"
#include "google/protobuf/util/time_util.h"

namespace callbackledger {
namespace ctl {

int Fail(const std::string& command, int exit_code, const std::string& message) {
  std::fprintf(stderr, "ledgerctl %s: %s\n", command.c_str(), message.c_str());
  return exit_code;
}

bool IsUnreachable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

namespace {

// What the operator can do about a refusal.
std::string Hint(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "fix the value the message names and run the command again";
    case grpc::StatusCode::NOT_FOUND:
      return "`ledgerctl list --extension EXT` shows the CallerIDs and their ids";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "the number is already listed in the extension (`ledgerctl list --extension EXT "
             "--number NUMBER` finds it), or the request id was used before with other values";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "`ledgerctl license --extension EXT` shows the limits: disable unused "
             "CallerIDs, or raise the license or the extension's limit (`ledgerctl policy`); "
             "a DISABLED CallerID can always be added";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "a rule of the ledger forbids this change now; nothing was written";
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return "this server requires credentials or a role that allows this request";
    default:
      return "";
  }
}

}  // namespace

std::string DescribeRpcError(const grpc::Status& status) {
  return absl::StrCat(StatusCodeName(status.error_code()), ": ", status.error_message());
}

int RpcFailed(const std::string& command, const Globals& globals, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return Fail(command, kExitUnreachable,
                absl::StrCat("ledgerd at ", globals.server, " did not answer within ",
                             globals.timeout_seconds,
                             " s (DEADLINE_EXCEEDED): check the server, "
                             "or raise --timeout"));
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    const std::string& message = status.error_message();
    const bool not_connected = absl::StrContains(message, "failed to connect") ||
                               absl::StrContains(message, "Connection refused") ||
                               absl::StrContains(message, "DNS resolution failed") ||
                               message.empty();
    if (not_connected) {
      return Fail(
          command, kExitUnreachable,
          absl::StrCat("cannot reach ledgerd at ", globals.server, " (UNAVAILABLE: ", message,
                       "): is it running? Give its address with --server or "
                       "LEDGERCTL_SERVER"));
    }
    return Fail(command, kExitUnreachable,
                absl::StrCat("ledgerd at ", globals.server,
                             " is unavailable (UNAVAILABLE: ", message, "); try again shortly"));
  }
  std::string text = absl::StrCat("the server refused: ", DescribeRpcError(status));
  const std::string hint = Hint(status.error_code());
  if (!hint.empty()) absl::StrAppend(&text, "\n  hint: ", hint);
  return Fail(command, kExitRefused, text);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const Globals& globals) {
  grpc::ChannelArguments arguments;
  // Operators' shells often export http_proxy; ledgerd is reached directly.
  arguments.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  arguments.SetMaxReceiveMessageSize(64 << 20);
  return MakeChannelFromFlags(globals.channel_flags, globals.server, arguments);
}

Connection::Connection(const Globals& globals)
    : timeout_(static_cast<int64_t>(globals.timeout_seconds * 1000)), channel_(globals.channel) {
  caller_ids_ = v1::CallerIds::NewStub(channel_);
  credit_ = v1::Credit::NewStub(channel_);
  reports_ = v1::Reports::NewStub(channel_);
  events_ = v1::Events::NewStub(channel_);
  if (globals.currency.empty() && globals.output == OutputFormat::kTable) {
    // Tables show money with the server's currency; scripts get the bare amounts.
    v1::LicenseUsage usage;
    std::unique_ptr<grpc::ClientContext> context = NewContext();
    if (caller_ids_->GetLicenseUsage(context.get(), v1::GetLicenseUsageRequest(), &usage).ok()) {
      globals.currency = usage.currency();
    }
  }
}

std::unique_ptr<grpc::ClientContext> Connection::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout_);
  return context;
}

std::unique_ptr<grpc::ClientContext> Connection::NewStreamContext() const {
  return std::make_unique<grpc::ClientContext>();
}

std::string CheckServerAddress(const std::string& server) {
  if (server.empty()) return "--server: empty; give host:port, e.g. 127.0.0.1:50051";
  if (absl::StrContains(server, "://")) {
    return absl::StrCat("--server: \"", server,
                        "\" has a scheme; give host:port, e.g. 127.0.0.1:50051");
  }
  const size_t colon = server.rfind(':');
  if (colon == std::string::npos || colon + 1 == server.size()) {
    return absl::StrCat("--server: \"", server, "\" has no port; give host:port, e.g. ", server,
                        ":50051");
  }
  for (size_t i = colon + 1; i < server.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(server[i]))) {
      return absl::StrCat("--server: \"", server,
                          "\" has a port that is not a number; give host:port");
    }
  }
  return "";
}

int64_t ToUnixMicros(const google::protobuf::Timestamp& timestamp) {
  return timestamp.seconds() * 1000000 + timestamp.nanos() / 1000;
}

std::string Rfc3339(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "";
  return google::protobuf::util::TimeUtil::ToString(timestamp);
}

std::string HumanTime(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "";
  const std::time_t seconds = static_cast<std::time_t>(timestamp.seconds());
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M:%S", &utc);
  return buffer;
}

bool ParseTimeArgument(const std::string& text, google::protobuf::Timestamp* out) {
  std::string rfc3339 = text;
  if (rfc3339.size() == 10) rfc3339 += "T00:00:00Z";  // a date alone
  if (rfc3339.size() > 10 && rfc3339[10] == ' ') rfc3339[10] = 'T';
  // No offset given: UTC.
  const bool has_offset =
      !rfc3339.empty() && (rfc3339.back() == 'Z' || rfc3339.back() == 'z' ||
                           (rfc3339.size() > 19 && (rfc3339.find('+', 19) != std::string::npos ||
                                                    rfc3339.find('-', 19) != std::string::npos)));
  if (!has_offset) rfc3339 += "Z";
  return google::protobuf::util::TimeUtil::FromString(rfc3339, out);
}

std::string WithCurrency(const Globals& globals, const std::string& money) {
  if (globals.currency.empty() || money.empty() || money == "unlimited") return money;
  return absl::StrCat(money, " ", globals.currency);
}

std::string MoneyTitle(const Globals& globals, const std::string& title) {
  if (globals.currency.empty()) return title;
  return absl::StrCat(title, " (", globals.currency, ")");
}

bool ParseStatus(const std::string& text, v1::CallerId::Status* status) {
  std::string upper;
  for (char c : text) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "ENABLED") {
    *status = v1::CallerId::ENABLED;
    return true;
  }
  if (upper == "DISABLED") {
    *status = v1::CallerId::DISABLED;
    return true;
  }
  return false;
}

const char* StatusName(v1::CallerId::Status status) {
  switch (status) {
    case v1::CallerId::ENABLED:
      return "ENABLED";
    case v1::CallerId::DISABLED:
      return "DISABLED";
    default:
      return "UNSPECIFIED";
  }
}

std::string Thousands(uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace ctl
}  // namespace callbackledger
