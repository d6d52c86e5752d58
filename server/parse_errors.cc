#include "server/parse_errors.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace callbackledger {
namespace {

using grpc::experimental::InterceptionHookPoints;

class ParseErrorInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ParseErrorInterceptor(std::string request_type)
      : request_type_(std::move(request_type)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
          status.error_message().empty()) {
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("request: not a valid ", request_type_,
                         " message (its bytes do not parse: a truncated message, a bad wire type "
                         "or a string that is not UTF-8)")));
      }
    }
    methods->Proceed();
  }

 private:
  const std::string request_type_;
};

class ParseErrorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    std::string request_type = RequestTypeOf(info->method());
    if (request_type.empty()) return nullptr;  // not ours: left alone
    return new ParseErrorInterceptor(std::move(request_type));
  }
};

}  // namespace

std::string RequestTypeOf(const char* method_path) {
  if (method_path == nullptr) return "";
  std::string name(method_path);
  if (!absl::StartsWith(name, "/callbackledger.")) return "";
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
