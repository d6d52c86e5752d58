#include "server/parse_errors.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace callbackledger {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr absl::string_view kOurPrefix = "/callbackledger.";

class ParseErrorInterceptor final : public grpc::experimental::Interceptor {
 public:
  // `method` is gRPC's, alive as long as the RPC and so as this interceptor. The request type
  // is looked up only for the status it rewrites: every other RPC pays no lookup.
  explicit ParseErrorInterceptor(const char* method) : method_(method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
          status.error_message().empty()) {
        const std::string request_type = RequestTypeOf(method_);
        if (!request_type.empty()) {
          methods->ModifySendStatus(grpc::Status(
              grpc::StatusCode::INVALID_ARGUMENT,
              absl::StrCat("request: not a valid ", request_type,
                           " message (its bytes do not parse: a truncated message, a bad wire "
                           "type or a string that is not UTF-8)")));
        }
      }
    }
    methods->Proceed();
  }

 private:
  const char* const method_;
};

class ParseErrorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    if (method == nullptr || !absl::StartsWith(method, kOurPrefix)) return nullptr;  // not ours
    return new ParseErrorInterceptor(method);
  }
};

}  // namespace

std::string RequestTypeOf(const char* method_path) {
  if (method_path == nullptr) return "";
  std::string name(method_path);
  if (!absl::StartsWith(name, kOurPrefix)) return "";
  name.erase(0, 1);
  size_t slash = name.find('/');
  if (slash == std::string::npos) return "";
  name[slash] = '.';
  const google::protobuf::MethodDescriptor* method =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
  return method == nullptr ? "" : method->input_type()->full_name();
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewParseErrorFactory() {
  return std::make_unique<ParseErrorFactory>();
}

}  // namespace callbackledger
