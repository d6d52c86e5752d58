// A GoogleTest fixture for tests of the Ledger facade: a Ledger on a fresh temporary
// directory with a FakeClock, helpers that wait for asynchronous writes, and a check that
// the stored projections equal a replay of the log; and AllEvents(), the whole event log.
#ifndef CALLBACKLEDGER_LEDGER_TESTING_LEDGER_FIXTURE_H_
#define CALLBACKLEDGER_LEDGER_TESTING_LEDGER_FIXTURE_H_

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "callbackledger/v1/events.pb.h"
#include "gtest/gtest.h"
#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "ledger/replay.h"
#include "ledger/store.h"

namespace callbackledger {
namespace testing {

// Every event of the log, read through the ledger; checks that the sequences run from 1
// to last_sequence without a gap.
inline std::vector<v1::Event> AllEvents(Ledger* ledger) {
  std::vector<v1::Event> events;
  const uint64_t last = ledger->last_sequence();
  while (events.size() < last) {
    v1::ReadEventsRequest request;
    request.set_from_sequence(events.size() + 1);
    request.set_page_size(1000);
    absl::StatusOr<v1::ReadEventsResponse> page = ledger->ReadEvents(request);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok() || page->events().empty()) break;
    for (const v1::Event& event : page->events()) {
      EXPECT_EQ(event.sequence(), events.size() + 1) << "a gap in the event log";
      events.push_back(event);
    }
  }
  EXPECT_EQ(events.size(), last) << "the log does not reach last_sequence";
  return events;
}

class LedgerFixture : public ::testing::Test {
 protected:
  // `name` names the temporary directory; `actor` is recorded in every event written.
  LedgerFixture(std::string name, std::string actor, int64_t start_micros)
      : name_(std::move(name)), actor_(std::move(actor)), clock_(start_micros) {}

  // Options before the first Open(): data_dir, USD with 2 decimals, the FakeClock.
  virtual void Configure(LedgerOptions* options) {}

  void SetUp() override {
    std::string pattern = "/tmp/" + name_ + ".XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    options_.data_dir = dir_ + "/data";
    options_.currency = "USD";
    options_.decimals = 2;
    options_.clock = &clock_;
    Configure(&options_);
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  void TearDown() override {
    ledger_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open() {
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(options_);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);
  }

  void Reopen() {
    ledger_.reset();
    Open();
  }

  // The stopped ledger's data directory, opened read-write (to change its rows behind the
  // ledger's back) or read-only (as ledgerctl verify opens it).
  absl::StatusOr<std::unique_ptr<Store>> OpenStore(bool read_only = false) const {
    StoreOptions store_options;
    store_options.path = options_.data_dir;
    store_options.read_only = read_only;
    return Store::Open(store_options);
  }
  absl::StatusOr<std::unique_ptr<Store>> OpenStoreReadOnly() const { return OpenStore(true); }

  // Stops the ledger and checks that its stored projections equal a replay of its log:
  // every row, none missing, none extra.
  void ExpectProjectionsVerify() {
    if (ledger_ != nullptr) ledger_->Shutdown();
    ledger_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStoreReadOnly();
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<uint64_t> last = (*store)->LastSequence();
    ASSERT_TRUE(last.ok()) << last.status();
    absl::StatusOr<VerifyReport> report = VerifyProjections(store->get());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->events, *last);
    EXPECT_GT(report->rows_checked, 0u);
    EXPECT_EQ(report->differences, 0u);
    for (const std::string& sample : report->samples) ADD_FAILURE() << sample;
  }

  // Starts an asynchronous write; the future holds its answer.
  template <typename Request, typename Reply>
  std::future<absl::StatusOr<Reply>> Start(void (Ledger::*method)(const Request&, const Origin&,
                                                                  Done<Reply>),
                                           const Request& request) {
    return StartAs(method, request, Origin(actor_));
  }

  // The same, on behalf of `origin` (an actor and a deadline) instead of the fixture's actor.
  template <typename Request, typename Reply>
  std::future<absl::StatusOr<Reply>> StartAs(void (Ledger::*method)(const Request&, const Origin&,
                                                                    Done<Reply>),
                                             const Request& request, const Origin& origin) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<Reply>>>();
    std::future<absl::StatusOr<Reply>> future = promise->get_future();
    (ledger_.get()->*method)(request, origin, [promise](absl::StatusOr<Reply> reply) {
      promise->set_value(std::move(reply));  // throws (and so fails) if called twice
    });
    return future;
  }

  template <typename Reply>
  static absl::StatusOr<Reply> Wait(std::future<absl::StatusOr<Reply>> future) {
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return absl::DeadlineExceededError("the ledger did not answer within 10 s");
    }
    return future.get();
  }

  // A write, waited for.
  template <typename Request, typename Reply>
  absl::StatusOr<Reply> Call(void (Ledger::*method)(const Request&, const Origin&, Done<Reply>),
                             const Request& request) {
    return Wait(Start(method, request));
  }

  const std::string name_;
  const std::string actor_;
  std::string dir_;
  FakeClock clock_;
  LedgerOptions options_;
  std::unique_ptr<Ledger> ledger_;
};

}  // namespace testing
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_TESTING_LEDGER_FIXTURE_H_
