// The committer under concurrent load, through the Ledger facade: many threads write at
// once while others read and the expiry thread runs. Group commit must answer every
// command exactly once, in the order of the log, with no gap; Stop() must answer a full
// queue; a storage failure under load must refuse every later write while reads go on.
//
// These tests also run under ThreadSanitizer (scripts/test-sanitizers.sh), which checks
// that the committer, the expiry thread and the readers share the state correctly.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/calls.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "callbackledger/v1/events.pb.h"
#include "gtest/gtest.h"
#include "ledger/ledger.h"
#include "ledger/money.h"
#include "ledger/sync.h"
#include "ledger/testing/fault_env.h"
#include "ledger/testing/ledger_fixture.h"
#include "rocksdb/env.h"
#include "rocksdb/status.h"

namespace callbackledger {
namespace {

using ::absl::StrCat;
using ::callbackledger::testing::AllEvents;

constexpr int64_t kStartMicros = 1700000000000000;  // 2023-11-14T22:13:20Z
constexpr char kExt[] = "0003*005";
constexpr int kWriters = 4;
constexpr int kReaders = 2;
constexpr absl::Duration kPatience = absl::Seconds(60);  // a bound on every wait, never reached

int64_t Micros(const std::string& money) {
  absl::StatusOr<int64_t> micros = ParseMoney("money", money);
  EXPECT_TRUE(micros.ok()) << micros.status();
  return micros.value_or(-1);
}

std::string Number(int writer) { return StrCat("+4072100000", writer); }

// The answers to the writes of a test, in the order the ledger gave them.
class Answers {
 public:
  explicit Answers(int slots) : times_(slots, 0) {}

  // The answer to the write in `slot`: the event sequence it wrote, or its error.
  void Record(int slot, absl::StatusOr<uint64_t> sequence) {
    MutexLock lock(&mu_);
    ++times_[slot];
    ++answered_;
    if (sequence.ok()) {
      sequences_.push_back(*sequence);
    } else {
      errors_.push_back(sequence.status());
    }
  }

  // The answer (OK) to a write sent outside the slots.
  void RecordExtra(uint64_t sequence) {
    MutexLock lock(&mu_);
    ++answered_;
    sequences_.push_back(sequence);
  }

  // Waits (boundedly) until `count` answers came; false if they did not.
  bool WaitFor(int count) {
    MutexLock lock(&mu_);
    auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return answered_ >= count; };
    return mu_.AwaitWithTimeout(Condition(&enough), kPatience);
  }

  // Every slot below `slots` was answered exactly once.
  void ExpectEachAnsweredOnce(int slots) {
    MutexLock lock(&mu_);
    for (int slot = 0; slot < slots; ++slot) EXPECT_EQ(times_[slot], 1) << "write " << slot;
  }

  std::vector<uint64_t> sequences() {
    MutexLock lock(&mu_);
    return sequences_;
  }
  std::vector<absl::Status> errors() {
    MutexLock lock(&mu_);
    return errors_;
  }

 private:
  Mutex mu_;
  std::vector<int> times_ ABSL_GUARDED_BY(mu_);
  int answered_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<uint64_t> sequences_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Status> errors_ ABSL_GUARDED_BY(mu_);
};

// How the committer runs: its threads, and whether an idle committer's group is led by the
// caller (CommitterOptions).
struct Mode {
  int threads;
  bool commit_when_idle;
  const char* name;
};

// Each test runs with the serial committer (1 thread) and the pipelined one (2), each with
// and without callers leading the groups of an idle committer.
class CommitterTest : public testing::LedgerFixture, public ::testing::WithParamInterface<Mode> {
 protected:
  CommitterTest() : LedgerFixture("committer_test", "committer-test", kStartMicros) {}

  void Configure(LedgerOptions* options) override {
    options->expiry_poll_milliseconds = 1;  // the expiry thread runs all along
    options->env = &env_;
    options->committer.threads = GetParam().threads;
    options->committer.commit_when_idle = GetParam().commit_when_idle;
  }

  // One CallerID a writer, each with 100.00; their ids.
  std::vector<uint64_t> AddCallers() {
    std::vector<uint64_t> ids;
    for (int w = 0; w < kWriters; ++w) {
      v1::AddCallerIdRequest request;
      request.set_extension(kExt);
      request.set_callback_number(Number(w));
      request.set_initial_credit("100.00");
      absl::StatusOr<v1::CallerId> added = Call(&Ledger::AddCallerId, request);
      EXPECT_TRUE(added.ok()) << added.status();
      ids.push_back(added.ok() ? added->id() : 0);
    }
    return ids;
  }

  // Queues a recharge of 0.01 with a request id; its answer goes to `answers`.
  void StartRecharge(uint64_t callerid, int slot, Answers* answers) {
    v1::AddCreditRequest request;
    request.set_callerid_id(callerid);
    request.set_amount("0.01");
    request.set_request_id(StrCat("recharge-", slot));
    ledger_->AddCredit(request, Origin(actor_), [answers, slot](absl::StatusOr<v1::Recharge> r) {
      answers->Record(slot, r.ok() ? absl::StatusOr<uint64_t>(r->id()) : r.status());
    });
  }

  // Queues a hold of 0.50 for a second on the CallerID of `writer`; `answers` gets 0 when
  // it was allowed.
  void StartHold(int writer, int slot, Answers* answers) {
    v1::ReserveRequest request;
    request.set_reservation_id(StrCat("hold-", slot));
    request.set_extension(kExt);
    request.set_callback_number(Number(writer));
    request.set_amount("0.50");
    request.set_ttl_seconds(1);
    request.set_node_id("node-1");
    ledger_->Reserve(request, Origin(actor_), [answers, slot](auto reply) {
      answers->Record(slot, reply.ok() && reply->decision() == v1::ALLOWED
                                ? absl::StatusOr<uint64_t>(0)
                                : absl::InternalError("not allowed"));
    });
  }

  // Sends `request` until it is refused because the ledger is shutting down (boundedly);
  // whether it was. Those of them accepted before (when a committer thread had emptied
  // the queue) are counted in `accepted` and recorded in `answers` once answered OK.
  bool RefusedAsShuttingDown(const v1::AddCreditRequest& request, Answers* answers,
                             std::atomic<int>* accepted) {
    auto refusal = std::make_shared<absl::Status>();
    for (int i = 0; i < 60000 && !absl::StrContains(refusal->message(), "shutting down"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ledger_->AddCredit(request, Origin(actor_),
                         [refusal, answers, accepted](absl::StatusOr<v1::Recharge> r) {
                           if (r.ok()) {
                             ++*accepted;
                             answers->RecordExtra(r->id());
                           } else {
                             *refusal = r.status();
                           }
                         });
    }
    EXPECT_EQ(refusal->code(), absl::StatusCode::kUnavailable) << *refusal;
    return absl::StrContains(refusal->message(), "shutting down");
  }

  // Starts kReaders threads that read until `stop`: every read succeeds, every CallerID
  // shows available = credit left - held, and last_sequence never goes back.
  std::vector<std::thread> StartReaders(const std::vector<uint64_t>& ids,
                                        const std::atomic<bool>& stop) {
    std::vector<std::thread> readers;
    for (int r = 0; r < kReaders; ++r) {
      readers.emplace_back([this, &ids, &stop] {
        uint64_t last = 0;
        for (int round = 0; round < 100000 && !stop.load(); ++round) {
          const uint64_t now = ledger_->last_sequence();
          EXPECT_GE(now, last) << "last_sequence went back";
          last = now;
          v1::GetCallerIdRequest get;
          get.set_callerid_id(ids[round % ids.size()]);
          absl::StatusOr<v1::CallerId> callerid = ledger_->GetCallerId(get);
          ASSERT_TRUE(callerid.ok()) << callerid.status();
          EXPECT_EQ(Micros(callerid->available_credit()),
                    Micros(callerid->credit_left()) - Micros(callerid->held_credit()));
          v1::ListCallerIdsRequest list;
          list.set_page_size(100);
          absl::StatusOr<v1::ListCallerIdsResponse> page = ledger_->ListCallerIds(list);
          ASSERT_TRUE(page.ok()) << page.status();
          EXPECT_EQ(page->caller_ids_size(), kWriters);
        }
      });
    }
    return readers;
  }

  testing::FaultEnv env_{rocksdb::Env::Default()};
};

TEST_P(CommitterTest, ConcurrentWritesAreAnsweredOnceInLogOrderWhileReadsAndExpiryRun) {
  constexpr int kRechargesPerWriter = 60;
  constexpr int kReservesPerWriter = 20;  // 0.50 each, released by the expiry thread
  const std::vector<uint64_t> ids = AddCallers();
  const uint64_t setup = ledger_->last_sequence();
  Answers recharges(kWriters * kRechargesPerWriter);
  Answers reserves(kWriters * kReservesPerWriter);

  std::atomic<bool> stop{false};
  std::vector<std::thread> readers = StartReaders(ids, stop);
  std::thread clock([this, &stop] {
    for (int i = 0; i < 2000 && !stop.load(); ++i) {  // the reservations expire meanwhile
      clock_.AdvanceMicros(100000);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      // Nothing waits for an answer here, so commands pile up and are committed in groups.
      for (int i = 0; i < kRechargesPerWriter; ++i) {
        StartRecharge(ids[w], w * kRechargesPerWriter + i, &recharges);
        if (i % 3 != 0) continue;
        StartHold(w, w * kReservesPerWriter + i / 3, &reserves);
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  ASSERT_TRUE(recharges.WaitFor(kWriters * kRechargesPerWriter));
  ASSERT_TRUE(reserves.WaitFor(kWriters * kReservesPerWriter));
  clock_.AdvanceMicros(3600 * 1000000LL);
  for (int i = 0; i < 60000 && ledger_->open_reservations() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  clock.join();
  for (std::thread& reader : readers) reader.join();

  recharges.ExpectEachAnsweredOnce(kWriters * kRechargesPerWriter);
  reserves.ExpectEachAnsweredOnce(kWriters * kReservesPerWriter);
  EXPECT_TRUE(recharges.errors().empty());
  EXPECT_TRUE(reserves.errors().empty());
  // The log has no gap and holds exactly the writes answered, plus one release each; the
  // recharges were answered in the order of their events in the log.
  EXPECT_EQ(ledger_->open_reservations(), 0u);
  std::vector<uint64_t> recharge_events;
  int opened = 0, released = 0;
  for (const v1::Event& event : AllEvents(ledger_.get())) {
    if (event.has_credit_added() && event.sequence() > setup) {
      recharge_events.push_back(event.sequence());
    }
    opened += event.has_reservation_opened();
    released += event.has_reservation_released();
  }
  EXPECT_EQ(recharges.sequences(), recharge_events);
  const int added = static_cast<int>(recharge_events.size());
  EXPECT_EQ(added, kWriters * kRechargesPerWriter);
  EXPECT_EQ(opened, kWriters * kReservesPerWriter);
  EXPECT_EQ(released, kWriters * kReservesPerWriter);
  EXPECT_EQ(ledger_->last_sequence(), setup + added + opened + released);
  for (uint64_t id : ids) {
    v1::GetCallerIdRequest get;
    get.set_callerid_id(id);
    absl::StatusOr<v1::CallerId> callerid = ledger_->GetCallerId(get);
    ASSERT_TRUE(callerid.ok()) << callerid.status();
    EXPECT_EQ(callerid->credit_left(), "100.60");  // 60 recharges of 0.01; holds charge nothing
    EXPECT_EQ(callerid->available_credit(), "100.60");
  }
}

TEST_P(CommitterTest, StopAnswersEveryCommandOfAFullQueue) {
  constexpr int kCapacity = 16;
  options_.committer.queue_capacity = kCapacity;
  // A group that collects while the one before it is written keeps taking arrivals, up to
  // max_group_size: no larger than the queue here, so that the bound below holds.
  options_.committer.max_group_size = kCapacity;
  options_.expiry_poll_milliseconds = 0;
  ASSERT_NO_FATAL_FAILURE(Reopen());
  const std::vector<uint64_t> ids = AddCallers();
  const uint64_t setup = ledger_->last_sequence();

  // The first write's answer holds the committer until the queue is full and Stop() runs.
  // While it is held, each other committer thread (the second of a pipelined committer,
  // and every one when the first write is led by its caller) may take one more group from
  // the queue (at most max_group_size, kCapacity, writes) and write it, but it cannot
  // answer it before the first: so at most 1 + (1 + others) * kCapacity writes are
  // accepted, and a writer that tries kAttempts times is refused before it is done. The
  // first write is sent from a thread of its own, which leads its group when the committer
  // is idle.
  const int others = GetParam().threads - (GetParam().commit_when_idle ? 0 : 1);
  const int most_accepted = 1 + (1 + others) * kCapacity;
  const int attempts = most_accepted + 1;
  Answers answers(1 + kWriters * attempts);
  std::promise<void> holding;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  v1::AddCreditRequest first;
  first.set_callerid_id(ids[0]);
  first.set_amount("0.01");
  std::thread first_writer([&] {
    ledger_->AddCredit(first, Origin(actor_), [&](absl::StatusOr<v1::Recharge> r) {
      holding.set_value();
      released.wait_for(std::chrono::seconds(60));
      answers.Record(0, r.ok() ? absl::StatusOr<uint64_t>(r->id()) : r.status());
    });
  });
  ASSERT_EQ(holding.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);

  // Writers fill the queue at once; each stops at its first refusal, answered on its own
  // thread before the call returns.
  std::atomic<int> refused_full{0};
  std::atomic<int> accepted{1};  // the first write
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < attempts; ++i) {
        const int slot = 1 + w * attempts + i;
        // An accepted write is answered later, on the committer thread, after this loop.
        auto refusal = std::make_shared<absl::Status>();
        v1::AddCreditRequest request;
        request.set_callerid_id(ids[w]);
        request.set_amount("0.01");
        ledger_->AddCredit(
            request, Origin(actor_), [&answers, refusal, slot](absl::StatusOr<v1::Recharge> r) {
              if (!r.ok()) *refusal = r.status();
              answers.Record(slot, r.ok() ? absl::StatusOr<uint64_t>(r->id()) : r.status());
            });
        if (!refusal->ok()) {
          EXPECT_EQ(refusal->code(), absl::StatusCode::kUnavailable) << *refusal;
          EXPECT_TRUE(absl::StrContains(refusal->message(), "queue is full")) << *refusal;
          ++refused_full;
          return;
        }
        ++accepted;
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(refused_full.load(), kWriters);
  const size_t depth = ledger_->committer()->queue_depth();
  if (GetParam().threads == 1 && !GetParam().commit_when_idle) {
    EXPECT_EQ(depth, static_cast<size_t>(kCapacity));
  } else {
    // Full at the last refusal; since then a group still collecting may have taken any part
    // of it (up to its max_group_size), so only the bound holds.
    EXPECT_LE(depth, static_cast<size_t>(kCapacity));
  }

  // Stop() while the queue is full: it refuses new writes, then answers the queued ones.
  std::thread stopper([this] { ledger_->Shutdown(); });
  std::atomic<int> probes_accepted{0};
  EXPECT_TRUE(RefusedAsShuttingDown(first, &answers, &probes_accepted));
  release.set_value();
  stopper.join();
  first_writer.join();

  // Every accepted write (the queue's kCapacity, the first, what other threads took, and
  // probes sent before Stop() into a queue a thread had emptied) was answered once, OK, in
  // log order, with no gap; the refused ones wrote nothing.
  const int taken = accepted.load() + probes_accepted.load();
  EXPECT_GE(taken, 1 + kCapacity);
  EXPECT_LE(accepted.load(), most_accepted);
  ASSERT_TRUE(answers.WaitFor(taken + kWriters));
  std::vector<uint64_t> sequences = answers.sequences();
  ASSERT_EQ(sequences.size(), static_cast<size_t>(taken));
  for (size_t i = 0; i < sequences.size(); ++i) EXPECT_EQ(sequences[i], setup + 1 + i);
  EXPECT_EQ(answers.errors().size(), static_cast<size_t>(kWriters));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(ledger_->last_sequence(), setup + taken);
  EXPECT_EQ(AllEvents(ledger_.get()).size(), setup + taken);
}

TEST_P(CommitterTest, AStorageFailureUnderLoadRefusesEveryLaterWriteWhileReadsGoOn) {
  constexpr int kMaxWrites = 400;    // per writer
  constexpr int kWritesBefore = 40;  // acknowledged in all before the disk fails
  constexpr int kRefusalsAfter = 5;  // each writer stops at its fifth refusal
  const std::vector<uint64_t> ids = AddCallers();
  const uint64_t setup = ledger_->last_sequence();

  std::atomic<bool> stop{false};
  std::vector<std::thread> readers = StartReaders(ids, stop);
  std::atomic<int> acknowledged{0};
  std::vector<std::vector<absl::StatusOr<uint64_t>>> outcomes(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      int refusals = 0;
      for (int i = 0; i < kMaxWrites && refusals < kRefusalsAfter; ++i) {
        v1::AddCreditRequest request;
        request.set_callerid_id(ids[w]);
        request.set_amount("0.01");
        request.set_request_id(StrCat("w", w, "-", i));
        absl::StatusOr<v1::Recharge> r = Call(&Ledger::AddCredit, request);
        outcomes[w].push_back(r.ok() ? absl::StatusOr<uint64_t>(r->id()) : r.status());
        if (!r.ok()) {
          ++refusals;
        } else if (++acknowledged == kWritesBefore) {  // the disk fails while the others write
          env_.FailWalAppends(rocksdb::Status::IOError("simulated: input/output error"));
        }
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  const uint64_t last = ledger_->last_sequence();
  stop = true;
  for (std::thread& reader : readers) reader.join();

  // Each writer saw its writes succeed, then fail with UNAVAILABLE, never succeed again.
  std::vector<uint64_t> acknowledged_sequences;
  for (int w = 0; w < kWriters; ++w) {
    SCOPED_TRACE(StrCat("writer ", w));
    bool failed = false;
    int ok = 0;
    for (const absl::StatusOr<uint64_t>& outcome : outcomes[w]) {
      if (outcome.ok()) {
        EXPECT_FALSE(failed) << "write " << *outcome << " acknowledged after a refusal";
        acknowledged_sequences.push_back(*outcome);
        ++ok;
      } else {
        EXPECT_EQ(outcome.status().code(), absl::StatusCode::kUnavailable) << outcome.status();
        failed = true;
      }
    }
    EXPECT_TRUE(failed) << "no write failed";
    // Reads go on and show exactly the acknowledged recharges.
    v1::GetCallerIdRequest get;
    get.set_callerid_id(ids[w]);
    absl::StatusOr<v1::CallerId> callerid = ledger_->GetCallerId(get);
    ASSERT_TRUE(callerid.ok()) << callerid.status();
    EXPECT_EQ(Micros(callerid->credit_left()), Micros("100.00") + ok * Micros("0.01"));
  }
  EXPECT_GE(acknowledged.load(), kWritesBefore);
  EXPECT_EQ(ledger_->WriteHealth().code(), absl::StatusCode::kUnavailable);
  EXPECT_GE(env_.faults_injected(), 1u);
  // The log holds the acknowledged writes and nothing else, with no gap.
  EXPECT_EQ(last, setup + acknowledged_sequences.size());
  std::vector<uint64_t> logged;
  for (const v1::Event& event : AllEvents(ledger_.get())) {
    if (event.sequence() > setup) logged.push_back(event.sequence());
  }
  std::sort(acknowledged_sequences.begin(), acknowledged_sequences.end());
  EXPECT_EQ(logged, acknowledged_sequences);
}

INSTANTIATE_TEST_SUITE_P(Modes, CommitterTest,
                         ::testing::Values(Mode{1, false, "Serial"}, Mode{2, false, "Pipelined"},
                                           Mode{1, true, "SerialLedByIdleCallers"},
                                           Mode{2, true, "PipelinedLedByIdleCallers"}),
                         [](const ::testing::TestParamInfo<Mode>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace callbackledger
