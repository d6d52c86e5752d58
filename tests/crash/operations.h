// The crash test's operations: the kinds of request the load sends, an Operation (its
// request and, once acknowledged, its answer), the Client that sends operations and reads
// the log back on the channel of the current start, and which errors leave an outcome
// unknown. Also the helpers the other parts share: money strings, the list of violations.
#ifndef CALLBACKLEDGER_TESTS_CRASH_OPERATIONS_H_
#define CALLBACKLEDGER_TESTS_CRASH_OPERATIONS_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "callbackledger/v1/caller_ids.grpc.pb.h"
#include "callbackledger/v1/credit.grpc.pb.h"
#include "callbackledger/v1/events.grpc.pb.h"
#include "clients/pbx_client.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"

namespace callbackledger::crash_test {

// A money string of the ledger's, in micros: 0 when empty, INT64_MIN when it does not
// parse.
int64_t Micros(const std::string& money);

// `cents` as a money string ("-1.05").
std::string Money(int64_t cents);

// A thread-safe list of what went wrong.
class Violations {
 public:
  void Add(std::string what) {
    absl::MutexLock lock(&mu_);
    std::fprintf(stderr, "VIOLATION: %s\n", what.c_str());
    list_.push_back(std::move(what));
  }
  std::vector<std::string> list() const {
    absl::MutexLock lock(&mu_);
    return list_;
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return list_.size();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> list_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------------------------------------
// Operations and how to send them.

enum class Kind { kAddCallerId, kAddCredit, kReserve, kExtend, kSettle, kRelease };

const char* KindName(Kind kind);

// One operation: its kind, its request (which carries its idempotency key) and, once
// acknowledged, its answer.
struct Operation {
  Kind kind;
  std::shared_ptr<const ::google::protobuf::Message> request;
  std::shared_ptr<const ::google::protobuf::Message> reply;
  int round = 0;  // the round it was acknowledged in

  std::string Describe() const {
    return absl::StrCat(KindName(kind), "(", request->ShortDebugString(), ")");
  }
};

struct Answer {
  grpc::Status status;
  std::unique_ptr<::google::protobuf::Message> reply;
};

// The client side of one round: the stubs on the channel of the current start.
class Client {
 public:
  explicit Client(std::shared_ptr<grpc::Channel> channel);

  Answer Send(const Operation& op);

  grpc::Status ReadEvents(uint64_t from, v1::ReadEventsResponse* page);

  grpc::Status GetCallerId(uint64_t id, v1::CallerId* callerid);

  // The last sequence number of the log, or nullopt.
  std::optional<uint64_t> LastSequence();

 private:
  static PbxClientOptions PbxOptions();

  template <typename Reply, typename Fn>
  static Answer Unary(Fn call);

  template <typename Reply>
  static Answer Pbx(CallResult<Reply> result);

  std::unique_ptr<v1::CallerIds::Stub> caller_ids_;
  std::unique_ptr<v1::Credit::Stub> credit_;
  std::unique_ptr<v1::Events::Stub> events_;
  PbxClient pbx_;
};

// Whether an error leaves the outcome unknown (the server died or was not reached).
bool OutcomeUnknown(const grpc::Status& status);

}  // namespace callbackledger::crash_test

#endif  // CALLBACKLEDGER_TESTS_CRASH_OPERATIONS_H_
