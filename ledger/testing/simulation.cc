// The run of a Simulation (simulation.h): its reports, the ledger it opens, the model and
// the checks against it, and the end of a run.
#include "ledger/testing/simulation.h"

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "gtest/gtest.h"
#include "ledger/ledger.h"
#include "ledger/money.h"
#include "ledger/replay.h"
#include "ledger/store.h"
#include "projections/state.h"

namespace callbackledger::simulation {

using ::absl::StrCat;
using ::google::protobuf::Message;

void Simulation::Run() {
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

// ---- Reporting --------------------------------------------------------------------------

std::string Simulation::Where() const {
  return StrCat("seed=", seed_, " step=", step_, " (replay: SIMULATION_SEED=", seed_, ") op=", op_);
}

void Simulation::Fail(const std::string& what) {
  if (failed_) return;
  ADD_FAILURE() << Where() << "\n  " << what;
  failed_ = true;
}

void Simulation::Flaw(const std::string& kind, const std::string& what) {
  int& count = flaws_[kind];
  ++count;
  if (count <= kFlawsShown) ADD_FAILURE() << Where() << "\n  " << kind << ": " << what;
}

void Simulation::Count(const std::string& what) { ++stats_[what]; }

bool Simulation::ExpectWrites(uint64_t before, uint64_t events) {
  expected_sequence_ += events;
  const uint64_t after = ledger_->last_sequence();
  if (after - before == events && after == expected_sequence_) return true;
  Fail(StrCat("expected ", events, " event(s) written; the log went from ", before, " to ", after,
              " (the model expects ", expected_sequence_, ")"));
  return false;
}

bool Simulation::ExpectReply(const Message& got, const Message& want, const char* rpc) {
  std::string diff;
  if (Equal(want, got, &diff)) return true;
  Fail(StrCat(rpc, " answered", Describe(got), "\n  the model expects", Describe(want), "\n  ",
              diff));
  return false;
}

void Simulation::ExpectSameReply(const Message& got, const Message& first, const std::string& rpc) {
  std::string diff;
  if (Equal(first, got, &diff)) {
    Count(StrCat(rpc, " retry replayed"));
    return;
  }
  Flaw(StrCat(rpc, " retried with the same arguments did not repeat the first answer"),
       StrCat("first", Describe(first), "\n  retry", Describe(got), "\n  ", diff));
}

bool Simulation::ParseField(const char* field, const std::string& text, int64_t* value,
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

void Simulation::Open() {
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(options_);
  if (!ledger.ok()) return Fail(StrCat("Ledger::Open: ", ledger.status().ToString()));
  ledger_ = *std::move(ledger);
}

absl::StatusOr<uint64_t> Simulation::CallExpireDue() {
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

int64_t Simulation::Now() { return clock_.NowMicros(); }

int64_t Simulation::Held(size_t caller) const {
  int64_t held = 0;
  for (const std::string& id : open_) {
    const ModelReservation& r = reservations_.at(id);
    if (r.caller == caller) held += r.counted_held;
  }
  return held;
}

uint32_t Simulation::OpenCount(size_t caller) const {
  uint32_t count = 0;
  for (const std::string& id : open_) count += reservations_.at(id).caller == caller ? 1 : 0;
  return count;
}

int64_t Simulation::Available(size_t caller) const {
  return callers_[caller].credit_left() - Held(caller);
}

uint32_t Simulation::ActiveCount() const {
  uint32_t active = 0;
  for (const ModelCallerId& c : callers_) active += c.enabled ? 1 : 0;
  return active;
}

std::optional<size_t> Simulation::FindNumber(const std::string& number) const {
  for (size_t i = 0; i < callers_.size(); ++i) {
    if (callers_[i].number == number) return i;
  }
  return std::nullopt;
}

std::optional<size_t> Simulation::FindId(uint64_t id) const {
  for (size_t i = 0; i < callers_.size(); ++i) {
    if (callers_[i].id == id) return i;
  }
  return std::nullopt;
}

void Simulation::Close(ModelReservation& r, ResState state) {
  r.state = state;
  r.held = 0;
  r.counted_held = 0;
  open_.erase(r.id);
}

void Simulation::CheckCaller(const v1::CallerId& got, size_t i, const char* source) {
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
  if (ParseField("held_credit", got.held_credit(), &held_shown, &problems) && held_shown != held) {
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
    Fail(StrCat(source, " of CallerID ", c.id, " (", c.number, "): ", absl::StrJoin(problems, "; "),
                "\n  got", Describe(got)));
  }
}

void Simulation::CheckCallerIds() {
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

// ---- The end: reopen, retry across the restart, verify the projections. ----------------

std::vector<v1::CallerId> Simulation::Snapshot() {
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

void Simulation::Finish() {
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

}  // namespace callbackledger::simulation
