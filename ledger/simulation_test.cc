// A deterministic, seeded, randomized simulation of the call-credit protocol (SPEC sections
// 2, 3 and 5), in the style of TigerBeetle's simulator: thousands of random operations
// (Reserve, Extend, Settle, Release, SyncReservations, expiry, recharges, status and PIN
// changes, Authorize, and retries of earlier calls with the same and with other arguments)
// run against a real Ledger on a fresh RocksDB directory and a fake clock. Every answer is
// checked against a simple reference model, and after every step so is every CallerID:
// credit left = recharges - charges, available = credit left - open holds >= 0, holds gone
// once they expired, retries answered from the log without writing anything. At the end
// the ledger is reopened (every CallerID must be equal) and the projections are verified
// against a replay of the log.
//
// A seed reproduces a run exactly (std::mt19937_64 and our own bounded draws, no
// std::uniform_*_distribution). A failure names its seed and step; replay it with
//   SIMULATION_SEED=<seed> ledger/simulation_test
// and SIMULATION_STEPS=<n> to change the number of random steps per seed.
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <iterator>
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
#include "absl/strings/str_join.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/calls.pb.h"
#include "callbackledger/v1/common.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "ledger/money.h"
#include "ledger/replay.h"
#include "ledger/store.h"
#include "projections/state.h"

namespace callbackledger {
namespace {

using ::absl::StrCat;
using ::google::protobuf::Message;
using ::google::protobuf::util::MessageDifferencer;
using Code = ::absl::StatusCode;

constexpr int64_t kStartMicros = 1700000000000000;  // 2023-11-14T22:13:20Z
constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kUnit = 1000000;  // one unit of the currency, in micros
constexpr char kActor[] = "simulation";
constexpr char kExt[] = "0003*005";
constexpr char kUnknownNumber[] = "+19990000000";
constexpr uint32_t kLicense = 4;
constexpr uint32_t kPinMaxAttempts = 3;
constexpr uint32_t kDefaultTtl = 300;
constexpr uint64_t kDaySeconds = 86400;
constexpr size_t kMaxCallerIds = 8;
constexpr int kDefaultSteps = 2000;
constexpr int kStepsAfterReopen = 60;
constexpr uint64_t kDefaultSeeds[] = {20240917, 1, 2};
const char* const kNodes[] = {"node-a", "node-b", "node-c"};

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
std::string MoneyText(int64_t micros, bool trim) {
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

std::string Shown(int64_t micros) { return MoneyText(micros, false); }

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
  std::string Key() const { return StrCat(fee, ",", per_minute, ",", increment, ",", minimum); }
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
    return StrCat(number, "|", amount, "|", rate.has_value() ? rate->Key() : "-", "|", seconds, "|",
                  ttl, "|", call_id, "|", node, "|", destination);
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
    return StrCat(reservation_id, "|", amount, "|", seconds, "|", ttl, "|", node, "|", request_id);
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
    return StrCat(cost.has_value() ? StrCat(*cost) : "-", "|", duration, "|", node, "|",
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
    return StrCat(callerid_id, "|", callerid_id == 0 ? number : "", "|", amount, "|", order_no, "|",
                  description);
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

bool Equal(const Message& a, const Message& b, std::string* diff) {
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(diff);
  return differencer.Compare(a, b);
}

std::string Describe(const Message& reply) { return StrCat(" {", reply.ShortDebugString(), "}"); }
std::string Describe(uint64_t value) { return StrCat(" ", value); }

class Simulation {
 public:
  Simulation(uint64_t seed, int steps) : seed_(seed), steps_(steps), rng_(seed) {}

  void Run() {
    std::string pattern = "/tmp/simulation_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    options_.data_dir = dir_ + "/data";
    options_.currency = "USD";
    options_.decimals = 6;  // replies show every micro: money round-trips exactly
    options_.license_max_active_callerids = kLicense;
    options_.pin_max_attempts = kPinMaxAttempts;
    options_.default_ttl_seconds = kDefaultTtl;
    options_.expiry_poll_milliseconds = 0;  // expiry only through ExpireDue()
    options_.clock = &clock_;
    const auto start = std::chrono::steady_clock::now();

    Open();
    if (!failed_) Setup();
    for (step_ = 1; step_ <= steps_ && !failed_; ++step_) {
      RandomStep();
      if (!failed_) CheckCallerIds();
    }
    if (!failed_) Finish();

    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    for (const auto& [what, count] : flaws_) {
      if (count > kFlawsShown) {
        ADD_FAILURE() << "seed=" << seed_ << ": " << what << ": " << count
                      << " times in all (the first " << kFlawsShown << " are shown above)";
      }
    }
    std::vector<std::string> counts;
    for (const auto& [what, count] : stats_) counts.push_back(StrCat(what, "=", count));
    std::printf("[simulation] seed=%llu steps=%d events=%llu %s in %lld ms\n  %s\n",
                static_cast<unsigned long long>(seed_), steps_,
                static_cast<unsigned long long>(expected_sequence_),
                failed_          ? "FAILED (the model stopped agreeing)"
                : flaws_.empty() ? "passed"
                                 : "model agreed, but retries answered differently",
                static_cast<long long>(elapsed.count()), absl::StrJoin(counts, ", ").c_str());
    std::fflush(stdout);
    ledger_.reset();
    std::filesystem::remove_all(dir_);
  }

 private:
  static constexpr int kFlawsShown = 3;

  // ---- Reporting --------------------------------------------------------------------------

  std::string Where() const {
    return StrCat("seed=", seed_, " step=", step_, " (replay: SIMULATION_SEED=", seed_,
                  ") op=", op_);
  }

  // A failure after which the model cannot be trusted: this seed stops here.
  void Fail(const std::string& what) {
    if (failed_) return;
    ADD_FAILURE() << Where() << "\n  " << what;
    failed_ = true;
  }

  // A failure that leaves the model right (a retry answered differently): reported (the
  // first few of each kind) and the run goes on.
  void Flaw(const std::string& kind, const std::string& what) {
    int& count = flaws_[kind];
    ++count;
    if (count <= kFlawsShown) ADD_FAILURE() << Where() << "\n  " << kind << ": " << what;
  }

  void Count(const std::string& what) { ++stats_[what]; }

  template <typename T>
  bool ExpectStatus(const absl::StatusOr<T>& got, Code want) {
    if (got.status().code() == want) return true;
    Fail(StrCat("expected ", absl::StatusCodeToString(want), ", got ", got.status().ToString(),
                got.ok() ? Describe(*got) : ""));
    return false;
  }

  // The log grew by exactly `events` (and the model agrees where it stands).
  bool ExpectWrites(uint64_t before, uint64_t events) {
    expected_sequence_ += events;
    const uint64_t after = ledger_->last_sequence();
    if (after - before == events && after == expected_sequence_) return true;
    Fail(StrCat("expected ", events, " event(s) written; the log went from ", before, " to ", after,
                " (the model expects ", expected_sequence_, ")"));
    return false;
  }

  bool ExpectReply(const Message& got, const Message& want, const char* rpc) {
    std::string diff;
    if (Equal(want, got, &diff)) return true;
    Fail(StrCat(rpc, " answered", Describe(got), "\n  the model expects", Describe(want), "\n  ",
                diff));
    return false;
  }

  void ExpectSameReply(const Message& got, const Message& first, const std::string& rpc) {
    std::string diff;
    if (Equal(first, got, &diff)) {
      Count(StrCat(rpc, " retry replayed"));
      return;
    }
    Flaw(StrCat(rpc, " retried with the same arguments did not repeat the first answer"),
         StrCat("first", Describe(first), "\n  retry", Describe(got), "\n  ", diff));
  }

  bool ParseField(const char* field, const std::string& text, int64_t* value,
                  std::vector<std::string>* problems) {
    absl::StatusOr<int64_t> parsed = ParseMoney(field, text);
    if (parsed.ok()) {
      *value = *parsed;
      return true;
    }
    problems->push_back(
        StrCat(field, " \"", text, "\" does not parse: ", parsed.status().ToString()));
    return false;
  }

  // ---- The ledger -------------------------------------------------------------------------

  void Open() {
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(options_);
    if (!ledger.ok()) return Fail(StrCat("Ledger::Open: ", ledger.status().ToString()));
    ledger_ = *std::move(ledger);
  }

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

  absl::StatusOr<uint64_t> CallExpireDue() {
    auto promise = std::make_shared<std::promise<absl::StatusOr<uint64_t>>>();
    std::future<absl::StatusOr<uint64_t>> future = promise->get_future();
    ledger_->ExpireDue(
        [promise](absl::StatusOr<uint64_t> expired) { promise->set_value(std::move(expired)); });
    if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      return absl::DeadlineExceededError("the ledger did not answer within 30 s");
    }
    return future.get();
  }

  // ---- The model --------------------------------------------------------------------------

  int64_t Now() { return clock_.NowMicros(); }

  int64_t Held(size_t caller) const {
    int64_t held = 0;
    for (const std::string& id : open_) {
      const ModelReservation& r = reservations_.at(id);
      if (r.caller == caller) held += r.counted_held;
    }
    return held;
  }

  uint32_t OpenCount(size_t caller) const {
    uint32_t count = 0;
    for (const std::string& id : open_) count += reservations_.at(id).caller == caller ? 1 : 0;
    return count;
  }

  int64_t Available(size_t caller) const { return callers_[caller].credit_left() - Held(caller); }

  uint32_t ActiveCount() const {
    uint32_t active = 0;
    for (const ModelCallerId& c : callers_) active += c.enabled ? 1 : 0;
    return active;
  }

  std::optional<size_t> FindNumber(const std::string& number) const {
    for (size_t i = 0; i < callers_.size(); ++i) {
      if (callers_[i].number == number) return i;
    }
    return std::nullopt;
  }

  std::optional<size_t> FindId(uint64_t id) const {
    for (size_t i = 0; i < callers_.size(); ++i) {
      if (callers_[i].id == id) return i;
    }
    return std::nullopt;
  }

  void Close(ModelReservation& r, ResState state) {
    r.state = state;
    r.held = 0;
    r.counted_held = 0;
    open_.erase(r.id);
  }

  // Checks a CallerID as the ledger shows it against the model (SPEC section 5).
  void CheckCaller(const v1::CallerId& got, size_t i, const char* source) {
    const ModelCallerId& c = callers_[i];
    std::vector<std::string> problems;
    if (got.id() != c.id) problems.push_back(StrCat("id is ", got.id()));
    if (got.extension() != kExt) problems.push_back("extension");
    if (got.callback_number() != c.number) problems.push_back("callback_number");
    v1::CallerId::Status status = c.enabled ? v1::CallerId::ENABLED : v1::CallerId::DISABLED;
    if (got.status() != status) {
      problems.push_back(StrCat("status ", v1::CallerId::Status_Name(got.status()),
                                " != ", v1::CallerId::Status_Name(status)));
    }
    if (got.pin_set() != !c.pin.empty()) problems.push_back(StrCat("pin_set ", got.pin_set()));
    if (got.pin_locked() != c.locked) problems.push_back(StrCat("pin_locked ", got.pin_locked()));
    if (got.unlimited() != c.unlimited) problems.push_back(StrCat("unlimited ", got.unlimited()));
    if (ToUnixMicros(got.created_at()) != c.created_at) problems.push_back("created_at");
    const int64_t held = Held(i);
    const uint32_t open = OpenCount(i);
    if (got.open_reservations() != open) {
      problems.push_back(StrCat("open_reservations ", got.open_reservations(), " != ", open));
    }
    int64_t held_shown = 0;
    if (ParseField("held_credit", got.held_credit(), &held_shown, &problems) &&
        held_shown != held) {
      problems.push_back(StrCat("held_credit ", got.held_credit(), " != open holds ", Shown(held)));
    }
    if (c.unlimited) {
      if (!got.total_credit().empty() || !got.credit_left().empty() ||
          !got.available_credit().empty()) {
        problems.push_back("an unlimited CallerID shows credit amounts");
      }
    } else {
      int64_t total = 0;
      int64_t left = 0;
      int64_t available = 0;
      bool parsed = ParseField("total_credit", got.total_credit(), &total, &problems);
      parsed = ParseField("credit_left", got.credit_left(), &left, &problems) && parsed;
      parsed =
          ParseField("available_credit", got.available_credit(), &available, &problems) && parsed;
      if (parsed) {
        if (total != c.recharged) {
          problems.push_back(StrCat("total_credit ", got.total_credit(), " != sum of recharges ",
                                    Shown(c.recharged)));
        }
        if (left != c.recharged - c.charged) {
          problems.push_back(StrCat("credit_left ", got.credit_left(), " != recharges ",
                                    Shown(c.recharged), " - charges ", Shown(c.charged)));
        }
        if (available != left - held_shown) {
          problems.push_back(
              StrCat("available_credit ", got.available_credit(), " != credit_left - held_credit"));
        }
        if (available != c.credit_left() - held) {
          problems.push_back(StrCat("available_credit ", got.available_credit(),
                                    " != model credit left - open holds ",
                                    Shown(c.credit_left() - held)));
        }
        if (available < 0) problems.push_back("available_credit is negative");
      }
    }
    if (!problems.empty()) {
      Fail(StrCat(source, " of CallerID ", c.id, " (", c.number,
                  "): ", absl::StrJoin(problems, "; "), "\n  got", Describe(got)));
    }
  }

  void CheckCallerIds() {
    for (size_t i = 0; i < callers_.size() && !failed_; ++i) {
      v1::GetCallerIdRequest request;
      request.set_callerid_id(callers_[i].id);
      absl::StatusOr<v1::CallerId> got = ledger_->GetCallerId(request);
      if (!got.ok())
        return Fail(StrCat("GetCallerId ", callers_[i].id, ": ", got.status().ToString()));
      CheckCaller(*got, i, "GetCallerId");
    }
    // The model's own rule: once ExpireDue ran, no hold outlives its expiry.
    for (const std::string& id : open_) {
      const ModelReservation& r = reservations_.at(id);
      if (r.expires <= last_expire_run_) {
        return Fail(StrCat("model: ", id, " is open past its expiry after ExpireDue"));
      }
    }
  }

  // ---- Operations: each predicts from the model, calls the ledger, checks the answer and
  // the log, then applies the change to the model. ----------------------------------------

  void DoAddCallerId(const std::string& number, const std::string& pin, bool unlimited,
                     std::optional<int64_t> initial, bool enabled, bool status_given) {
    v1::AddCallerIdRequest request;
    request.set_extension(kExt);
    request.set_callback_number(number);
    request.set_pin(pin);
    request.set_unlimited(unlimited);
    if (initial.has_value()) request.set_initial_credit(MoneyText(*initial, rng_.Percent(50)));
    request.set_order_no(StrCat("ORD-", number.substr(number.size() - 3)));
    if (status_given || !enabled) {
      request.set_status(enabled ? v1::CallerId::ENABLED : v1::CallerId::DISABLED);
    }
    op_ = StrCat("AddCallerId", Describe(request));
    const uint64_t before = ledger_->last_sequence();
    absl::StatusOr<v1::CallerId> got = Call(&Ledger::AddCallerId, request);
    if (enabled && ActiveCount() >= kLicense) {
      if (ExpectStatus(got, Code::kResourceExhausted)) ExpectWrites(before, 0);
      Count("AddCallerId RESOURCE_EXHAUSTED");
      return;
    }
    if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, 1)) return;
    ModelCallerId c;
    c.id = next_callerid_id_++;
    c.number = number;
    c.enabled = enabled;
    c.unlimited = unlimited;
    c.pin = pin;
    c.recharged = initial.value_or(0);
    c.created_at = Now();
    callers_.push_back(c);
    CheckCaller(*got, callers_.size() - 1, "AddCallerId reply");
    Count("AddCallerId OK");
  }

  void DoReserve(const ReserveArgs& a) {
    const v1::ReserveRequest request = a.Request();
    op_ = StrCat("Reserve", Describe(request));
    const std::string key = a.Key();
    const int64_t now = Now();
    const uint64_t before = ledger_->last_sequence();
    absl::StatusOr<v1::ReserveResponse> got = Call(&Ledger::Reserve, request);

    if (auto found = reservations_.find(a.reservation_id); found != reservations_.end()) {
      ModelReservation& r = found->second;
      if (r.reserve_key != key) {
        if (ExpectStatus(got, Code::kAlreadyExists)) ExpectWrites(before, 0);
        Count("Reserve ALREADY_EXISTS");
        return;
      }
      if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
        ExpectSameReply(*got, r.reserve_reply, "Reserve");
      }
      return;
    }

    const std::optional<size_t> ci = FindNumber(a.number);
    v1::Decision denial = v1::DECISION_UNSPECIFIED;
    if (!ci.has_value()) {
      denial = v1::NOT_AUTHORIZED;
    } else if (!callers_[*ci].enabled) {
      denial = v1::DISABLED;
    } else if (callers_[*ci].locked) {
      denial = v1::PIN_LOCKED;
    }
    const bool limited = ci.has_value() && !callers_[*ci].unlimited;
    const int64_t wanted = a.amount != 0 ? a.amount : a.rate->Cost(a.seconds);
    int64_t granted = wanted;
    uint64_t granted_seconds = a.rate.has_value() ? a.seconds : 0;
    int64_t available = 0;
    int64_t available_after = 0;
    if (denial == v1::DECISION_UNSPECIFIED && limited) {
      available = Available(*ci);
      if (available <= 0) {
        denial = v1::NO_CREDIT;
      } else if (!a.rate.has_value()) {
        granted = std::min(wanted, available);
      } else if (a.amount != 0) {
        granted = std::min(wanted, available);
        granted_seconds = a.rate->MaxCall(granted);
        if (granted_seconds == 0) denial = v1::NO_CREDIT;
      } else {
        granted_seconds = std::min(a.rate->Billed(a.seconds), a.rate->MaxCall(available));
        if (granted_seconds == 0) denial = v1::NO_CREDIT;
        granted = a.rate->Cost(granted_seconds);
      }
      if (denial == v1::DECISION_UNSPECIFIED && granted <= 0) denial = v1::NO_CREDIT;
      available_after = available - granted;
    }
    const uint32_t ttl = a.ttl != 0 ? a.ttl : kDefaultTtl;

    v1::ReserveResponse want;
    want.set_reservation_id(a.reservation_id);
    if (denial != v1::DECISION_UNSPECIFIED) {
      want.set_decision(denial);
      want.set_granted_amount(Shown(0));
      if (ci.has_value()) {
        want.set_callerid_id(callers_[*ci].id);
        if (limited) want.set_available_credit(Shown(Available(*ci)));
      }
    } else {
      want.set_decision(v1::ALLOWED);
      want.set_callerid_id(callers_[*ci].id);
      want.set_granted_amount(Shown(granted));
      want.set_granted_seconds(granted_seconds);
      *want.mutable_expires_at() = FromUnixMicros(now + int64_t{ttl} * kMicrosPerSecond);
      if (limited) {
        want.set_final_grant(a.rate.has_value() ? available_after < a.rate->IncrementCost()
                                                : available_after <= 0);
        want.set_available_credit(Shown(available_after));
      }
    }
    if (!ExpectStatus(got, Code::kOk)) return;
    if (got->decision() == v1::ALLOWED && limited) {
      // The rules of a grant, whatever the model computes.
      absl::StatusOr<int64_t> shown = ParseMoney("granted_amount", got->granted_amount());
      if (!shown.ok() || *shown > available || *shown > wanted || *shown <= 0) {
        return Fail(StrCat("granted ", got->granted_amount(), " with ", Shown(available),
                           " available and ", Shown(wanted), " asked"));
      }
    }
    if (!ExpectWrites(before, denial == v1::DECISION_UNSPECIFIED ? 1 : 0) ||
        !ExpectReply(*got, want, "Reserve")) {
      return;
    }
    Count(StrCat("Reserve ", v1::Decision_Name(want.decision())));
    if (denial != v1::DECISION_UNSPECIFIED) return;

    ModelReservation r;
    r.id = a.reservation_id;
    r.caller = *ci;
    r.node = a.node;
    r.counted_held = limited ? granted : 0;
    r.rate = a.rate;
    r.held = granted;
    r.expires = now + int64_t{ttl} * kMicrosPerSecond;
    r.ttl = ttl;
    r.reserve_key = key;
    r.reserve_reply = *got;
    reservations_[r.id] = r;
    open_.insert(r.id);
    history_.push_back(a);
  }

  // Node binding: a node may not touch a reservation another node opened; an empty node
  // (an administrator) and a reservation opened without one are bound to nobody.
  static bool OtherNode(const ModelReservation& r, const std::string& node) {
    return !node.empty() && !r.node.empty() && node != r.node;
  }

  void DoExtend(const ExtendArgs& a) {
    const v1::ExtendRequest request = a.Request();
    op_ = StrCat("Extend", Describe(request));
    const std::string key = a.Key();
    const int64_t now = Now();
    const uint64_t before = ledger_->last_sequence();
    absl::StatusOr<v1::ExtendResponse> got = Call(&Ledger::Extend, request);

    auto found = reservations_.find(a.reservation_id);
    if (found == reservations_.end()) {
      if (ExpectStatus(got, Code::kNotFound)) ExpectWrites(before, 0);
      Count("Extend NOT_FOUND");
      return;
    }
    ModelReservation& r = found->second;
    if (OtherNode(r, a.node)) {
      if (ExpectStatus(got, Code::kPermissionDenied)) ExpectWrites(before, 0);
      Count("Extend PERMISSION_DENIED (another node's)");
      return;
    }
    const std::string request_key = StrCat(a.reservation_id, "/", a.request_id);
    if (!a.request_id.empty()) {
      if (auto seen = extend_requests_.find(request_key); seen != extend_requests_.end()) {
        if (seen->second.first != key) {
          if (ExpectStatus(got, Code::kAlreadyExists)) ExpectWrites(before, 0);
          Count("Extend ALREADY_EXISTS");
          return;
        }
        if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
          ExpectSameReply(*got, seen->second.second, "Extend with request_id");
        }
        return;
      }
    } else if (!r.last_extend_key.empty() && r.last_extend_key == key) {
      // Without a request_id, repeating the last extension is a retry of it.
      if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
        ExpectSameReply(*got, r.last_extend_reply, "Extend without request_id");
      }
      return;
    }
    if (r.state == ResState::kSettled || r.state == ResState::kReleased) {
      if (ExpectStatus(got, Code::kFailedPrecondition)) ExpectWrites(before, 0);
      Count("Extend FAILED_PRECONDITION");
      return;
    }
    const size_t ci = r.caller;
    const ModelCallerId& c = callers_[ci];
    v1::Decision denial = v1::DECISION_UNSPECIFIED;
    if (r.state != ResState::kOpen || r.expires <= now) {
      denial = v1::EXPIRED;
    } else if (a.seconds != 0 && !r.rate.has_value()) {
      if (ExpectStatus(got, Code::kInvalidArgument)) ExpectWrites(before, 0);
      Count("Extend INVALID_ARGUMENT");
      return;
    } else if (!c.enabled) {
      denial = v1::DISABLED;
    } else if (c.locked) {
      denial = v1::PIN_LOCKED;
    }
    int64_t wanted = a.amount;
    if (a.seconds != 0 && r.rate.has_value()) wanted = r.rate->Extra(a.seconds);
    int64_t granted = wanted;
    uint64_t granted_seconds = a.seconds;
    int64_t available_after = 0;
    if (denial == v1::DECISION_UNSPECIFIED && !c.unlimited) {
      const int64_t available = Available(ci);
      if (a.seconds != 0) {
        granted_seconds = std::min(a.seconds, r.rate->MaxExtra(available));
        granted = granted_seconds == 0 ? 0 : r.rate->Extra(granted_seconds);
        granted = std::min(granted, available);
      } else {
        granted = std::min(wanted, available);
        if (r.rate.has_value()) granted_seconds = r.rate->MaxExtra(granted);
      }
      if (wanted > 0 && granted <= 0) denial = v1::NO_CREDIT;
      available_after = available - granted;
    }
    const uint32_t ttl = a.ttl != 0 ? a.ttl : r.ttl;

    v1::ExtendResponse want;
    want.set_reservation_id(a.reservation_id);
    if (denial != v1::DECISION_UNSPECIFIED) {
      want.set_decision(denial);
      want.set_granted_amount(Shown(0));
      want.set_held_amount(Shown(r.held));
      *want.mutable_expires_at() = FromUnixMicros(r.expires);
      if (!c.unlimited) want.set_available_credit(Shown(Available(ci)));
      want.set_final_grant(true);
    } else {
      want.set_decision(v1::ALLOWED);
      want.set_granted_amount(Shown(granted));
      want.set_granted_seconds(granted_seconds);
      want.set_held_amount(Shown(r.held + granted));
      *want.mutable_expires_at() = FromUnixMicros(now + int64_t{ttl} * kMicrosPerSecond);
      if (!c.unlimited) {
        want.set_final_grant(r.rate.has_value() ? available_after < r.rate->IncrementCost()
                                                : available_after <= 0);
        want.set_available_credit(Shown(available_after));
      }
    }
    if (!ExpectStatus(got, Code::kOk) ||
        !ExpectWrites(before, denial == v1::DECISION_UNSPECIFIED ? 1 : 0) ||
        !ExpectReply(*got, want, "Extend")) {
      return;
    }
    Count(StrCat("Extend ", v1::Decision_Name(want.decision())));
    if (denial != v1::DECISION_UNSPECIFIED) return;
    r.held += granted;
    if (!c.unlimited) r.counted_held += granted;
    r.expires = now + int64_t{ttl} * kMicrosPerSecond;
    r.last_extend_key = key;
    r.last_extend_reply = *got;
    if (!a.request_id.empty()) extend_requests_[request_key] = {key, *got};
    history_.push_back(a);
  }

  void DoSettle(const SettleArgs& a) {
    const v1::SettleRequest request = a.Request();
    op_ = StrCat("Settle", Describe(request));
    const std::string key = a.Key();
    const int64_t now = Now();
    const uint64_t before = ledger_->last_sequence();
    absl::StatusOr<v1::SettleResponse> got = Call(&Ledger::Settle, request);

    auto found = reservations_.find(a.reservation_id);
    if (found == reservations_.end()) {
      if (ExpectStatus(got, Code::kNotFound)) ExpectWrites(before, 0);
      Count("Settle NOT_FOUND");
      return;
    }
    ModelReservation& r = found->second;
    if (OtherNode(r, a.node)) {
      if (ExpectStatus(got, Code::kPermissionDenied)) ExpectWrites(before, 0);
      Count("Settle PERMISSION_DENIED (another node's)");
      return;
    }
    if (r.state == ResState::kSettled) {
      if (r.settle_key != key) {
        if (ExpectStatus(got, Code::kAlreadyExists)) ExpectWrites(before, 0);
        Count("Settle ALREADY_EXISTS");
        return;
      }
      if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
        ExpectSameReply(*got, r.settle_reply, "Settle");
      }
      return;
    }
    if (r.state == ResState::kReleased) {
      if (ExpectStatus(got, Code::kFailedPrecondition)) ExpectWrites(before, 0);
      Count("Settle FAILED_PRECONDITION (released)");
      return;
    }
    int64_t cost = 0;
    if (a.cost.has_value()) {
      cost = *a.cost;
    } else if (a.duration > 0) {
      if (!r.rate.has_value()) {
        if (ExpectStatus(got, Code::kFailedPrecondition)) ExpectWrites(before, 0);
        Count("Settle FAILED_PRECONDITION (no rate)");
        return;
      }
      cost = r.rate->Cost(a.duration);
    }
    const size_t ci = r.caller;
    ModelCallerId& c = callers_[ci];
    const bool open = r.state == ResState::kOpen;
    const int64_t hold = open ? r.counted_held : 0;
    const int64_t available = c.unlimited ? 0 : Available(ci);
    const int64_t charged = c.unlimited ? cost : std::min(cost, available + hold);
    const bool late = !open || r.expires < now;

    v1::SettleResponse want;
    want.set_reservation_id(a.reservation_id);
    want.set_callerid_id(c.id);
    want.set_cost(Shown(charged));
    want.set_uncollected(Shown(cost - charged));
    want.set_late(late);
    if (!c.unlimited) {
      want.set_credit_left(Shown(c.credit_left() - charged));
      want.set_available_credit(Shown(available + hold - charged));
    }
    if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, 1) ||
        !ExpectReply(*got, want, "Settle")) {
      return;
    }
    Count(late ? "Settle late" : "Settle in time");
    if (charged < cost) Count("Settle with uncollected");
    if (!c.unlimited) c.charged += charged;
    Close(r, ResState::kSettled);
    r.settle_key = key;
    r.settle_reply = *got;
    history_.push_back(a);
  }

  void DoRelease(const ReleaseArgs& a) {
    const v1::ReleaseRequest request = a.Request();
    op_ = StrCat("Release", Describe(request));
    const uint64_t before = ledger_->last_sequence();
    absl::StatusOr<v1::ReleaseResponse> got = Call(&Ledger::Release, request);

    auto found = reservations_.find(a.reservation_id);
    if (found == reservations_.end()) {
      if (ExpectStatus(got, Code::kNotFound)) ExpectWrites(before, 0);
      Count("Release NOT_FOUND");
      return;
    }
    ModelReservation& r = found->second;
    if (OtherNode(r, a.node)) {
      if (ExpectStatus(got, Code::kPermissionDenied)) ExpectWrites(before, 0);
      Count("Release PERMISSION_DENIED (another node's)");
      return;
    }
    const size_t ci = r.caller;
    const bool limited = !callers_[ci].unlimited;
    switch (r.state) {
      case ResState::kReleased:
        if (r.release_key != a.Key()) {
          if (ExpectStatus(got, Code::kAlreadyExists)) ExpectWrites(before, 0);
          Count("Release ALREADY_EXISTS");
          return;
        }
        if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
          ExpectSameReply(*got, r.release_reply, "Release");
        }
        return;
      case ResState::kSettled:
        if (ExpectStatus(got, Code::kFailedPrecondition)) ExpectWrites(before, 0);
        Count("Release FAILED_PRECONDITION");
        return;
      case ResState::kExpired:
      case ResState::kOrphaned: {
        // The ledger already gave the hold back: nothing more to release.
        v1::ReleaseResponse want;
        want.set_reservation_id(a.reservation_id);
        want.set_released_amount(Shown(0));
        if (limited) want.set_available_credit(Shown(Available(ci)));
        if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
          ExpectReply(*got, want, "Release");
        }
        Count("Release of an expired hold");
        return;
      }
      case ResState::kOpen:
        break;
    }
    v1::ReleaseResponse want;
    want.set_reservation_id(a.reservation_id);
    want.set_released_amount(Shown(r.held));  // exactly what it held
    if (limited) want.set_available_credit(Shown(Available(ci) + r.counted_held));
    if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, 1) ||
        !ExpectReply(*got, want, "Release")) {
      return;
    }
    Count("Release OK");
    Close(r, ResState::kReleased);
    r.release_key = a.Key();
    r.release_reply = *got;
    history_.push_back(a);
  }

  void DoSync(const std::string& node, const std::vector<std::string>& keep) {
    v1::SyncReservationsRequest request;
    request.set_node_id(node);
    for (const std::string& id : keep) request.add_reservation_ids(id);
    op_ = StrCat("SyncReservations", Describe(request));
    std::vector<std::string> orphans;
    int64_t released = 0;
    for (const std::string& id : open_) {
      const ModelReservation& r = reservations_.at(id);
      if (r.node == node && std::find(keep.begin(), keep.end(), id) == keep.end()) {
        orphans.push_back(id);
        released += r.held;
      }
    }
    const uint64_t before = ledger_->last_sequence();
    absl::StatusOr<v1::SyncReservationsResponse> got = Call(&Ledger::SyncReservations, request);
    if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, orphans.size())) return;
    std::vector<std::string> ids(got->released_reservation_ids().begin(),
                                 got->released_reservation_ids().end());
    std::sort(ids.begin(), ids.end());
    if (ids != orphans || got->released_amount() != Shown(released)) {
      return Fail(StrCat("SyncReservations released [", absl::StrJoin(ids, ","), "] ",
                         got->released_amount(), "; the model expects [",
                         absl::StrJoin(orphans, ","), "] ", Shown(released)));
    }
    stats_["SyncReservations orphans"] += orphans.size();
    for (const std::string& id : orphans) Close(reservations_.at(id), ResState::kOrphaned);
  }

  void DoExpireDue() {
    op_ = "ExpireDue";
    const int64_t now = Now();
    std::vector<std::string> due;
    for (const std::string& id : open_) {
      if (reservations_.at(id).expires <= now) due.push_back(id);
    }
    const uint64_t before = ledger_->last_sequence();
    absl::StatusOr<uint64_t> got = CallExpireDue();
    if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, due.size())) return;
    if (*got != due.size()) {
      return Fail(StrCat("ExpireDue expired ", *got, "; the model expects ", due.size()));
    }
    stats_["ExpireDue expired"] += due.size();
    for (const std::string& id : due) Close(reservations_.at(id), ResState::kExpired);
    last_expire_run_ = now;
  }

  void DoCredit(const CreditArgs& a) {
    const v1::AddCreditRequest request = a.Request();
    op_ = StrCat("AddCredit", Describe(request));
    const std::string key = a.Key();
    const uint64_t before = ledger_->last_sequence();
    absl::StatusOr<v1::Recharge> got = Call(&Ledger::AddCredit, request);

    if (!a.request_id.empty()) {
      if (auto seen = credit_requests_.find(a.request_id); seen != credit_requests_.end()) {
        if (seen->second.first != key) {
          if (ExpectStatus(got, Code::kAlreadyExists)) ExpectWrites(before, 0);
          Count("AddCredit ALREADY_EXISTS");
          return;
        }
        if (ExpectStatus(got, Code::kOk) && ExpectWrites(before, 0)) {
          ExpectSameReply(*got, seen->second.second, "AddCredit");
        }
        return;
      }
    }
    const std::optional<size_t> ci =
        a.callerid_id != 0 ? FindId(a.callerid_id) : FindNumber(a.number);
    if (!ci.has_value()) {
      if (ExpectStatus(got, Code::kNotFound)) ExpectWrites(before, 0);
      Count("AddCredit NOT_FOUND");
      return;
    }
    ModelCallerId& c = callers_[*ci];
    const int64_t held = Held(*ci);
    v1::Recharge want;
    want.set_id(before + 1);
    want.set_callerid_id(c.id);
    want.set_amount(Shown(a.amount));
    want.set_order_no(a.order_no);
    want.set_description(a.description);
    *want.mutable_created_at() = FromUnixMicros(Now());
    want.set_actor(kActor);
    want.set_request_id(a.request_id);
    bool becomes_limited = false;
    if (c.unlimited && a.amount > 0) {
      want.set_unlimited(true);
    } else if (c.unlimited) {
      // A negative recharge turns an unlimited CallerID into a limited one with nothing left.
      becomes_limited = true;
      want.set_credit_left(Shown(0));
      want.set_total_credit(Shown(0));
      want.set_available_credit(Shown(0));
    } else {
      const int64_t left = c.credit_left() + a.amount;
      if (left - held < 0) {
        if (ExpectStatus(got, Code::kFailedPrecondition)) ExpectWrites(before, 0);
        Count("AddCredit FAILED_PRECONDITION");
        return;
      }
      want.set_credit_left(Shown(left));
      want.set_total_credit(Shown(c.recharged + a.amount));
      want.set_available_credit(Shown(left - held));
    }
    if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, 1) ||
        !ExpectReply(*got, want, "AddCredit")) {
      return;
    }
    if (becomes_limited) {
      c.unlimited = false;
      c.recharged = 0;
      c.charged = 0;
      Count("AddCredit unlimited -> limited");
    } else if (!c.unlimited) {
      c.recharged += a.amount;
      Count(a.amount > 0 ? "AddCredit +" : "AddCredit -");
    } else {
      Count("AddCredit unlimited +");
    }
    if (!a.request_id.empty()) credit_requests_[a.request_id] = {key, *got};
    history_.push_back(a);
  }

  v1::AuthorizeResponse AuthorizeAnswer(size_t i, const std::optional<RateModel>& rate) const {
    const ModelCallerId& c = callers_[i];
    v1::AuthorizeResponse answer;
    answer.set_callerid_id(c.id);
    answer.set_unlimited(c.unlimited);
    answer.set_decision(v1::ALLOWED);
    if (c.unlimited) {
      if (rate.has_value()) answer.set_max_duration_seconds(kDaySeconds);
      return answer;
    }
    const int64_t available = Available(i);
    answer.set_available_credit(Shown(available));
    if (rate.has_value()) answer.set_max_duration_seconds(rate->MaxCall(available));
    if (available <= 0 || (rate.has_value() && answer.max_duration_seconds() == 0)) {
      answer.set_decision(v1::NO_CREDIT);
    }
    return answer;
  }

  void DoAuthorize(size_t i, const std::string& pin, const std::optional<RateModel>& rate,
                   bool trim) {
    ModelCallerId& c = callers_[i];
    v1::AuthorizeRequest request;
    request.set_extension(kExt);
    request.set_callback_number(c.number);
    request.set_pin(pin);
    if (rate.has_value()) *request.mutable_rate() = rate->ToProto(trim);
    op_ = StrCat("Authorize", Describe(request));
    const uint64_t before = ledger_->last_sequence();
    absl::StatusOr<v1::AuthorizeResponse> got = Call(&Ledger::Authorize, request);

    v1::AuthorizeResponse want;
    want.set_callerid_id(c.id);
    uint64_t writes = 0;
    uint32_t failed_after = c.failed_pins;
    bool locked_after = c.locked;
    if (!c.enabled) {
      want.set_decision(v1::DISABLED);
    } else if (c.locked) {
      want.set_decision(v1::PIN_LOCKED);
    } else if (!c.pin.empty() && pin.empty()) {
      want.set_decision(v1::PIN_REQUIRED);
    } else if (c.pin.empty() || (c.failed_pins == 0 && pin == c.pin)) {
      want = AuthorizeAnswer(i, rate);  // nothing to record
    } else if (pin == c.pin) {
      writes = 1;  // the right PIN after wrong ones resets the count
      failed_after = 0;
      want = AuthorizeAnswer(i, rate);
    } else {
      writes = 1;
      failed_after = c.failed_pins + 1;
      locked_after = failed_after >= kPinMaxAttempts;
      want.set_decision(v1::WRONG_PIN);
    }
    if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, writes) ||
        !ExpectReply(*got, want, "Authorize")) {
      return;
    }
    Count(StrCat("Authorize ", v1::Decision_Name(want.decision())));
    if (locked_after && !c.locked) Count("Authorize locked a PIN");
    c.failed_pins = failed_after;
    c.locked = locked_after;
  }

  void DoUpdate(size_t i, std::optional<bool> enable, std::optional<std::string> pin, bool reset,
                bool by_alias) {
    ModelCallerId& c = callers_[i];
    v1::UpdateCallerIdRequest request;
    if (by_alias) {
      request.set_id(c.id);
    } else {
      request.set_callerid_id(c.id);
    }
    if (enable.has_value()) {
      request.set_status(*enable ? v1::CallerId::ENABLED : v1::CallerId::DISABLED);
    }
    if (pin.has_value()) request.set_pin(*pin);
    request.set_reset_pin_lock(reset);
    op_ = StrCat("UpdateCallerId", Describe(request));
    const uint64_t before = ledger_->last_sequence();
    absl::StatusOr<v1::CallerId> got = Call(&Ledger::UpdateCallerId, request);
    if (enable.value_or(false) && !c.enabled && ActiveCount() >= kLicense) {
      if (ExpectStatus(got, Code::kResourceExhausted)) ExpectWrites(before, 0);
      Count("UpdateCallerId RESOURCE_EXHAUSTED");
      return;
    }
    if (!ExpectStatus(got, Code::kOk) || !ExpectWrites(before, 1)) return;
    if (enable.has_value()) c.enabled = *enable;
    if (pin.has_value()) c.pin = *pin;
    if (pin.has_value() || reset) {
      c.failed_pins = 0;
      c.locked = false;
    }
    Count("UpdateCallerId OK");
    CheckCaller(*got, i, "UpdateCallerId reply");
  }

  // ---- Random operations ------------------------------------------------------------------

  int64_t RandomAmount() {
    switch (rng_.Below(10)) {
      case 0:
        return rng_.Between(1, 5 * kUnit);  // any number of micros
      case 1:
      case 2:
        return rng_.Between(1, 200) * kUnit;  // large, whole units
      default:
        return rng_.Between(1, 2000) * 10000;  // cents, up to 20
    }
  }

  RateModel RandomRate() {
    static constexpr int64_t kFees[] = {0, 0, 50000, 100000};
    static constexpr int64_t kPrices[] = {12500, 100000, 500000, 1200000};
    static constexpr uint32_t kIncrements[] = {0, 1, 6, 30, 60};
    static constexpr uint32_t kMinimums[] = {0, 0, 30, 60};
    RateModel rate;
    rate.fee = rng_.Percent(20) ? rng_.Between(0, 200000) : kFees[rng_.Below(4)];
    if (rng_.Percent(3)) {
      rate.per_minute = 0;
    } else {
      rate.per_minute = rng_.Percent(25) ? rng_.Between(1, 3 * kUnit) : kPrices[rng_.Below(4)];
    }
    rate.increment = kIncrements[rng_.Below(5)];
    rate.minimum = kMinimums[rng_.Below(4)];
    return rate;
  }

  uint32_t RandomTtl() {
    static constexpr uint32_t kTtls[] = {0, 30, 60, 120, 600};
    return kTtls[rng_.Below(5)];
  }

  std::string RandomPin() { return StrCat(rng_.Between(1000, 99999)); }

  const char* RandomNode() { return kNodes[rng_.Below(3)]; }

  // A CallerID to call from: mostly one that may call (the license keeps about half of
  // them disabled), sometimes any.
  size_t PickCaller() {
    std::vector<size_t> callable;
    for (size_t i = 0; i < callers_.size(); ++i) {
      if (callers_[i].enabled && !callers_[i].locked) callable.push_back(i);
    }
    if (!callable.empty() && rng_.Percent(85)) return callable[rng_.Below(callable.size())];
    return rng_.Below(callers_.size());
  }

  // A reservation to work on: mostly an open one, sometimes any.
  const ModelReservation* PickReservation() {
    if (!open_.empty() && rng_.Percent(90)) {
      auto it = open_.begin();
      std::advance(it, rng_.Below(open_.size()));
      return &reservations_.at(*it);
    }
    if (reservations_.empty()) return nullptr;
    auto it = reservations_.begin();
    std::advance(it, rng_.Below(reservations_.size()));
    return &it->second;
  }

  void Setup() {
    step_ = 0;
    // Two limited CallerIDs (one with a PIN), two unlimited (one with a PIN), and one added
    // disabled with no credit because the license (4) is full.
    // One draw per statement: the order of a call's arguments is unspecified.
    const int64_t first_credit = rng_.Between(20, 80) * kUnit;
    int64_t second_credit = rng_.Between(5, 30) * kUnit;
    second_credit += rng_.Between(0, kUnit - 1);
    const std::string second_pin = RandomPin();
    const std::string fourth_pin = RandomPin();
    DoAddCallerId(NextNumber(), "", false, first_credit, true, true);
    if (!failed_) DoAddCallerId(NextNumber(), second_pin, false, second_credit, true, false);
    if (!failed_) DoAddCallerId(NextNumber(), "", true, std::nullopt, true, false);
    if (!failed_) DoAddCallerId(NextNumber(), fourth_pin, true, std::nullopt, true, true);
    if (!failed_) DoAddCallerId(NextNumber(), "", false, std::nullopt, false, true);
    if (!failed_) CheckCallerIds();
  }

  std::string NextNumber() { return StrCat("+1555", 1000000 + next_number_++); }

  void RandomStep() {
    const uint64_t roll = rng_.Below(100);
    if (roll < 24) {
      NewReserve();
    } else if (roll < 36) {
      NewExtend();
    } else if (roll < 46) {
      NewSettle();
    } else if (roll < 51) {
      NewRelease();
    } else if (roll < 61) {
      Retry(/*same=*/true);
    } else if (roll < 66) {
      Retry(/*same=*/false);
    } else if (roll < 73) {
      op_ = "advance the clock";
      clock_.AdvanceMicros(rng_.Between(1, 90) * kMicrosPerSecond);
      if (rng_.Percent(20)) clock_.AdvanceMicros(rng_.Between(0, kMicrosPerSecond - 1));
      if (rng_.Percent(30)) DoExpireDue();
    } else if (roll < 78) {
      DoExpireDue();
    } else if (roll < 81) {
      NewSync();
    } else if (roll < 89) {
      NewCredit();
    } else if (roll < 93) {
      NewUpdate();
    } else if (roll < 97) {
      NewAuthorize();
    } else if (roll < 98) {
      NewAddCallerId();
    } else {
      Unknown();
    }
  }

  void NewReserve() {
    ReserveArgs a;
    ++next_reservation_;
    a.reservation_id = StrCat("call-", next_reservation_, "-leg1");
    a.number = callers_[PickCaller()].number;
    const uint64_t kind = rng_.Below(100);
    if (kind < 45) {
      a.amount = RandomAmount();
    } else if (kind < 85) {
      a.rate = RandomRate();
      a.seconds = rng_.Percent(10) ? rng_.Between(1, kDaySeconds) : rng_.Between(1, 900);
    } else {
      a.rate = RandomRate();
      a.amount = RandomAmount();
    }
    a.ttl = RandomTtl();
    a.call_id = StrCat("c", next_reservation_);
    a.node = RandomNode();
    if (rng_.Percent(30)) a.destination = StrCat("+4930", rng_.Between(1000000, 9999999));
    a.trim = rng_.Percent(50);
    DoReserve(a);
  }

  void NewExtend() {
    const ModelReservation* r = PickReservation();
    if (r == nullptr) return NewReserve();
    ExtendArgs a;
    a.reservation_id = r->id;
    a.node = r->node;
    const uint64_t kind = rng_.Below(100);
    if (kind < 45 && r->rate.has_value()) {
      a.seconds = rng_.Between(1, 600);
    } else if (kind < 3) {
      a.seconds = rng_.Between(1, 60);  // without a rate: INVALID_ARGUMENT
    } else if (kind < 10) {
      a.amount_given = rng_.Percent(50);  // nothing more: only pushes the expiry
    } else {
      a.amount = RandomAmount();
    }
    a.ttl = RandomTtl();
    if (rng_.Percent(40)) a.request_id = StrCat("ext-", ++next_request_);
    a.trim = rng_.Percent(50);
    DoExtend(a);
  }

  void NewSettle() {
    const ModelReservation* r = PickReservation();
    if (r == nullptr) return NewReserve();
    SettleArgs a;
    a.reservation_id = r->id;
    a.node = r->node;
    const uint64_t kind = rng_.Below(100);
    if (kind < 30 || (kind < 80 && !r->rate.has_value() && rng_.Percent(80))) {
      a.cost = rng_.Between(0, r->held);  // within the hold
    } else if (kind < 45) {
      a.cost = r->held + RandomAmount();  // more than it holds
    } else if (kind < 50) {
      // More than the hold and all the credit: the rest is uncollected.
      a.cost = r->held + std::max<int64_t>(0, Available(r->caller)) + RandomAmount();
    } else if (kind < 55) {
      a.cost = 0;
    } else if (kind < 90) {
      a.duration = rng_.Between(0, 1200);                       // priced at the rate
      if (rng_.Percent(10)) a.cost = rng_.Between(0, r->held);  // the cost wins
    }  // else: neither, a call that cost nothing
    if (rng_.Percent(20)) a.destination = StrCat("+3491", rng_.Between(1000000, 9999999));
    if (rng_.Percent(20)) a.started_at = Now() - rng_.Between(1, 600) * kMicrosPerSecond;
    a.trim = rng_.Percent(50);
    DoSettle(a);
  }

  void NewRelease() {
    const ModelReservation* r = PickReservation();
    if (r == nullptr) return NewReserve();
    ReleaseArgs a;
    a.reservation_id = r->id;
    a.node = rng_.Percent(90) ? r->node : std::string("node-z");
    DoRelease(a);
  }

  void NewSync() {
    const std::string node = RandomNode();
    std::vector<std::string> keep;
    for (const std::string& id : open_) {
      if (reservations_.at(id).node == node && rng_.Percent(60)) keep.push_back(id);
    }
    if (rng_.Percent(20)) keep.push_back("call-gone-leg1");
    if (rng_.Percent(20) && !open_.empty()) keep.push_back(*open_.begin());
    DoSync(node, keep);
  }

  void NewCredit() {
    const size_t i = rng_.Below(callers_.size());
    const ModelCallerId& c = callers_[i];
    CreditArgs a;
    const uint64_t how = rng_.Below(100);
    if (how < 2) {
      a.callerid_id = 9999;  // unknown
    } else if (how < 15) {
      a.number = c.number;
    } else {
      a.callerid_id = c.id;
    }
    if (c.unlimited) {
      a.amount = RandomAmount();
      if (rng_.Percent(4)) a.amount = -a.amount;
    } else if (rng_.Percent(30)) {
      const int64_t available = Available(i);
      a.amount =
          -(rng_.Percent(70) ? rng_.Between(1, std::max<int64_t>(1, available)) : RandomAmount());
    } else {
      a.amount = rng_.Percent(80) ? rng_.Between(1, 60) * kUnit : RandomAmount();
    }
    if (rng_.Percent(30)) a.order_no = StrCat("PO-", rng_.Between(100, 999));
    if (rng_.Percent(30)) a.description = "top-up";
    if (rng_.Percent(40)) a.request_id = StrCat("recharge-", ++next_request_);
    a.trim = rng_.Percent(50);
    DoCredit(a);
  }

  void NewAuthorize() {
    const size_t i = rng_.Below(callers_.size());
    const ModelCallerId& c = callers_[i];
    std::string pin;
    const uint64_t roll = rng_.Below(100);
    if (!c.pin.empty()) {
      if (roll < 55) {
        pin = c.pin;
      } else if (roll < 85) {
        pin = "999999";  // never a PIN we set
      }
    } else if (roll < 20) {
      pin = "4321";  // a PIN where none is needed is ignored
    }
    std::optional<RateModel> rate;
    if (rng_.Percent(50)) rate = RandomRate();
    const bool trim = rng_.Percent(50);
    DoAuthorize(i, pin, rate, trim);
  }

  void NewUpdate() {
    const size_t i = rng_.Below(callers_.size());
    std::optional<bool> enable;
    std::optional<std::string> pin;
    bool reset = false;
    const uint64_t roll = rng_.Below(100);
    if (roll < 50) {
      enable = rng_.Percent(65);
    } else if (roll < 65) {
      pin = rng_.Percent(70) ? RandomPin() : std::string();  // a new PIN, or none
    } else if (roll < 85) {
      reset = true;
    } else {
      enable = rng_.Percent(65);
      reset = true;
    }
    const bool by_alias = rng_.Percent(30);
    DoUpdate(i, enable, pin, reset, by_alias);
  }

  void NewAddCallerId() {
    if (callers_.size() >= kMaxCallerIds) return NewCredit();
    const bool unlimited = rng_.Percent(40);
    std::optional<int64_t> initial;
    if (!unlimited && rng_.Percent(70)) initial = rng_.Between(1, 50) * kUnit;
    std::string pin;
    if (rng_.Percent(50)) pin = RandomPin();
    const bool enabled = rng_.Percent(70);
    const bool status_given = rng_.Percent(50);
    DoAddCallerId(NextNumber(), pin, unlimited, initial, enabled, status_given);
  }

  // Calls that name what does not exist.
  void Unknown() {
    const std::string id = StrCat("call-unknown-", rng_.Between(1, 1000000));
    switch (rng_.Below(4)) {
      case 0: {
        ReserveArgs a;
        ++next_reservation_;
        a.reservation_id = StrCat("call-", next_reservation_, "-leg1");
        a.number = kUnknownNumber;
        a.amount = RandomAmount();
        a.node = RandomNode();
        return DoReserve(a);
      }
      case 1: {
        ExtendArgs a;
        a.reservation_id = id;
        a.amount = RandomAmount();
        return DoExtend(a);
      }
      case 2: {
        SettleArgs a;
        a.reservation_id = id;
        a.cost = RandomAmount();
        return DoSettle(a);
      }
      default: {
        ReleaseArgs a;
        a.reservation_id = id;
        return DoRelease(a);
      }
    }
  }

  // Repeats an earlier call that wrote something: with the same arguments (sometimes with
  // its money written differently), or with other arguments for the same key.
  void Retry(bool same) {
    if (history_.empty()) return NewReserve();
    Recorded call = history_[rng_.Below(history_.size())];
    const bool retrim = rng_.Percent(30);
    if (auto* a = std::get_if<ReserveArgs>(&call)) {
      if (retrim) a->trim = !a->trim;
      if (!same) {
        const uint64_t what = rng_.Below(3);
        if (what == 0 && a->amount != 0) {
          a->amount += 10000;
        } else if (what == 0) {
          a->seconds = a->seconds == kDaySeconds ? a->seconds - 1 : a->seconds + 1;
        } else if (what == 1) {
          a->ttl = a->ttl == 600 ? 601 : 600;
        } else {
          a->node = a->node == "node-z" ? "node-y" : "node-z";
        }
      }
      DoReserve(*a);
    } else if (auto* a = std::get_if<ExtendArgs>(&call)) {
      if (retrim) a->trim = !a->trim;
      if (!same) {
        if (a->seconds != 0) {
          a->seconds = a->seconds == kDaySeconds ? a->seconds - 1 : a->seconds + 1;
        } else {
          a->amount += 10000;
        }
      }
      DoExtend(*a);
    } else if (auto* a = std::get_if<SettleArgs>(&call)) {
      if (retrim) a->trim = !a->trim;
      if (!same) {
        if (a->cost.has_value()) {
          *a->cost += 1;
        } else {
          a->duration += 1;
        }
      }
      DoSettle(*a);
    } else if (auto* a = std::get_if<ReleaseArgs>(&call)) {
      if (!same) a->node = a->node == "node-z" ? "node-y" : "node-z";
      DoRelease(*a);
    } else if (auto* a = std::get_if<CreditArgs>(&call)) {
      if (retrim) a->trim = !a->trim;
      if (!same) a->amount += a->amount == -kUnit ? 2 * kUnit : kUnit;  // never zero
      DoCredit(*a);
    }
  }

  // ---- The end: reopen, retry across the restart, verify the projections. ----------------

  std::vector<v1::CallerId> Snapshot() {
    std::vector<v1::CallerId> all;
    for (const ModelCallerId& c : callers_) {
      v1::GetCallerIdRequest request;
      request.set_callerid_id(c.id);
      absl::StatusOr<v1::CallerId> got = ledger_->GetCallerId(request);
      if (!got.ok()) {
        Fail(StrCat("GetCallerId ", c.id, ": ", got.status().ToString()));
        return all;
      }
      all.push_back(*got);
    }
    return all;
  }

  void Finish() {
    op_ = "Shutdown and reopen";
    const std::vector<v1::CallerId> before = Snapshot();
    const uint64_t last = ledger_->last_sequence();
    ledger_->Shutdown();
    ledger_.reset();
    Open();
    if (failed_) return;
    if (ledger_->last_sequence() != last) {
      return Fail(StrCat("the reopened log ends at ", ledger_->last_sequence(), ", not ", last));
    }
    const std::vector<v1::CallerId> after = Snapshot();
    for (size_t i = 0; i < before.size() && i < after.size(); ++i) {
      std::string diff;
      if (!Equal(before[i], after[i], &diff)) {
        return Fail(StrCat("CallerID ", before[i].id(), " changed across the restart: ", diff));
      }
    }
    CheckCallerIds();

    // Retries after the restart are still answered from the log.
    const int end = step_ + kStepsAfterReopen;
    for (; step_ < end && !failed_; ++step_) {
      Retry(/*same=*/rng_.Percent(80));
      if (!failed_) CheckCallerIds();
    }
    if (failed_) return;

    op_ = "VerifyProjections";
    ledger_->Shutdown();
    ledger_.reset();
    StoreOptions store_options;
    store_options.path = options_.data_dir;
    store_options.read_only = true;
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(store_options);
    if (!store.ok()) return Fail(StrCat("Store::Open: ", store.status().ToString()));
    absl::StatusOr<VerifyReport> report = VerifyProjections(store->get());
    if (!report.ok()) return Fail(StrCat("VerifyProjections: ", report.status().ToString()));
    if (report->events != expected_sequence_ || report->differences != 0) {
      Fail(StrCat("VerifyProjections replayed ", report->events, " events (the model wrote ",
                  expected_sequence_, ") and found ", report->differences,
                  " differences: ", absl::StrJoin(report->samples, "; ")));
    }
  }

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

std::vector<uint64_t> Seeds() {
  if (const char* seed = getenv("SIMULATION_SEED"); seed != nullptr && *seed != '\0') {
    return {std::strtoull(seed, nullptr, 0)};
  }
  return std::vector<uint64_t>(std::begin(kDefaultSeeds), std::end(kDefaultSeeds));
}

int Steps() {
  if (const char* steps = getenv("SIMULATION_STEPS"); steps != nullptr && *steps != '\0') {
    return std::max(1, atoi(steps));
  }
  return kDefaultSteps;
}

TEST(SimulationTest, CallCreditProtocolAgreesWithTheModel) {
  for (uint64_t seed : Seeds()) {
    SCOPED_TRACE(StrCat("seed=", seed, " (replay: SIMULATION_SEED=", seed, ")"));
    Simulation simulation(seed, Steps());
    simulation.Run();
  }
}

}  // namespace
}  // namespace callbackledger
