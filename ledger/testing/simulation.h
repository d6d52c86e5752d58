// The call-credit simulation that ledger/simulation_test.cc runs: a reference model of
// CallerIDs, reservations and prices, and Simulation, which runs the random operations of one
// seed against a real Ledger and checks every answer against the model. Simulation's members
// are defined in simulation.cc (the run, reports, the model and its checks, the end),
// simulation_operations.cc (the operations) and simulation_random.cc (the random operations).
#ifndef CALLBACKLEDGER_LEDGER_TESTING_SIMULATION_H_
#define CALLBACKLEDGER_LEDGER_TESTING_SIMULATION_H_

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/calls.pb.h"
#include "callbackledger/v1/common.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "projections/state.h"

namespace callbackledger::simulation {

inline constexpr int64_t kStartMicros = 1700000000000000;  // 2023-11-14T22:13:20Z
inline constexpr int64_t kMicrosPerSecond = 1000000;
inline constexpr int64_t kUnit = 1000000;  // one unit of the currency, in micros
inline constexpr char kActor[] = "simulation";
inline constexpr char kExt[] = "0003*005";
inline constexpr char kUnknownNumber[] = "+19990000000";
inline constexpr uint32_t kLicense = 4;
inline constexpr uint32_t kPinMaxAttempts = 3;
inline constexpr uint32_t kDefaultTtl = 300;
inline constexpr uint64_t kDaySeconds = 86400;
inline constexpr size_t kMaxCallerIds = 8;
inline constexpr int kDefaultSteps = 2000;
inline constexpr int kStepsAfterReopen = 60;
inline constexpr uint64_t kDefaultSeeds[] = {20240917, 1, 2};
inline const char* const kNodes[] = {"node-a", "node-b", "node-c"};

// Draws from std::mt19937_64 (whose output the standard fixes) with our own bounded
// arithmetic, so a seed gives the same run with every standard library.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, n), n > 0 (rejection sampling: no modulo bias).
  uint64_t Below(uint64_t n) {
    const uint64_t max = std::numeric_limits<uint64_t>::max();
    const uint64_t limit = max - max % n;
    uint64_t x = engine_();
    while (x >= limit) x = engine_();
    return x % n;
  }
  // Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool Percent(int percent) { return Below(100) < static_cast<uint64_t>(percent); }

 private:
  std::mt19937_64 engine_;
};

// Money as the API takes it, written independently of FormatMoney: all six decimals, or
// (trim) without trailing zeros. With 6 configured decimals, untrimmed is also exactly how
// replies show money.
inline std::string MoneyText(int64_t micros, bool trim) {
  const uint64_t magnitude =
      micros < 0 ? uint64_t{0} - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  std::string fraction = std::to_string(magnitude % kUnit);
  fraction.insert(0, 6 - fraction.size(), '0');
  if (trim) {
    while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  }
  std::string out = micros < 0 ? "-" : "";
  out += std::to_string(magnitude / kUnit);
  if (!fraction.empty()) out += "." + fraction;
  return out;
}

inline std::string Shown(int64_t micros) { return MoneyText(micros, false); }

// The reference model of pricing (SPEC section 3, ledger/pricing.h): a connect fee, a price
// per minute, billing in whole increments, a minimum billed duration; a fraction of a micro
// is rounded up.
struct RateModel {
  int64_t fee = 0;
  int64_t per_minute = 0;
  uint32_t increment = 0;
  uint32_t minimum = 0;

  uint64_t Increment() const { return std::max<uint64_t>(1, increment); }
  uint64_t RoundUp(uint64_t seconds) const {
    return (seconds + Increment() - 1) / Increment() * Increment();
  }
  int64_t Price(uint64_t seconds) const {
    return (static_cast<int64_t>(seconds) * per_minute + 59) / 60;
  }
  uint64_t Billed(uint64_t seconds) const {
    return seconds == 0 ? 0 : RoundUp(std::max<uint64_t>(seconds, minimum));
  }
  int64_t Cost(uint64_t seconds) const { return seconds == 0 ? 0 : fee + Price(Billed(seconds)); }
  int64_t Extra(uint64_t seconds) const { return Price(RoundUp(seconds)); }
  int64_t IncrementCost() const { return std::max<int64_t>(1, Price(Increment())); }
  // The longest call, in whole increments and at most a day, whose cost `available` pays.
  uint64_t MaxCall(int64_t available) const {
    if (available < Cost(1)) return 0;
    if (per_minute == 0) return kDaySeconds;
    uint64_t increments = static_cast<uint64_t>(available - fee) * 60 / (Increment() * per_minute);
    return std::min<uint64_t>(increments * Increment(), kDaySeconds);
  }
  // The most seconds, in whole increments, that `available` adds to a connected call.
  uint64_t MaxExtra(int64_t available) const {
    if (available <= 0) return 0;
    if (per_minute == 0) return kDaySeconds;
    uint64_t increments = static_cast<uint64_t>(available) * 60 / (Increment() * per_minute);
    return std::min<uint64_t>(increments * Increment(), kDaySeconds);
  }

  v1::Rate ToProto(bool trim) const {
    v1::Rate rate;
    if (fee != 0 || !trim) rate.set_connect_fee(MoneyText(fee, trim));
    rate.set_price_per_minute(MoneyText(per_minute, trim));
    rate.set_billing_increment_seconds(increment);
    rate.set_minimum_billed_seconds(minimum);
    return rate;
  }
  std::string Key() const {
    return absl::StrCat(fee, ",", per_minute, ",", increment, ",", minimum);
  }
};

// The arguments of the calls, kept so that a call can be repeated exactly, or with its money
// written differently (`trim`), which must not make it another call. Key() is what makes
// two calls "the same arguments".
struct ReserveArgs {
  std::string reservation_id;
  std::string number;
  int64_t amount = 0;
  std::optional<RateModel> rate;
  uint64_t seconds = 0;
  uint32_t ttl = 0;
  std::string call_id;
  std::string node;
  std::string destination;
  bool trim = false;

  v1::ReserveRequest Request() const {
    v1::ReserveRequest request;
    request.set_reservation_id(reservation_id);
    request.set_extension(kExt);
    request.set_callback_number(number);
    if (amount != 0) request.set_amount(MoneyText(amount, trim));
    if (rate.has_value()) *request.mutable_rate() = rate->ToProto(trim);
    request.set_seconds(seconds);
    request.set_ttl_seconds(ttl);
    request.set_call_id(call_id);
    request.set_node_id(node);
    request.set_destination(destination);
    return request;
  }
  std::string Key() const {
    return absl::StrCat(number, "|", amount, "|", rate.has_value() ? rate->Key() : "-", "|",
                        seconds, "|", ttl, "|", call_id, "|", node, "|", destination);
  }
};

struct ExtendArgs {
  std::string reservation_id;
  int64_t amount = 0;
  bool amount_given = false;  // "0" rather than nothing
  uint64_t seconds = 0;
  uint32_t ttl = 0;
  std::string node;
  std::string request_id;
  bool trim = false;

  v1::ExtendRequest Request() const {
    v1::ExtendRequest request;
    request.set_reservation_id(reservation_id);
    if (amount != 0 || amount_given) request.set_amount(MoneyText(amount, trim));
    request.set_seconds(seconds);
    request.set_ttl_seconds(ttl);
    request.set_node_id(node);
    request.set_request_id(request_id);
    return request;
  }
  std::string Key() const {
    return absl::StrCat(reservation_id, "|", amount, "|", seconds, "|", ttl, "|", node, "|",
                        request_id);
  }
};

struct SettleArgs {
  std::string reservation_id;
  std::optional<int64_t> cost;
  uint64_t duration = 0;
  std::string node;
  std::string destination;
  int64_t started_at = 0;  // 0: not given
  bool trim = false;

  v1::SettleRequest Request() const {
    v1::SettleRequest request;
    request.set_reservation_id(reservation_id);
    if (cost.has_value()) request.set_cost(MoneyText(*cost, trim));
    request.set_duration_seconds(duration);
    request.set_node_id(node);
    request.set_destination(destination);
    if (started_at != 0) *request.mutable_started_at() = FromUnixMicros(started_at);
    return request;
  }
  std::string Key() const {
    return absl::StrCat(cost.has_value() ? absl::StrCat(*cost) : "-", "|", duration, "|", node, "|",
                        destination, "|", started_at);
  }
};

struct ReleaseArgs {
  std::string reservation_id;
  std::string node;

  v1::ReleaseRequest Request() const {
    v1::ReleaseRequest request;
    request.set_reservation_id(reservation_id);
    request.set_node_id(node);
    return request;
  }
  std::string Key() const { return node; }
};

struct CreditArgs {
  uint64_t callerid_id = 0;  // 0: by extension and number
  std::string number;
  int64_t amount = 0;
  std::string order_no;
  std::string description;
  std::string request_id;
  bool trim = false;

  v1::AddCreditRequest Request() const {
    v1::AddCreditRequest request;
    request.set_callerid_id(callerid_id);
    if (callerid_id == 0) {
      request.set_extension(kExt);
      request.set_callback_number(number);
    }
    request.set_amount(MoneyText(amount, trim));
    request.set_order_no(order_no);
    request.set_description(description);
    request.set_request_id(request_id);
    return request;
  }
  std::string Key() const {
    return absl::StrCat(callerid_id, "|", callerid_id == 0 ? number : "", "|", amount, "|",
                        order_no, "|", description);
  }
};

using Recorded = std::variant<ReserveArgs, ExtendArgs, SettleArgs, ReleaseArgs, CreditArgs>;

enum class ResState { kOpen, kSettled, kReleased, kExpired, kOrphaned };

struct ModelCallerId {
  uint64_t id = 0;
  std::string number;
  bool enabled = true;
  bool unlimited = false;
  std::string pin;  // empty: none
  uint32_t failed_pins = 0;
  bool locked = false;
  // Since the CallerID is limited: its initial credit and every recharge, and every charge.
  int64_t recharged = 0;
  int64_t charged = 0;
  int64_t created_at = 0;

  int64_t credit_left() const { return recharged - charged; }
};

struct ModelReservation {
  std::string id;
  size_t caller = 0;  // index into the model's CallerIDs
  std::string node;
  // The part of `held` that counts against the CallerID's credit: grants made while it was
  // unlimited do not, those made after it turned limited do.
  int64_t counted_held = 0;
  std::optional<RateModel> rate;
  int64_t held = 0;
  int64_t expires = 0;
  uint32_t ttl = 0;
  ResState state = ResState::kOpen;
  // The first answers, which retries with the same arguments must repeat.
  std::string reserve_key;
  v1::ReserveResponse reserve_reply;
  std::string last_extend_key;  // the last extension written, if any
  v1::ExtendResponse last_extend_reply;
  std::string settle_key;
  v1::SettleResponse settle_reply;
  std::string release_key;
  v1::ReleaseResponse release_reply;
};

inline bool Equal(const google::protobuf::Message& a, const google::protobuf::Message& b,
                  std::string* diff) {
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(diff);
  return differencer.Compare(a, b);
}

inline std::string Describe(const google::protobuf::Message& reply) {
  return absl::StrCat(" {", reply.ShortDebugString(), "}");
}
inline std::string Describe(uint64_t value) { return absl::StrCat(" ", value); }

class Simulation {
 public:
  Simulation(uint64_t seed, int steps) : seed_(seed), steps_(steps), rng_(seed) {}

  void Run();

 private:
  static constexpr int kFlawsShown = 3;

  // Reporting (simulation.cc).
  std::string Where() const;

  // A failure after which the model cannot be trusted: this seed stops here.
  void Fail(const std::string& what);

  // A failure that leaves the model right (a retry answered differently): reported (the
  // first few of each kind) and the run goes on.
  void Flaw(const std::string& kind, const std::string& what);

  void Count(const std::string& what);

  template <typename T>
  bool ExpectStatus(const absl::StatusOr<T>& got, absl::StatusCode want) {
    if (got.status().code() == want) return true;
    Fail(absl::StrCat("expected ", absl::StatusCodeToString(want), ", got ",
                      got.status().ToString(), got.ok() ? Describe(*got) : ""));
    return false;
  }

  // The log grew by exactly `events` (and the model agrees where it stands).
  bool ExpectWrites(uint64_t before, uint64_t events);

  bool ExpectReply(const google::protobuf::Message& got, const google::protobuf::Message& want,
                   const char* rpc);
  void ExpectSameReply(const google::protobuf::Message& got, const google::protobuf::Message& first,
                       const std::string& rpc);
  bool ParseField(const char* field, const std::string& text, int64_t* value,
                  std::vector<std::string>* problems);

  // The ledger (simulation.cc).
  void Open();

  // A write, waited for.
  template <typename Request, typename Reply>
  absl::StatusOr<Reply> Call(void (Ledger::*method)(const Request&, const Origin&, Done<Reply>),
                             const Request& request) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<Reply>>>();
    std::future<absl::StatusOr<Reply>> future = promise->get_future();
    (ledger_.get()->*method)(request, kActor, [promise](absl::StatusOr<Reply> reply) {
      promise->set_value(std::move(reply));  // throws (and so fails) if called twice
    });
    if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      return absl::DeadlineExceededError("the ledger did not answer within 30 s");
    }
    return future.get();
  }

  absl::StatusOr<uint64_t> CallExpireDue();

  // The model (simulation.cc).
  int64_t Now();
  int64_t Held(size_t caller) const;
  uint32_t OpenCount(size_t caller) const;
  int64_t Available(size_t caller) const;
  uint32_t ActiveCount() const;
  std::optional<size_t> FindNumber(const std::string& number) const;
  std::optional<size_t> FindId(uint64_t id) const;
  void Close(ModelReservation& r, ResState state);

  // Checks a CallerID as the ledger shows it against the model (SPEC section 5).
  void CheckCaller(const v1::CallerId& got, size_t i, const char* source);

  void CheckCallerIds();

  // Operations (simulation_operations.cc).
  void DoAddCallerId(const std::string& number, const std::string& pin, bool unlimited,
                     std::optional<int64_t> initial, bool enabled, bool status_given);
  void DoReserve(const ReserveArgs& a);

  // Node binding: a node may not touch a reservation another node opened; an empty node
  // (an administrator) and a reservation opened without one are bound to nobody.
  static bool OtherNode(const ModelReservation& r, const std::string& node);

  void DoExtend(const ExtendArgs& a);
  void DoSettle(const SettleArgs& a);
  void DoRelease(const ReleaseArgs& a);
  void DoSync(const std::string& node, const std::vector<std::string>& keep);
  void DoExpireDue();
  void DoCredit(const CreditArgs& a);
  v1::AuthorizeResponse AuthorizeAnswer(size_t i, const std::optional<RateModel>& rate) const;
  void DoAuthorize(size_t i, const std::string& pin, const std::optional<RateModel>& rate,
                   bool trim);
  void DoUpdate(size_t i, std::optional<bool> enable, std::optional<std::string> pin, bool reset,
                bool by_alias);

  // Random operations (simulation_random.cc).
  int64_t RandomAmount();
  RateModel RandomRate();
  uint32_t RandomTtl();
  std::string RandomPin();
  const char* RandomNode();

  // A CallerID to call from: mostly one that may call (the license keeps about half of
  // them disabled), sometimes any.
  size_t PickCaller();

  // A reservation to work on: mostly an open one, sometimes any.
  const ModelReservation* PickReservation();

  void Setup();
  std::string NextNumber();
  void RandomStep();
  void NewReserve();
  void NewExtend();
  void NewSettle();
  void NewRelease();
  void NewSync();
  void NewCredit();
  void NewAuthorize();
  void NewUpdate();
  void NewAddCallerId();

  // Calls that name what does not exist.
  void Unknown();

  // Repeats an earlier call that wrote something: with the same arguments (sometimes with
  // its money written differently), or with other arguments for the same key.
  void Retry(bool same);

  // The end (simulation.cc).
  std::vector<v1::CallerId> Snapshot();
  void Finish();

  const uint64_t seed_;
  const int steps_;
  Random rng_;
  FakeClock clock_{kStartMicros};
  std::string dir_;
  LedgerOptions options_;
  std::unique_ptr<Ledger> ledger_;

  int step_ = 0;
  std::string op_ = "Open";
  bool failed_ = false;
  std::map<std::string, int> flaws_;
  std::map<std::string, uint64_t> stats_;

  // The model.
  uint64_t expected_sequence_ = 0;
  int64_t last_expire_run_ = 0;
  std::vector<ModelCallerId> callers_;
  std::map<std::string, ModelReservation> reservations_;
  std::set<std::string> open_;
  std::map<std::string, std::pair<std::string, v1::ExtendResponse>> extend_requests_;
  std::map<std::string, std::pair<std::string, v1::Recharge>> credit_requests_;
  std::vector<Recorded> history_;  // calls that wrote something, for retries
  uint64_t next_callerid_id_ = 1;
  int next_number_ = 0;
  int next_reservation_ = 0;
  int next_request_ = 0;
};

}  // namespace callbackledger::simulation

#endif  // CALLBACKLEDGER_LEDGER_TESTING_SIMULATION_H_
