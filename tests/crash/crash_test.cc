// Crash test (SPEC section 5): client threads drive a mixed load against the real ledgerd
// (AddCallerId and AddCredit with request_id; Reserve, Extend with request_id, Settle and
// Release keyed by reservation_id) while the test kills the server with SIGKILL at random
// moments and restarts it on the same data directory, many times in a row.
//
// The client keeps every ACKNOWLEDGED operation (reply OK) with its key, its arguments and
// its answer. An operation whose outcome is unknown (the server died before answering) is
// retried with the same key and arguments after the restart, as a PBX node or an operator
// tool would; it counts as acknowledged once it is answered OK. After every restart:
//
//   - the event log has no gap (ReadEvents from 1 returns every sequence up to
//     last_sequence) and what an earlier check read of it is unchanged;
//   - every acknowledged operation is in the log, as answered (the recharge id is the
//     event's sequence, the amounts granted, charged and released are the event's);
//   - the acknowledged operations of the last round, those whose outcome was unknown, and
//     a random sample of the older ones are retried: each answers its first answer and
//     last_sequence does not move;
//   - money is conserved (derived from the log alone, for every CallerID): credit left =
//     recharges (initial credit included) - settled costs, available = credit left - open
//     holds >= 0, and every figure the ledger wrote in its events and answers with
//     GetCallerId agrees.
//
// At the end every acknowledged operation is retried once more, the server is stopped, and
// `ledgerctl verify` must find the projections equal to a replay of the log. The summary
// line reads
//   crash test: kills=20 operations_acknowledged=N operations_verified=M violations=0
// where M counts the retries after a crash that answered the first answer.
//
// Knobs: CRASH_SEED (the seed of the load and of the kill moments; printed), CRASH_KILLS
// (default 20; e.g. 500 for a soak), CRASH_SECONDS (time budget of the kill loop; default
// 60, or 6 s a kill when CRASH_KILLS is given). Kill timing depends on the machine, so a
// seed reproduces the choices, not the exact interleaving.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "callbackledger/v1/caller_ids.grpc.pb.h"
#include "callbackledger/v1/calls.grpc.pb.h"
#include "callbackledger/v1/credit.grpc.pb.h"
#include "callbackledger/v1/events.grpc.pb.h"
#include "clients/pbx_client.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ledger/money.h"
#include "tests/server_harness.h"

namespace callbackledger {
namespace {

using ::absl::StrCat;
using e2e::LedgerServer;
using e2e::ProcessResult;
using ::google::protobuf::Message;
using ::google::protobuf::util::MessageDifferencer;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kDefaultSeed = 20250105;
constexpr int kDefaultKills = 20;
constexpr int kDefaultSeconds = 60;
constexpr int kThreads = 3;
constexpr char kExt[] = "0003*005";
// Bounds of the load: requests a thread makes in one round, CallerIDs and open holds a
// thread keeps.
constexpr int kMaxOpsPerRound = 3000;
constexpr size_t kMaxCallerIdsPerThread = 4;
constexpr size_t kMaxOpenPerThread = 8;
// A round lasts this long (uniformly drawn, in ms) before the kill.
constexpr int kMinRoundMillis = 5;
constexpr int kMaxRoundMillis = 300;
// Older acknowledged operations retried after each restart.
constexpr size_t kRetrySample = 40;
constexpr auto kRpcTimeout = std::chrono::seconds(3);
constexpr size_t kMaxViolationsShown = 30;

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* value = getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtoull(value, nullptr, 0);
}

int64_t Micros(const std::string& money) {
  if (money.empty()) return 0;
  absl::StatusOr<int64_t> parsed = ParseMoney("money", money);
  return parsed.ok() ? *parsed : INT64_MIN;
}

std::string Money(int64_t cents) {
  std::string sign = cents < 0 ? "-" : "";
  cents = cents < 0 ? -cents : cents;
  return StrCat(sign, cents / 100, ".", cents % 100 < 10 ? "0" : "", cents % 100);
}

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

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kAddCallerId:
      return "AddCallerId";
    case Kind::kAddCredit:
      return "AddCredit";
    case Kind::kReserve:
      return "Reserve";
    case Kind::kExtend:
      return "Extend";
    case Kind::kSettle:
      return "Settle";
    case Kind::kRelease:
      return "Release";
  }
  return "?";
}

// One operation: its kind, its request (which carries its idempotency key) and, once
// acknowledged, its answer.
struct Operation {
  Kind kind;
  std::shared_ptr<const Message> request;
  std::shared_ptr<const Message> reply;
  int round = 0;  // the round it was acknowledged in

  std::string Describe() const {
    return StrCat(KindName(kind), "(", request->ShortDebugString(), ")");
  }
};

struct Answer {
  grpc::Status status;
  std::unique_ptr<Message> reply;
};

// The client side of one round: the stubs on the channel of the current start.
class Client {
 public:
  explicit Client(std::shared_ptr<grpc::Channel> channel)
      : caller_ids_(v1::CallerIds::NewStub(channel)),
        credit_(v1::Credit::NewStub(channel)),
        events_(v1::Events::NewStub(channel)),
        pbx_(channel, PbxOptions()) {}

  Answer Send(const Operation& op) {
    switch (op.kind) {
      case Kind::kAddCallerId:
        return Unary<v1::CallerId>(op, [&](grpc::ClientContext* context, v1::CallerId* reply) {
          return caller_ids_->AddCallerId(
              context, static_cast<const v1::AddCallerIdRequest&>(*op.request), reply);
        });
      case Kind::kAddCredit:
        return Unary<v1::Recharge>(op, [&](grpc::ClientContext* context, v1::Recharge* reply) {
          return credit_->AddCredit(context, static_cast<const v1::AddCreditRequest&>(*op.request),
                                    reply);
        });
      case Kind::kReserve:
        return Pbx(pbx_.Reserve(static_cast<const v1::ReserveRequest&>(*op.request)));
      case Kind::kExtend:
        return Pbx(pbx_.Extend(static_cast<const v1::ExtendRequest&>(*op.request)));
      case Kind::kSettle:
        return Pbx(pbx_.Settle(static_cast<const v1::SettleRequest&>(*op.request)));
      case Kind::kRelease:
        return Pbx(pbx_.Release(static_cast<const v1::ReleaseRequest&>(*op.request)));
    }
    return Answer{grpc::Status(grpc::StatusCode::INTERNAL, "unknown kind"), nullptr};
  }

  grpc::Status ReadEvents(uint64_t from, v1::ReadEventsResponse* page) {
    v1::ReadEventsRequest request;
    request.set_from_sequence(from);
    request.set_page_size(1000);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
    return events_->ReadEvents(&context, request, page);
  }

  grpc::Status GetCallerId(uint64_t id, v1::CallerId* callerid) {
    v1::GetCallerIdRequest request;
    request.set_callerid_id(id);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
    return caller_ids_->GetCallerId(&context, request, callerid);
  }

  // The last sequence number of the log, or nullopt.
  std::optional<uint64_t> LastSequence() {
    v1::ReadEventsResponse page;
    v1::ReadEventsRequest request;
    request.set_from_sequence(UINT64_MAX / 2);
    request.set_page_size(1);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
    if (!events_->ReadEvents(&context, request, &page).ok()) return std::nullopt;
    return page.last_sequence();
  }

 private:
  static PbxClientOptions PbxOptions() {
    PbxClientOptions options;
    options.node_id = "crash-node";
    options.attempt_timeout = std::chrono::milliseconds(3000);
    options.max_attempts = 2;
    options.initial_backoff = std::chrono::milliseconds(20);
    return options;
  }

  template <typename Reply, typename Fn>
  static Answer Unary(const Operation& op, Fn call) {
    auto reply = std::make_unique<Reply>();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
    grpc::Status status = call(&context, reply.get());
    return Answer{status, std::move(reply)};
  }

  template <typename Reply>
  static Answer Pbx(CallResult<Reply> result) {
    return Answer{result.status, std::make_unique<Reply>(std::move(result.reply))};
  }

  std::unique_ptr<v1::CallerIds::Stub> caller_ids_;
  std::unique_ptr<v1::Credit::Stub> credit_;
  std::unique_ptr<v1::Events::Stub> events_;
  PbxClient pbx_;
};

// Whether an error leaves the outcome unknown (the server died or was not reached).
bool OutcomeUnknown(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::ABORTED:
      return true;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------
// The load.

// Acknowledged operations, shared by the threads.
class Journal {
 public:
  void Add(Operation op) {
    absl::MutexLock lock(&mu_);
    ops_.push_back(std::move(op));
  }
  std::vector<Operation> ops() const {
    absl::MutexLock lock(&mu_);
    return ops_;
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return ops_.size();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Operation> ops_ ABSL_GUARDED_BY(mu_);
};

// One client thread: its own CallerIDs and reservations, so that its requests never
// conflict with another thread's; every key unique.
class Worker {
 public:
  Worker(int index, uint64_t seed, Journal* journal, Violations* violations)
      : index_(index), random_(seed), journal_(journal), violations_(violations) {}

  // Runs one round: first the operation whose outcome the last round left unknown, then
  // new ones, until `stop`, a request that fails (the server is gone), or the bound.
  void Round(int round, std::shared_ptr<grpc::Channel> channel, const std::atomic<bool>& stop) {
    round_ = round;
    Client client(std::move(channel));
    if (pending_.has_value()) {
      Operation op = *pending_;
      if (!Execute(&client, op)) return;
      ++pending_resolved_;
    }
    for (int i = 0; i < kMaxOpsPerRound && !stop.load(); ++i) {
      if (!Execute(&client, Next())) return;
    }
  }

  bool has_pending() const { return pending_.has_value(); }
  const std::optional<Operation>& pending() const { return pending_; }
  uint64_t pending_resolved() const { return pending_resolved_; }

 private:
  // Sends `op`. False when its outcome is unknown: it is kept to be retried.
  bool Execute(Client* client, Operation op) {
    Answer answer = client->Send(op);
    if (!answer.status.ok()) {
      if (OutcomeUnknown(answer.status)) {
        pending_ = std::move(op);
        return false;
      }
      pending_.reset();
      const bool expected =
          answer.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
          op.kind == Kind::kAddCredit;  // a withdrawal larger than what is available
      if (!expected) {
        violations_->Add(StrCat("round ", round_, ": ", op.Describe(), " was refused: ",
                                answer.status.error_code(), " ", answer.status.error_message()));
      }
      return true;
    }
    pending_.reset();
    op.reply = std::shared_ptr<const Message>(std::move(answer.reply));
    op.round = round_;
    Apply(op);
    return true;
  }

  // Folds an answered operation into what the thread knows, and journals it when it wrote.
  void Apply(const Operation& op) {
    bool wrote = true;
    switch (op.kind) {
      case Kind::kAddCallerId: {
        const auto& request = static_cast<const v1::AddCallerIdRequest&>(*op.request);
        const auto& reply = static_cast<const v1::CallerId&>(*op.reply);
        callerids_.push_back({reply.id(), request.callback_number()});
        break;
      }
      case Kind::kAddCredit:
        break;
      case Kind::kReserve: {
        const auto& reply = static_cast<const v1::ReserveResponse&>(*op.reply);
        wrote = reply.decision() == v1::ALLOWED;  // a denial writes nothing
        if (wrote) {
          const auto& request = static_cast<const v1::ReserveRequest&>(*op.request);
          open_.push_back(
              {request.reservation_id(), request.has_rate(), Micros(reply.granted_amount())});
        }
        break;
      }
      case Kind::kExtend: {
        const auto& reply = static_cast<const v1::ExtendResponse&>(*op.reply);
        wrote = reply.decision() == v1::ALLOWED;
        const auto& request = static_cast<const v1::ExtendRequest&>(*op.request);
        for (Open& open : open_) {
          if (open.id == request.reservation_id()) open.held = Micros(reply.held_amount());
        }
        break;
      }
      case Kind::kSettle:
      case Kind::kRelease: {
        const std::string& id =
            op.kind == Kind::kSettle
                ? static_cast<const v1::SettleRequest&>(*op.request).reservation_id()
                : static_cast<const v1::ReleaseRequest&>(*op.request).reservation_id();
        open_.erase(std::remove_if(open_.begin(), open_.end(),
                                   [&](const Open& open) { return open.id == id; }),
                    open_.end());
        break;
      }
    }
    if (wrote) journal_->Add(op);
  }

  int64_t Draw(int64_t min, int64_t max) {
    return min + static_cast<int64_t>(random_() % static_cast<uint64_t>(max - min + 1));
  }

  std::string NewKey() { return StrCat("t", index_, "-", next_key_++); }

  template <typename Request>
  Operation Make(Kind kind, std::shared_ptr<Request> request) {
    return Operation{kind, std::move(request), nullptr, 0};
  }

  Operation Next() {
    int choice = static_cast<int>(Draw(0, 99));
    if (callerids_.empty() || (choice < 4 && callerids_.size() < kMaxCallerIdsPerThread)) {
      auto request = std::make_shared<v1::AddCallerIdRequest>();
      request->set_extension(kExt);
      request->set_callback_number(StrCat("+4073", index_, 100000 + next_key_));
      request->set_initial_credit(Money(Draw(2000, 10000)));
      request->set_order_no(StrCat("order-", next_key_));
      request->set_request_id(NewKey());
      return Make(Kind::kAddCallerId, request);
    }
    const auto& [callerid_id, number] = callerids_[random_() % callerids_.size()];
    if (choice >= 50 && open_.empty()) choice = 30;
    if (choice < 22 || (choice < 50 && open_.size() >= kMaxOpenPerThread)) {
      auto request = std::make_shared<v1::AddCreditRequest>();
      if (Draw(0, 9) == 0) {
        request->set_extension(kExt);  // by number rather than by id
        request->set_callback_number(number);
      } else {
        request->set_callerid_id(callerid_id);
      }
      request->set_amount(Draw(0, 7) == 0 ? Money(-Draw(1, 300)) : Money(Draw(1, 3000)));
      request->set_description("crash test");
      request->set_request_id(NewKey());
      return Make(Kind::kAddCredit, request);
    }
    if (choice < 50) {
      auto request = std::make_shared<v1::ReserveRequest>();
      request->set_reservation_id(NewKey());
      request->set_extension(kExt);
      request->set_callback_number(number);
      if (Draw(0, 2) == 0) {
        request->mutable_rate()->set_price_per_minute("0.60");
        request->mutable_rate()->set_billing_increment_seconds(60);
        request->set_seconds(static_cast<uint64_t>(Draw(1, 5) * 60));
      } else {
        request->set_amount(Money(Draw(50, 500)));
      }
      request->set_ttl_seconds(86400);  // nothing expires during the test
      request->set_call_id(StrCat("call-", next_key_));
      request->set_destination("0040213100200");
      return Make(Kind::kReserve, request);
    }
    const Open& open = open_[random_() % open_.size()];
    if (choice < 65) {
      auto request = std::make_shared<v1::ExtendRequest>();
      request->set_reservation_id(open.id);
      if (open.rated) {
        request->set_seconds(60);
      } else {
        request->set_amount(Money(Draw(10, 200)));
      }
      request->set_request_id(NewKey());
      return Make(Kind::kExtend, request);
    }
    if (choice < 88) {
      auto request = std::make_shared<v1::SettleRequest>();
      request->set_reservation_id(open.id);
      if (open.rated && Draw(0, 1) == 0) {
        request->set_duration_seconds(static_cast<uint64_t>(Draw(0, 400)));
      } else {
        // Mostly within the hold; sometimes above it (then what is not available is
        // reported uncollected).
        int64_t held_cents = std::max<int64_t>(1, open.held / 10000);
        request->set_cost(Money(Draw(0, held_cents + held_cents / 4)));
      }
      return Make(Kind::kSettle, request);
    }
    auto request = std::make_shared<v1::ReleaseRequest>();
    request->set_reservation_id(open.id);
    return Make(Kind::kRelease, request);
  }

  struct Open {
    std::string id;
    bool rated = false;
    int64_t held = 0;  // micros
  };

  const int index_;
  std::mt19937_64 random_;
  Journal* const journal_;
  Violations* const violations_;
  int round_ = 0;
  uint64_t next_key_ = 0;
  std::vector<std::pair<uint64_t, std::string>> callerids_;
  std::vector<Open> open_;
  std::optional<Operation> pending_;
  uint64_t pending_resolved_ = 0;
};

// ---------------------------------------------------------------------------------------
// The checks after a restart.

// Money of one CallerID, derived from the log alone.
struct Balance {
  bool unlimited = false;
  int64_t recharges = 0;  // initial credit included
  int64_t settled = 0;
  int64_t held = 0;  // open holds that count against the credit
  uint32_t open = 0;
  int64_t credit_left() const { return recharges - settled; }
  int64_t available() const { return credit_left() - held; }
};

struct Hold {
  uint64_t callerid_id = 0;
  int64_t held = 0;
  bool counted = false;
  bool open = true;
};

class Checker {
 public:
  explicit Checker(Violations* violations) : violations_(violations) {}

  // Reads the whole log and checks it; false when it could not be read.
  bool ReadLog(Client* client, int round) {
    round_ = round;
    by_request_.clear();
    opened_.clear();
    closed_.clear();
    events_.clear();
    uint64_t last = 0;
    while (true) {
      v1::ReadEventsResponse page;
      grpc::Status status = client->ReadEvents(events_.size() + 1, &page);
      if (!status.ok()) {
        Violation(StrCat("ReadEvents failed: ", status.error_message()));
        return false;
      }
      last = page.last_sequence();
      for (const v1::Event& event : page.events()) {
        if (event.sequence() != events_.size() + 1) {
          Violation(
              StrCat("gap in the log: sequence ", event.sequence(), " follows ", events_.size()));
          return false;
        }
        events_.push_back(event);
      }
      if (page.events().empty() || events_.size() >= last) break;
    }
    if (events_.size() != last) {
      Violation(
          StrCat("ReadEvents returned ", events_.size(), " events but last_sequence is ", last));
    }
    // The log only grows: what an earlier check read of it is unchanged.
    if (events_.size() < seen_.size()) {
      Violation(StrCat("the log shrank from ", seen_.size(), " to ", events_.size(), " events"));
    }
    for (size_t i = 0; i < std::min(seen_.size(), events_.size()); ++i) {
      if (events_[i].SerializeAsString() != seen_[i]) {
        Violation(StrCat("event ", i + 1, " changed across a crash"));
        break;
      }
    }
    for (size_t i = seen_.size(); i < events_.size(); ++i) {
      seen_.push_back(events_[i].SerializeAsString());
    }
    for (const v1::Event& event : events_) {
      if (!event.request_id().empty()) by_request_[event.request_id()] = &event;
      if (event.has_reservation_opened()) {
        opened_[event.reservation_opened().reservation_id()] = &event;
      }
      if (event.has_reservation_settled()) {
        closed_[event.reservation_settled().reservation_id()] = &event;
      }
      if (event.has_reservation_released()) {
        closed_[event.reservation_released().reservation_id()] = &event;
      }
    }
    return true;
  }

  // Money conservation from the log, and the figures the ledger wrote in its events.
  void CheckMoney() {
    money_.clear();
    std::map<std::string, Hold> holds;
    for (const v1::Event& event : events_) {
      const std::string at = StrCat("event ", event.sequence(), ": ");
      if (event.has_caller_id_added()) {
        const v1::CallerIdAdded& added = event.caller_id_added();
        Balance& money = money_[added.callerid_id()];
        money.unlimited = added.unlimited();
        money.recharges = added.unlimited() ? 0 : added.initial_credit_micros();
      } else if (event.has_credit_added()) {
        const v1::CreditAdded& credit = event.credit_added();
        Balance& money = money_[credit.callerid_id()];
        if (money.unlimited) continue;  // the test adds only limited CallerIDs
        money.recharges += credit.amount_micros();
        Expect(at, "credit_left", credit.credit_left_micros(), money.credit_left());
        Expect(at, "total_credit", credit.total_credit_micros(), money.recharges);
        Expect(at, "available_after", credit.available_after_micros(), money.available());
        NotNegative(at, money);
      } else if (event.has_reservation_opened()) {
        const v1::ReservationOpened& opened = event.reservation_opened();
        Hold& hold = holds[opened.reservation_id()];
        hold = Hold{opened.callerid_id(), opened.granted_micros(), opened.counted(), true};
        Balance& money = money_[opened.callerid_id()];
        ++money.open;
        if (!opened.counted()) continue;
        money.held += opened.granted_micros();
        Expect(at, "available_after", opened.available_after_micros(), money.available());
        NotNegative(at, money);
      } else if (event.has_reservation_extended()) {
        const v1::ReservationExtended& extended = event.reservation_extended();
        Hold& hold = holds[extended.reservation_id()];
        if (!hold.open) Violation(StrCat(at, "extends a closed reservation"));
        hold.held += extended.granted_micros();
        Expect(at, "held_after", extended.held_after_micros(), hold.held);
        if (!extended.counted()) continue;
        Balance& money = money_[hold.callerid_id];
        money.held += extended.granted_micros();
        Expect(at, "available_after", extended.available_after_micros(), money.available());
        NotNegative(at, money);
      } else if (event.has_reservation_settled() || event.has_reservation_released()) {
        const bool settled = event.has_reservation_settled();
        const std::string& id = settled ? event.reservation_settled().reservation_id()
                                        : event.reservation_released().reservation_id();
        Hold& hold = holds[id];
        Balance& money = money_[hold.callerid_id];
        const int64_t released = settled ? event.reservation_settled().released_micros()
                                         : event.reservation_released().released_micros();
        if (hold.open) {
          Expect(at, "released", released, hold.held);
          if (hold.counted) money.held -= hold.held;
          --money.open;
          hold.open = false;
        } else if (released != 0) {
          Violation(StrCat(at, "releases ", released, " of a closed reservation"));
        }
        if (money.unlimited) continue;
        if (settled) {
          const v1::ReservationSettled& s = event.reservation_settled();
          money.settled += s.cost_micros();
          if (s.cost_micros() < 0 || s.uncollected_micros() < 0) {
            Violation(StrCat(at, "negative cost or uncollected"));
          }
          Expect(at, "credit_left_after", s.credit_left_after_micros(), money.credit_left());
          Expect(at, "available_after", s.available_after_micros(), money.available());
        } else {
          Expect(at, "available_after", event.reservation_released().available_after_micros(),
                 money.available());
        }
        NotNegative(at, money);
      } else if (event.has_caller_ids_removed()) {
        for (uint64_t id : event.caller_ids_removed().callerid_ids()) money_.erase(id);
      }
    }
  }

  // What the ledger answers for every CallerID agrees with the log.
  void CheckCallerIds(Client* client) {
    for (const auto& [id, money] : money_) {
      v1::CallerId callerid;
      grpc::Status status = client->GetCallerId(id, &callerid);
      if (!status.ok()) {
        Violation(StrCat("GetCallerId(", id, "): ", status.error_message()));
        continue;
      }
      const std::string at = StrCat("CallerID ", id, ": ");
      if (callerid.unlimited() != money.unlimited) Violation(StrCat(at, "unlimited differs"));
      if (callerid.open_reservations() != money.open) {
        Violation(StrCat(at, "open_reservations ", callerid.open_reservations(), ", the log says ",
                         money.open));
      }
      if (money.unlimited) continue;
      Expect(at, "credit_left", Micros(callerid.credit_left()), money.credit_left());
      Expect(at, "available_credit", Micros(callerid.available_credit()), money.available());
      Expect(at, "held_credit", Micros(callerid.held_credit()), money.held);
      Expect(at, "total_credit", Micros(callerid.total_credit()), money.recharges);
    }
  }

  // The event that recorded `op` (answered or not), or null.
  const v1::Event* FindEvent(const Operation& op) const {
    auto find = [](const std::map<std::string, const v1::Event*>& index,
                   const std::string& key) -> const v1::Event* {
      auto it = index.find(key);
      return it == index.end() ? nullptr : it->second;
    };
    switch (op.kind) {
      case Kind::kAddCallerId:
        return find(by_request_,
                    static_cast<const v1::AddCallerIdRequest&>(*op.request).request_id());
      case Kind::kAddCredit:
        return find(by_request_,
                    static_cast<const v1::AddCreditRequest&>(*op.request).request_id());
      case Kind::kReserve:
        return find(opened_, static_cast<const v1::ReserveRequest&>(*op.request).reservation_id());
      case Kind::kExtend: {
        const auto& request = static_cast<const v1::ExtendRequest&>(*op.request);
        return find(by_request_, StrCat(request.reservation_id(), "/", request.request_id()));
      }
      case Kind::kSettle:
        return find(closed_, static_cast<const v1::SettleRequest&>(*op.request).reservation_id());
      case Kind::kRelease:
        return find(closed_, static_cast<const v1::ReleaseRequest&>(*op.request).reservation_id());
    }
    return nullptr;
  }

  // Every acknowledged operation is in the log, as it was answered.
  void CheckAcknowledgedInLog(const std::vector<Operation>& ops) {
    for (const Operation& op : ops) {
      const v1::Event* event = FindEvent(op);
      if (event == nullptr) {
        Violation(
            StrCat("acknowledged in round ", op.round, " but not in the log: ", op.Describe()));
      } else if (!Agrees(op, *event)) {
        Violation(StrCat("acknowledged in round ", op.round, " as ", op.reply->ShortDebugString(),
                         " but the log has ", event->ShortDebugString()));
      }
    }
  }

  // Retries `ops` with the same keys and arguments: each answers its first answer, and
  // the log does not grow. Returns how many answered the same.
  uint64_t Retry(Client* client, const std::vector<const Operation*>& ops) {
    std::optional<uint64_t> before = client->LastSequence();
    uint64_t same = 0;
    for (const Operation* op : ops) {
      Answer answer = client->Send(*op);
      if (!answer.status.ok()) {
        Violation(StrCat("retry of ", op->Describe(), " failed: ", answer.status.error_code(), " ",
                         answer.status.error_message()));
      } else if (!MessageDifferencer::Equals(*answer.reply, *op->reply)) {
        Violation(StrCat("retry of ", op->Describe(), " answered ",
                         answer.reply->ShortDebugString(), ", first answer ",
                         op->reply->ShortDebugString()));
      } else {
        ++same;
      }
    }
    std::optional<uint64_t> after = client->LastSequence();
    if (!before.has_value() || !after.has_value() || *before != *after) {
      Violation(StrCat("retries of acknowledged operations moved last_sequence from ",
                       before.value_or(0), " to ", after.value_or(0)));
    }
    return same;
  }

  size_t events() const { return events_.size(); }
  size_t callerids() const { return money_.size(); }

 private:
  void Violation(const std::string& what) {
    violations_->Add(StrCat("round ", round_, ": ", what));
  }

  void Expect(const std::string& at, const char* what, int64_t actual, int64_t derived) {
    if (actual != derived) {
      Violation(StrCat(at, what, " is ", actual, " but the log gives ", derived));
    }
  }

  void NotNegative(const std::string& at, const Balance& money) {
    if (money.available() < 0) Violation(StrCat(at, "available credit ", money.available()));
  }

  // Whether the event says what the answer to `op` said.
  static bool Agrees(const Operation& op, const v1::Event& event) {
    switch (op.kind) {
      case Kind::kAddCallerId:
        return event.has_caller_id_added() && event.caller_id_added().callerid_id() ==
                                                  static_cast<const v1::CallerId&>(*op.reply).id();
      case Kind::kAddCredit: {
        const auto& reply = static_cast<const v1::Recharge&>(*op.reply);
        return event.has_credit_added() && event.sequence() == reply.id() &&
               event.credit_added().amount_micros() == Micros(reply.amount());
      }
      case Kind::kReserve:
        return event.reservation_opened().granted_micros() ==
               Micros(static_cast<const v1::ReserveResponse&>(*op.reply).granted_amount());
      case Kind::kExtend:
        return event.has_reservation_extended() &&
               event.reservation_extended().granted_micros() ==
                   Micros(static_cast<const v1::ExtendResponse&>(*op.reply).granted_amount());
      case Kind::kSettle:
        return event.has_reservation_settled() &&
               event.reservation_settled().cost_micros() ==
                   Micros(static_cast<const v1::SettleResponse&>(*op.reply).cost());
      case Kind::kRelease:
        return event.has_reservation_released() &&
               event.reservation_released().released_micros() ==
                   Micros(static_cast<const v1::ReleaseResponse&>(*op.reply).released_amount());
    }
    return false;
  }

  Violations* const violations_;
  int round_ = 0;
  std::vector<v1::Event> events_;
  // Indexes of events_: by request_id, and by reservation_id for openings and closings.
  std::map<std::string, const v1::Event*> by_request_, opened_, closed_;
  std::vector<std::string> seen_;  // the serialized events read by earlier checks
  std::map<uint64_t, Balance> money_;
};

TEST(CrashTest, AcknowledgedOperationsSurviveRepeatedKill9) {
  const uint64_t seed = EnvNumber("CRASH_SEED", kDefaultSeed);
  const bool soak = getenv("CRASH_KILLS") != nullptr;
  const int kills =
      static_cast<int>(std::max<uint64_t>(1, EnvNumber("CRASH_KILLS", kDefaultKills)));
  const int seconds = static_cast<int>(
      EnvNumber("CRASH_SECONDS", soak ? static_cast<uint64_t>(kills) * 6 : kDefaultSeconds));
  std::printf("crash test: seed=%llu kills=%d threads=%d budget=%ds (replay: CRASH_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), kills, kThreads, seconds,
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  SCOPED_TRACE(StrCat("CRASH_SEED=", seed));
  std::mt19937_64 random(seed);

  LedgerServer server;
  ASSERT_TRUE(server.Start().ok());
  Violations violations;
  Journal journal;
  Checker checker(&violations);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < kThreads; ++i) {
    workers.push_back(std::make_unique<Worker>(i, random(), &journal, &violations));
  }

  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(seconds);
  uint64_t verified = 0;
  size_t checked_ops = 0;  // journal entries retried after the round they were acknowledged
  int killed = 0;
  uint64_t committed_unanswered = 0;
  for (int round = 1; round <= kills; ++round) {
    if (Clock::now() >= deadline) {
      std::printf("crash test: time budget of %d s spent after %d kills\n", seconds, killed);
      break;
    }
    // A round of load, ended by kill -9 at a random moment.
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (auto& worker : workers) {
      threads.emplace_back(
          [&, w = worker.get(), channel = server.channel()] { w->Round(round, channel, stop); });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(
        kMinRoundMillis + random() % (kMaxRoundMillis - kMinRoundMillis)));
    const int code = server.Kill();
    stop = true;
    for (std::thread& thread : threads) thread.join();
    ASSERT_EQ(code, 128 + 9) << "ledgerd was not running at the kill; its log:\n" << server.Log();
    ++killed;

    absl::Status started = server.Start();
    ASSERT_TRUE(started.ok()) << "restart after kill " << round << ": " << started;
    Client client(server.channel());
    if (!checker.ReadLog(&client, round)) break;
    checker.CheckMoney();
    checker.CheckCallerIds(&client);
    std::vector<Operation> ops = journal.ops();
    checker.CheckAcknowledgedInLog(ops);
    // Retry what this round acknowledged, plus a sample of the older operations.
    std::vector<const Operation*> retry;
    for (size_t i = checked_ops; i < ops.size(); ++i) retry.push_back(&ops[i]);
    for (size_t i = 0; i < kRetrySample && checked_ops > 0; ++i) {
      retry.push_back(&ops[random() % checked_ops]);
    }
    checked_ops = ops.size();
    verified += checker.Retry(&client, retry);
    // The kill came between the commit and the answer: made durable, never answered. The
    // next round retries it and must get the first answer.
    for (auto& worker : workers) {
      if (worker->pending().has_value() && checker.FindEvent(*worker->pending()) != nullptr) {
        ++committed_unanswered;
      }
    }
    if (soak && round % 50 == 0) {
      std::printf("crash test: %d kills, %zu operations acknowledged, %zu violations\n", round,
                  ops.size(), violations.size());
      std::fflush(stdout);
    }
    if (violations.size() > 0 && !soak) break;  // the first round that fails tells the most
  }

  // The operations the last kill left with an unknown outcome are retried until answered;
  // then the log holds exactly the changes the clients were told about: one event for each
  // acknowledged operation that writes, nothing else.
  {
    std::atomic<bool> stop{true};
    for (auto& worker : workers) {
      worker->Round(killed + 1, server.channel(), stop);
      if (worker->has_pending()) violations.Add("a retry after the last restart failed");
    }
  }
  // Every acknowledged operation, retried once more; then the projections are verified.
  {
    Client client(server.channel());
    std::vector<Operation> ops = journal.ops();
    if (checker.ReadLog(&client, killed + 1)) {
      checker.CheckMoney();
      checker.CheckCallerIds(&client);
      checker.CheckAcknowledgedInLog(ops);
      if (checker.events() != ops.size()) {
        violations.Add(StrCat("the log holds ", checker.events(), " events but ", ops.size(),
                              " acknowledged operations wrote one each"));
      }
    }
    std::vector<const Operation*> all;
    for (const Operation& op : ops) all.push_back(&op);
    verified += checker.Retry(&client, all);
  }
  EXPECT_EQ(server.Stop(), 0) << server.Log();
  ProcessResult verify = e2e::RunLedgerctl({"verify", "--data_dir", server.data_dir()});
  if (verify.exit_code != 0 || !absl::StrContains(verify.out, "differences: 0")) {
    violations.Add(StrCat("ledgerctl verify: ", verify.Describe()));
  }

  uint64_t resolved = 0;
  for (auto& worker : workers) resolved += worker->pending_resolved();
  std::printf(
      "crash test: events=%zu callerids=%zu unknown_outcomes_retried=%llu "
      "committed_but_unanswered_at_kill=%llu\n",
      checker.events(), checker.callerids(), static_cast<unsigned long long>(resolved),
      static_cast<unsigned long long>(committed_unanswered));
  std::printf(
      "crash test: kills=%d operations_acknowledged=%zu operations_verified=%llu "
      "violations=%zu\n",
      killed, journal.size(), static_cast<unsigned long long>(verified), violations.size());
  std::fflush(stdout);
  std::vector<std::string> list = violations.list();
  std::string shown;
  for (size_t i = 0; i < list.size() && i < kMaxViolationsShown; ++i) {
    absl::StrAppend(&shown, list[i], "\n");
  }
  EXPECT_EQ(list.size(), 0u) << shown;
  EXPECT_GT(journal.size(), 0u);
}

}  // namespace
}  // namespace callbackledger
