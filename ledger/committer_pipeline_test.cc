// The committer's pipeline: a group that arrives while the group before it is being
// synced is decided at once, on top of that group's not yet durable changes, and answered
// only after both are durable; if the sync fails, the group decided on top of it is never
// written. The syncs of the write-ahead log are held at a gate the test opens.
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ledger/committer.h"
#include "ledger/ledger.h"
#include "ledger/sync.h"
#include "ledger/testing/ledger_fixture.h"
#include "rocksdb/env.h"

namespace callbackledger {
namespace {

constexpr int64_t kStartMicros = 1700000000000000;
constexpr char kExt[] = "0003*005";

// Holds every sync of the write-ahead log while closed; once opened, lets them through,
// each answered `result`.
class GateEnv : public rocksdb::EnvWrapper {
 public:
  GateEnv() : rocksdb::EnvWrapper(rocksdb::Env::Default()) {}

  rocksdb::Status NewWritableFile(const std::string& path,
                                  std::unique_ptr<rocksdb::WritableFile>* file,
                                  const rocksdb::EnvOptions& options) override {
    rocksdb::Status s = target()->NewWritableFile(path, file, options);
    if (s.ok() && absl::EndsWith(path, ".log")) {
      *file = std::make_unique<GatedFile>(this, std::move(*file));
    }
    return s;
  }

  void Close() {
    MutexLock lock(&mu_);
    open_ = false;
  }
  void Open(rocksdb::Status result) {
    MutexLock lock(&mu_);
    result_ = std::move(result);
    open_ = true;
  }
  // Waits (at most 10 s) until a sync is held at the gate.
  bool AwaitHeldSync() {
    MutexLock lock(&mu_);
    auto held = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return held_ > 0; };
    return mu_.AwaitWithTimeout(Condition(&held), absl::Seconds(10));
  }

 private:
  class GatedFile : public rocksdb::WritableFileWrapper {
   public:
    GatedFile(GateEnv* env, std::unique_ptr<rocksdb::WritableFile> target)
        : rocksdb::WritableFileWrapper(target.get()), env_(env), target_(std::move(target)) {}
    rocksdb::Status Sync() override { return env_->Pass(target_.get(), false); }
    rocksdb::Status Fsync() override { return env_->Pass(target_.get(), true); }

   private:
    GateEnv* const env_;
    std::unique_ptr<rocksdb::WritableFile> target_;
  };

  rocksdb::Status Pass(rocksdb::WritableFile* file, bool fsync) {
    MutexLock lock(&mu_);
    ++held_;
    auto open = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return open_; };
    mu_.Await(Condition(&open));
    --held_;
    if (!result_.ok()) return result_;
    return fsync ? file->Fsync() : file->Sync();
  }

  Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  int held_ ABSL_GUARDED_BY(mu_) = 0;
  rocksdb::Status result_ ABSL_GUARDED_BY(mu_);
};

v1::AddCallerIdRequest AddRequest(const std::string& number, const std::string& request_id) {
  v1::AddCallerIdRequest request;
  request.set_extension(kExt);
  request.set_callback_number(number);
  request.set_initial_credit("10.00");
  request.set_request_id(request_id);
  return request;
}

v1::AddCreditRequest CreditRequest(uint64_t id, const std::string& request_id) {
  v1::AddCreditRequest request;
  request.set_callerid_id(id);
  request.set_amount("5.00");
  request.set_request_id(request_id);
  return request;
}

template <typename Reply>
bool Answered(const std::future<absl::StatusOr<Reply>>& future) {
  return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

class CommitterPipelineTest : public testing::LedgerFixture {
 protected:
  CommitterPipelineTest() : LedgerFixture("committer_test", "committer-test", kStartMicros) {}

  void Configure(LedgerOptions* options) override {
    options->expiry_poll_milliseconds = 0;
    options->env = &env_;
    options->committer.threads = 2;  // the pipeline is what these tests are about
    // Every write goes through the committer's threads (the test's own thread never leads
    // a group, so it is never held at the gate).
    options->committer.commit_when_idle = false;
  }

  // Waits (at most 10 s) until the committer has taken every queued command.
  bool AwaitQueueTaken() {
    for (int i = 0; i < 10000 && ledger_->committer()->queue_depth() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return ledger_->committer()->queue_depth() == 0;
  }

  std::vector<v1::Event> Log() {
    v1::ReadEventsRequest request;
    request.set_from_sequence(1);
    request.set_page_size(1000);
    absl::StatusOr<v1::ReadEventsResponse> read = ledger_->ReadEvents(request);
    EXPECT_TRUE(read.ok()) << read.status();
    return read.ok() ? std::vector<v1::Event>(read->events().begin(), read->events().end())
                     : std::vector<v1::Event>();
  }

  GateEnv env_;
};

TEST_F(CommitterPipelineTest, ArrivalsDuringASyncAreDecidedOnTopOfTheGroupBeingWritten) {
  env_.Close();
  auto added = Start(&Ledger::AddCallerId, AddRequest("+40721000001", "add-a"));
  ASSERT_TRUE(env_.AwaitHeldSync());
  // While the CallerID's group is being synced: a retry of it, and a recharge of the
  // CallerID it adds (which only that group's changes have).
  auto retried = Start(&Ledger::AddCallerId, AddRequest("+40721000001", "add-a"));
  auto credited = Start(&Ledger::AddCredit, CreditRequest(1, "credit-1"));
  ASSERT_TRUE(AwaitQueueTaken());
  const int64_t taken_micros = clock_.NowMicros();
  clock_.AdvanceMicros(60 * 1000000);  // after they were taken
  EXPECT_FALSE(Answered(added));
  EXPECT_FALSE(Answered(retried)) << "answered before the change it replays was durable";
  EXPECT_FALSE(Answered(credited)) << "answered before the change it builds on was durable";
  v1::GetCallerIdRequest get;
  get.set_callerid_id(1);
  EXPECT_EQ(ledger_->GetCallerId(get).status().code(), absl::StatusCode::kNotFound)
      << "a reader saw a change that is not durable";

  env_.Open(rocksdb::Status::OK());
  absl::StatusOr<v1::CallerId> first = Wait(std::move(added));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->id(), 1u);
  absl::StatusOr<v1::CallerId> again = Wait(std::move(retried));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id(), 1u);
  EXPECT_EQ(again->created_at().seconds(), first->created_at().seconds());
  absl::StatusOr<v1::Recharge> recharge = Wait(std::move(credited));
  ASSERT_TRUE(recharge.ok()) << recharge.status();
  EXPECT_EQ(recharge->credit_left(), "15.00");
  // Decided when it was taken, during the first group's sync, not after it.
  EXPECT_EQ(recharge->created_at().seconds(), taken_micros / 1000000);

  std::vector<v1::Event> log = Log();
  ASSERT_EQ(log.size(), 2u) << "the retry wrote";
  EXPECT_EQ(log[0].sequence(), 1u);
  EXPECT_TRUE(log[0].has_caller_id_added());
  EXPECT_EQ(log[1].sequence(), 2u);
  EXPECT_EQ(log[1].request_id(), "credit-1");
}

TEST_F(CommitterPipelineTest, AFailedSyncAlsoRefusesTheGroupDecidedOnTopOfIt) {
  env_.Close();
  auto added = Start(&Ledger::AddCallerId, AddRequest("+40721000001", "add-a"));
  ASSERT_TRUE(env_.AwaitHeldSync());
  auto credited = Start(&Ledger::AddCredit, CreditRequest(1, "credit-1"));
  ASSERT_TRUE(AwaitQueueTaken());

  env_.Open(rocksdb::Status::IOError("simulated: input/output error"));
  absl::Status first = Wait(std::move(added)).status();
  absl::Status second = Wait(std::move(credited)).status();
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable) << first;
  EXPECT_EQ(second.code(), absl::StatusCode::kUnavailable) << second;
  EXPECT_FALSE(ledger_->WriteHealth().ok());
  EXPECT_EQ(ledger_->last_sequence(), 0u);

  // The failed group's bytes may have reached the log (its outcome is unknown); the
  // group decided on top of it was never written.
  env_.Open(rocksdb::Status::OK());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  for (const v1::Event& event : Log()) {
    EXPECT_NE(event.request_id(), "credit-1") << "written on top of a failed write";
  }
}

TEST_F(CommitterPipelineTest, ListenerAndObserverSeeEveryGroupInLogOrder) {
  Mutex mu;
  std::vector<uint64_t> committed;
  size_t observed_commands = 0;
  ledger_->committer()->SetCommitListener([&](const std::vector<v1::Event>& events) {
    MutexLock lock(&mu);
    for (const v1::Event& event : events) committed.push_back(event.sequence());
  });
  ledger_->committer()->SetGroupObserver([&](const GroupStats& stats) {
    MutexLock lock(&mu);
    observed_commands += stats.commands;
  });
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      std::vector<std::future<absl::StatusOr<v1::CallerId>>> answers;
      for (int i = 0; i < kPerThread; ++i) {
        answers.push_back(
            Start(&Ledger::AddCallerId, AddRequest(absl::StrCat("+4072", t, 1000 + i), "")));
      }
      for (auto& answer : answers) EXPECT_TRUE(Wait(std::move(answer)).ok());
    });
  }
  for (std::thread& thread : threads) thread.join();
  ledger_->Shutdown();  // the observer runs after the answers

  MutexLock lock(&mu);
  ASSERT_EQ(committed.size(), size_t{kThreads * kPerThread});
  for (size_t i = 0; i < committed.size(); ++i) EXPECT_EQ(committed[i], i + 1);
  EXPECT_EQ(observed_commands, size_t{kThreads * kPerThread});
}

// With CommitterOptions::commit_when_idle (ledgerd's default), the thread that writes to an
// idle committer commits the write itself; a write that arrives meanwhile is queued for the
// committer's thread, decided on top of the first, and answered after it.
class CommitterLedByCallerTest : public CommitterPipelineTest {
 protected:
  void Configure(LedgerOptions* options) override {
    CommitterPipelineTest::Configure(options);
    options->committer.threads = 1;
    options->committer.commit_when_idle = true;
  }
};

TEST_F(CommitterLedByCallerTest, AnIdleCommittersWriteIsCommittedOnTheCallersThread) {
  const std::thread::id caller = std::this_thread::get_id();
  std::thread::id answered_on;
  absl::StatusOr<v1::CallerId> added = absl::UnknownError("not answered");
  ledger_->AddCallerId(AddRequest("+40721000001", "add-a"), Origin(actor_),
                       [&](absl::StatusOr<v1::CallerId> reply) {
                         answered_on = std::this_thread::get_id();
                         added = std::move(reply);
                       });
  // Answered, durable, before the call returned, on the caller's thread.
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(answered_on, caller);
  EXPECT_EQ(ledger_->last_sequence(), 1u);

  // The first caller is held in its sync: the next write goes to the committer's thread.
  env_.Close();
  std::promise<std::thread::id> first_on;
  std::thread first_caller([&] {
    ledger_->AddCredit(CreditRequest(1, "credit-1"), Origin(actor_),
                       [&](absl::StatusOr<v1::Recharge> reply) {
                         EXPECT_TRUE(reply.ok()) << reply.status();
                         first_on.set_value(std::this_thread::get_id());
                       });
  });
  ASSERT_TRUE(env_.AwaitHeldSync());
  std::promise<std::thread::id> second_on;
  std::promise<std::string> second_credit;
  ledger_->AddCredit(
      CreditRequest(1, "credit-2"), Origin(actor_), [&](absl::StatusOr<v1::Recharge> reply) {
        second_credit.set_value(reply.ok() ? reply->credit_left() : reply.status().ToString());
        second_on.set_value(std::this_thread::get_id());
      });
  ASSERT_TRUE(AwaitQueueTaken());
  auto second_answer = second_on.get_future();
  EXPECT_EQ(second_answer.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "answered before the write before it was durable";
  const std::thread::id first_thread = first_caller.get_id();
  env_.Open(rocksdb::Status::OK());
  first_caller.join();
  EXPECT_EQ(first_on.get_future().get(), first_thread);
  ASSERT_EQ(second_answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const std::thread::id second_thread = second_answer.get();
  EXPECT_NE(second_thread, caller) << "queued, so answered by the committer's thread";
  EXPECT_EQ(second_credit.get_future().get(), "20.00");  // decided on top of credit-1

  std::vector<v1::Event> log = Log();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1].request_id(), "credit-1");
  EXPECT_EQ(log[2].request_id(), "credit-2");
}

}  // namespace
}  // namespace callbackledger
