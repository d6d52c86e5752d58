// Power loss and storage failures (SPEC section 5: "an acknowledged change is durable: it
// survives kill -9 and power loss"), through the public Ledger facade on a real RocksDB
// store whose files go through a fault-injecting rocksdb::Env (ledger/testing/fault_env.h:
// a power loss drops every byte that was not synced; it can fail the appends or the syncs
// of the write-ahead log with an IOError or with NoSpace).
//
// The tests show that (a) every change the ledger acknowledged (done called with OK)
// survives a power loss that comes at a random moment of a concurrent load, that a retry
// of it answers the first answer and writes nothing, and that the projections equal a
// replay of the log; (b) a failed sync or write makes the ledger refuse every later write
// (UNAVAILABLE, WriteHealth() not OK), reads go on and show no half-applied change, and
// after a reopen nothing of the failed group is there; (c) so does a full disk.
//
// A seed reproduces the load of (a): DURABILITY_SEED=<seed> ledger/durability_test, and
// DURABILITY_CYCLES=<n> sets the number of power losses.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/calls.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "callbackledger/v1/events.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "ledger/replay.h"
#include "ledger/store.h"
#include "ledger/testing/fault_env.h"
#include "ledger/testing/ledger_fixture.h"
#include "rocksdb/env.h"
#include "rocksdb/status.h"

namespace callbackledger {
namespace {

using ::absl::StrCat;
using ::callbackledger::testing::AllEvents;
using ::callbackledger::testing::FaultEnv;
using ::google::protobuf::Message;
using ::google::protobuf::util::MessageDifferencer;

constexpr int64_t kStartMicros = 1700000000000000;  // 2023-11-14T22:13:20Z
constexpr char kActor[] = "durability-test";
constexpr char kExt[] = "0003*005";
constexpr uint64_t kDefaultSeed = 20240917;
constexpr int kDefaultCycles = 8;
constexpr int kWorkers = 3;
// Each worker of the load makes at most this many requests per power-loss cycle.
constexpr int kMaxOpsPerWorker = 400;

// ---------------------------------------------------------------------------------------
// Calling the ledger.

template <typename Request, typename Reply>
using Method = void (Ledger::*)(const Request&, const Origin&, Done<Reply>);

template <typename Request, typename Reply>
std::future<absl::StatusOr<Reply>> Start(Ledger* ledger, Method<Request, Reply> method,
                                         const Request& request) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<Reply>>>();
  std::future<absl::StatusOr<Reply>> future = promise->get_future();
  (ledger->*method)(request, kActor, [promise](absl::StatusOr<Reply> reply) {
    promise->set_value(std::move(reply));  // throws (and so fails) if called twice
  });
  return future;
}

template <typename Reply>
absl::StatusOr<Reply> Wait(std::future<absl::StatusOr<Reply>> future) {
  if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    return absl::DeadlineExceededError("the ledger did not answer within 20 s");
  }
  return future.get();
}

template <typename Request, typename Reply>
absl::StatusOr<Reply> Call(Ledger* ledger, Method<Request, Reply> method, const Request& request) {
  return Wait(Start(ledger, method, request));
}

v1::AddCallerIdRequest AddRequest(const std::string& number, const std::string& credit,
                                  const std::string& request_id) {
  v1::AddCallerIdRequest request;
  request.set_extension(kExt);
  request.set_callback_number(number);
  request.set_initial_credit(credit);
  request.set_request_id(request_id);
  return request;
}

v1::AddCreditRequest CreditRequest(uint64_t id, const std::string& amount,
                                   const std::string& request_id) {
  v1::AddCreditRequest request;
  request.set_callerid_id(id);
  request.set_amount(amount);
  request.set_request_id(request_id);
  return request;
}

v1::ReserveRequest ReserveRequest(const std::string& reservation_id, const std::string& number,
                                  const std::string& amount) {
  v1::ReserveRequest request;
  request.set_reservation_id(reservation_id);
  request.set_extension(kExt);
  request.set_callback_number(number);
  request.set_amount(amount);
  request.set_ttl_seconds(3600);
  request.set_node_id("node-1");
  return request;
}

v1::ExtendRequest ExtendRequest(const std::string& reservation_id, const std::string& amount,
                                const std::string& request_id) {
  v1::ExtendRequest request;
  request.set_reservation_id(reservation_id);
  request.set_amount(amount);
  request.set_request_id(request_id);
  return request;
}

v1::SettleRequest SettleRequest(const std::string& reservation_id, const std::string& cost) {
  v1::SettleRequest request;
  request.set_reservation_id(reservation_id);
  request.set_cost(cost);
  return request;
}

v1::ReleaseRequest ReleaseRequest(const std::string& reservation_id) {
  v1::ReleaseRequest request;
  request.set_reservation_id(reservation_id);
  return request;
}

// One acknowledged write: the request and its answer, to retry it later.
struct Ack {
  enum Kind { kAddCallerId, kAddCredit, kReserve, kExtend, kSettle, kRelease } kind;
  std::shared_ptr<Message> request;
  std::shared_ptr<Message> reply;
};

template <typename Request, typename Reply>
Ack MakeAck(Ack::Kind kind, const Request& request, const Reply& reply) {
  return Ack{kind, std::make_shared<Request>(request), std::make_shared<Reply>(reply)};
}

// Sends the request of `ack` again; the answer or the error.
absl::StatusOr<std::unique_ptr<Message>> Resend(Ledger* ledger, const Ack& ack) {
  auto send = [&](auto method, const auto& request) -> absl::StatusOr<std::unique_ptr<Message>> {
    auto reply = Call(ledger, method, request);
    if (!reply.ok()) return reply.status();
    using Reply = typename std::decay_t<decltype(reply)>::value_type;
    return std::unique_ptr<Message>(std::make_unique<Reply>(*std::move(reply)));
  };
  switch (ack.kind) {
    case Ack::kAddCallerId:
      return send(&Ledger::AddCallerId, static_cast<const v1::AddCallerIdRequest&>(*ack.request));
    case Ack::kAddCredit:
      return send(&Ledger::AddCredit, static_cast<const v1::AddCreditRequest&>(*ack.request));
    case Ack::kReserve:
      return send(&Ledger::Reserve, static_cast<const v1::ReserveRequest&>(*ack.request));
    case Ack::kExtend:
      return send(&Ledger::Extend, static_cast<const v1::ExtendRequest&>(*ack.request));
    case Ack::kSettle:
      return send(&Ledger::Settle, static_cast<const v1::SettleRequest&>(*ack.request));
    case Ack::kRelease:
      return send(&Ledger::Release, static_cast<const v1::ReleaseRequest&>(*ack.request));
  }
  return absl::InternalError("unknown kind");
}

// Opens the stopped data directory and compares every projection row with a replay.
void ExpectProjectionsEqualAReplay(const std::string& data_dir, rocksdb::Env* env) {
  StoreOptions options;
  options.path = data_dir;
  options.env = env;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<VerifyReport> report = VerifyProjections(store->get());
  ASSERT_TRUE(report.ok()) << report.status();
  std::string samples;
  for (const std::string& sample : report->samples) absl::StrAppend(&samples, sample, "\n");
  EXPECT_EQ(report->differences, 0u) << samples;
  absl::StatusOr<uint64_t> last = (*store)->LastSequence();
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(report->events, *last);
}

class DurabilityTest : public testing::LedgerFixture {
 protected:
  DurabilityTest() : LedgerFixture("durability_test", "durability-test", kStartMicros) {}

  void Configure(LedgerOptions* options) override {
    options->license_max_active_callerids = 1000;
    options->expiry_poll_milliseconds = 0;  // nothing writes but the test
    options->env = &env_;
  }

  // Everything a reader can see of the ledger, as text.
  std::string Snapshot() {
    std::string out;
    v1::ListCallerIdsRequest list;
    list.set_page_size(1000);
    absl::StatusOr<v1::ListCallerIdsResponse> callerids = ledger_->ListCallerIds(list);
    EXPECT_TRUE(callerids.ok()) << callerids.status();
    if (!callerids.ok()) return out;
    absl::StrAppend(&out, "callerids: ", callerids->ShortDebugString(), "\n");
    for (const v1::CallerId& callerid : callerids->caller_ids()) {
      v1::ListRechargesRequest recharges;
      recharges.set_callerid_id(callerid.id());
      recharges.set_page_size(1000);
      absl::StatusOr<v1::ListRechargesResponse> history = ledger_->ListRecharges(recharges);
      EXPECT_TRUE(history.ok()) << history.status();
      if (history.ok()) absl::StrAppend(&out, "recharges: ", history->ShortDebugString(), "\n");
    }
    for (const v1::Event& event : AllEvents(ledger_.get())) {
      absl::StrAppend(&out, "event: ", event.ShortDebugString(), "\n");
    }
    absl::StrAppend(&out, "last_sequence: ", ledger_->last_sequence(),
                    " open_reservations: ", ledger_->open_reservations(), "\n");
    return out;
  }

  FaultEnv env_{rocksdb::Env::Default()};
};

// ---------------------------------------------------------------------------------------
// (a) Every acknowledged change survives a power loss.

uint64_t Seed() {
  const char* seed = getenv("DURABILITY_SEED");
  return seed != nullptr && *seed != '\0' ? std::strtoull(seed, nullptr, 0) : kDefaultSeed;
}

int Cycles() {
  const char* cycles = getenv("DURABILITY_CYCLES");
  return cycles != nullptr && *cycles != '\0' ? std::max(1, atoi(cycles)) : kDefaultCycles;
}

// One thread of the load: a CallerID of its own, recharged, reserved against, extended,
// settled and released, every request with its idempotency key. Only what the ledger
// acknowledged is kept.
class Worker {
 public:
  Worker(int index, uint64_t seed) : index_(index), random_(seed) {}

  void set_callerid(uint64_t id, std::string number) {
    callerid_id_ = id;
    number_ = std::move(number);
  }

  // Makes requests until `stop` or kMaxOpsPerWorker; each one waits for its answer.
  void Run(Ledger* ledger, const std::atomic<bool>& stop) {
    for (int i = 0; i < kMaxOpsPerWorker && !stop.load(); ++i) Step(ledger);
  }

  std::vector<Ack>& acks() { return acks_; }
  // Acknowledged requests that wrote an event.
  uint64_t writes() const { return writes_; }
  uint64_t refused() const { return refused_; }

 private:
  std::string Amount(int min_cents, int max_cents) {
    int cents = min_cents + static_cast<int>(random_() % (max_cents - min_cents + 1));
    return StrCat(cents / 100, ".", cents % 100 < 10 ? "0" : "", cents % 100);
  }

  template <typename Request, typename Reply>
  absl::StatusOr<Reply> Do(Ledger* ledger, Method<Request, Reply> method, const Request& request) {
    absl::StatusOr<Reply> reply = callbackledger::Call(ledger, method, request);
    if (!reply.ok()) {
      EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable) << reply.status();
      ++refused_;
    }
    return reply;
  }

  void Step(Ledger* ledger) {
    const std::string key = StrCat("w", index_, "-", next_key_++);
    int choice = static_cast<int>(random_() % 100);
    if (choice >= 55 && open_.empty()) choice = 5;  // nothing to extend or end: recharge
    if (choice < 5) {
      v1::AddCallerIdRequest request =
          AddRequest(StrCat("+4072", index_, 100000 + next_key_), Amount(100, 5000), key);
      absl::StatusOr<v1::CallerId> added = Do(ledger, &Ledger::AddCallerId, request);
      if (added.ok()) Acknowledged(MakeAck(Ack::kAddCallerId, request, *added));
    } else if (choice < 25) {
      v1::AddCreditRequest request = CreditRequest(callerid_id_, Amount(1, 2000), key);
      absl::StatusOr<v1::Recharge> recharge = Do(ledger, &Ledger::AddCredit, request);
      if (recharge.ok()) Acknowledged(MakeAck(Ack::kAddCredit, request, *recharge));
    } else if (choice < 55) {
      v1::ReserveRequest request = ReserveRequest(key, number_, Amount(50, 300));
      absl::StatusOr<v1::ReserveResponse> reserved = Do(ledger, &Ledger::Reserve, request);
      if (reserved.ok() && reserved->decision() == v1::ALLOWED) {
        Acknowledged(MakeAck(Ack::kReserve, request, *reserved));
        open_.push_back(key);
      }
    } else if (choice < 70) {
      v1::ExtendRequest request = ExtendRequest(Pick(), Amount(10, 100), key);
      absl::StatusOr<v1::ExtendResponse> extended = Do(ledger, &Ledger::Extend, request);
      if (extended.ok() && extended->decision() == v1::ALLOWED) {
        Acknowledged(MakeAck(Ack::kExtend, request, *extended));
      }
    } else if (choice < 90) {
      v1::SettleRequest request = SettleRequest(Pick(), Amount(0, 400));
      absl::StatusOr<v1::SettleResponse> settled = Do(ledger, &Ledger::Settle, request);
      if (settled.ok()) {
        Acknowledged(MakeAck(Ack::kSettle, request, *settled));
        Close(request.reservation_id());
      }
    } else {
      v1::ReleaseRequest request = ReleaseRequest(Pick());
      absl::StatusOr<v1::ReleaseResponse> released = Do(ledger, &Ledger::Release, request);
      if (released.ok()) {
        Acknowledged(MakeAck(Ack::kRelease, request, *released));
        Close(request.reservation_id());
      }
    }
  }

  const std::string& Pick() { return open_[random_() % open_.size()]; }

  void Close(const std::string& reservation_id) {
    open_.erase(std::find(open_.begin(), open_.end(), reservation_id));
  }

  void Acknowledged(Ack ack) {
    acks_.push_back(std::move(ack));
    ++writes_;
  }

  const int index_;
  std::mt19937_64 random_;
  uint64_t callerid_id_ = 0;
  std::string number_;
  uint64_t next_key_ = 0;
  std::vector<std::string> open_;  // acknowledged reservations not yet settled or released
  std::vector<Ack> acks_;
  uint64_t writes_ = 0;
  uint64_t refused_ = 0;
};

// Retries every acknowledged request: the same answer, and nothing written.
void ExpectAcknowledgedAreThere(Ledger* ledger, const std::vector<Ack>& acks) {
  const uint64_t before = ledger->last_sequence();
  for (const Ack& ack : acks) {
    absl::StatusOr<std::unique_ptr<Message>> again = Resend(ledger, ack);
    ASSERT_TRUE(again.ok()) << again.status() << " retrying " << ack.request->ShortDebugString();
    EXPECT_TRUE(MessageDifferencer::Equals(**again, *ack.reply))
        << "retry of " << ack.request->ShortDebugString() << "\n  answered "
        << (*again)->ShortDebugString() << "\n  first answer " << ack.reply->ShortDebugString();
  }
  EXPECT_EQ(ledger->last_sequence(), before) << "a retry of an acknowledged request wrote";
}

TEST_F(DurabilityTest, TheFaultEnvSeesEverySyncOfTheLog) {
  // The ledger's writes really go through the wrapper (RocksDB could bypass an Env for
  // its FileSystem): each acknowledged write is one synced write-ahead-log append.
  const uint64_t syncs = env_.wal_syncs();
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<v1::CallerId> added = callbackledger::Call(
        ledger_.get(), &Ledger::AddCallerId, AddRequest(StrCat("+4072000000", i), "1", ""));
    ASSERT_TRUE(added.ok()) << added.status();
  }
  EXPECT_GE(env_.wal_syncs(), syncs + 5);
}

TEST_F(DurabilityTest, AcknowledgedChangesSurvivePowerLoss) {
  const uint64_t seed = Seed();
  const int cycles = Cycles();
  std::printf("durability test: seed=%llu cycles=%d (replay: DURABILITY_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), cycles, static_cast<unsigned long long>(seed));
  SCOPED_TRACE(StrCat("seed=", seed));
  std::mt19937_64 random(seed);

  std::vector<std::unique_ptr<Worker>> workers;
  uint64_t setup_writes = 0;
  for (int w = 0; w < kWorkers; ++w) {
    workers.push_back(std::make_unique<Worker>(w, random()));
    const std::string number = StrCat("+407299900", w);
    v1::AddCallerIdRequest request = AddRequest(number, "500.00", StrCat("setup-", w));
    absl::StatusOr<v1::CallerId> added =
        callbackledger::Call(ledger_.get(), &Ledger::AddCallerId, request);
    ASSERT_TRUE(added.ok()) << added.status();
    workers.back()->set_callerid(added->id(), number);
    workers.back()->acks().push_back(MakeAck(Ack::kAddCallerId, request, *added));
    ++setup_writes;
  }

  uint64_t dropped_total = 0;
  uint64_t refused_total = 0;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    SCOPED_TRACE(StrCat("power loss ", cycle + 1));
    const uint64_t syncs_before = env_.wal_syncs();
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (auto& worker : workers) {
      threads.emplace_back([&, w = worker.get()] { w->Run(ledger_.get(), stop); });
    }
    // The power goes off at a random moment of the load, once it has written something:
    // on even cycles at a random sync of the log (so a group is appended but never synced),
    // on odd ones at a random time.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto wait_until = [&](const std::function<bool()>& done) {
      while (!done() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    };
    if (cycle % 2 == 0) {
      env_.PowerLossAtWalSync(2 + random() % 40);
      wait_until([&] { return env_.power_is_off(); });
    } else {
      wait_until([&] { return env_.wal_syncs() > syncs_before; });
      std::this_thread::sleep_for(std::chrono::milliseconds(random() % 80));
    }
    env_.PowerLoss();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop = true;
    for (std::thread& thread : threads) thread.join();
    EXPECT_GT(env_.wal_syncs(), syncs_before) << "the load wrote nothing before the power loss";

    // The process dies with the machine; what was not synced is lost.
    ledger_.reset();
    dropped_total += env_.DropUnsyncedDataAndRestart();
    ASSERT_NO_FATAL_FAILURE(ExpectProjectionsEqualAReplay(options_.data_dir, &env_));
    ASSERT_NO_FATAL_FAILURE(Open());

    std::vector<v1::Event> events = AllEvents(ledger_.get());
    uint64_t acknowledged_writes = setup_writes;
    for (auto& worker : workers) {
      acknowledged_writes += worker->writes();
      ASSERT_NO_FATAL_FAILURE(ExpectAcknowledgedAreThere(ledger_.get(), worker->acks()));
    }
    // Each acknowledged write wrote one event and every write that failed was dropped: the
    // log holds exactly the acknowledged changes.
    EXPECT_EQ(events.size(), acknowledged_writes);
    EXPECT_TRUE(ledger_->WriteHealth().ok()) << ledger_->WriteHealth();
  }
  for (auto& worker : workers) refused_total += worker->refused();
  uint64_t acknowledged = 0;
  for (auto& worker : workers) acknowledged += worker->acks().size();
  std::printf(
      "durability test: power_losses=%d acknowledged=%llu refused_after_power_loss=%llu "
      "unsynced_bytes_dropped=%llu\n",
      cycles, static_cast<unsigned long long>(acknowledged),
      static_cast<unsigned long long>(refused_total),
      static_cast<unsigned long long>(dropped_total));
  // The power losses at a sync did drop appended data: the model is not vacuous.
  EXPECT_GT(dropped_total, 0u);
  ledger_.reset();
  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsEqualAReplay(options_.data_dir, &env_));
}

// ---------------------------------------------------------------------------------------
// (b), (c) A failed write or sync, and a full disk.

struct Fault {
  const char* name;
  bool on_sync;           // the sync fails (else the append)
  bool no_space;          // NoSpace (ENOSPC) rather than a plain IOError
  bool power_loss_after;  // the machine then loses power (else only the process restarts)
};

void PrintTo(const Fault& fault, std::ostream* out) { *out << fault.name; }

class StorageFailureTest : public DurabilityTest, public ::testing::WithParamInterface<Fault> {};

TEST_P(StorageFailureTest, StopsAcknowledgingAndLeavesNothingOfTheFailedGroup) {
  const Fault fault = GetParam();
  Ledger* ledger = ledger_.get();

  // Acknowledged before the failure.
  absl::StatusOr<v1::CallerId> a = callbackledger::Call(
      ledger, &Ledger::AddCallerId, AddRequest("+40721000001", "10.00", "add-a"));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(
      callbackledger::Call(ledger, &Ledger::AddCredit, CreditRequest(a->id(), "5.00", "credit-1"))
          .ok());
  absl::StatusOr<v1::ReserveResponse> r1 =
      callbackledger::Call(ledger, &Ledger::Reserve, ReserveRequest("r1", "+40721000001", "2.00"));
  ASSERT_TRUE(r1.ok()) << r1.status();
  ASSERT_EQ(r1->decision(), v1::ALLOWED);
  absl::StatusOr<v1::ReserveResponse> r2 =
      callbackledger::Call(ledger, &Ledger::Reserve, ReserveRequest("r2", "+40721000001", "1.00"));
  ASSERT_TRUE(r2.ok()) << r2.status();
  const std::string before = Snapshot();
  const uint64_t last_before = ledger->last_sequence();

  const rocksdb::Status error = fault.no_space
                                    ? rocksdb::Status::NoSpace("simulated: no space left on device")
                                    : rocksdb::Status::IOError("simulated: input/output error");
  if (fault.on_sync) {
    env_.FailWalSyncs(error);
  } else {
    env_.FailWalAppends(error);
  }

  // The failing group: several writes at once (one or more groups; the first one fails).
  auto credit = callbackledger::Start(ledger, &Ledger::AddCredit,
                                      CreditRequest(a->id(), "7.00", "failing-credit"));
  auto add = callbackledger::Start(ledger, &Ledger::AddCallerId,
                                   AddRequest("+40721000002", "3.00", "failing-add"));
  auto settle = callbackledger::Start(ledger, &Ledger::Settle, SettleRequest("r1", "1.50"));
  auto extend =
      callbackledger::Start(ledger, &Ledger::Extend, ExtendRequest("r2", "0.50", "failing-extend"));
  auto reserve =
      callbackledger::Start(ledger, &Ledger::Reserve, ReserveRequest("r3", "+40721000001", "1.00"));
  for (const absl::Status& status :
       {Wait(std::move(credit)).status(), Wait(std::move(add)).status(),
        Wait(std::move(settle)).status(), Wait(std::move(extend)).status(),
        Wait(std::move(reserve)).status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  }
  EXPECT_GE(env_.faults_injected(), 1u);
  EXPECT_FALSE(ledger->WriteHealth().ok());
  EXPECT_EQ(ledger->WriteHealth().code(), absl::StatusCode::kUnavailable) << ledger->WriteHealth();

  // The disk works again, but the ledger acknowledges nothing more until it is restarted.
  env_.Heal();
  EXPECT_EQ(
      callbackledger::Call(ledger, &Ledger::AddCredit, CreditRequest(a->id(), "1.00", "later"))
          .status()
          .code(),
      absl::StatusCode::kUnavailable);
  EXPECT_EQ(callbackledger::Call(ledger, &Ledger::Release, ReleaseRequest("r1")).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(callbackledger::Call(ledger, &Ledger::AddCallerId, AddRequest("+40721000003", "1", ""))
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  EXPECT_FALSE(ledger->WriteHealth().ok());

  // Reads go on, and show nothing of the failed group.
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(ledger->last_sequence(), last_before);

  ledger_.reset();
  if (fault.power_loss_after) {
    env_.PowerLoss();
    env_.DropUnsyncedDataAndRestart();
  }
  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsEqualAReplay(options_.data_dir, &env_));

  // Reopened on a healthy disk: nothing of the failed group is there, and the ledger
  // writes again.
  ASSERT_NO_FATAL_FAILURE(Open());
  ledger = ledger_.get();
  EXPECT_EQ(ledger->last_sequence(), last_before) << Snapshot();
  EXPECT_EQ(Snapshot(), before);
  EXPECT_TRUE(ledger->WriteHealth().ok()) << ledger->WriteHealth();
  absl::StatusOr<v1::Recharge> retried = callbackledger::Call(
      ledger, &Ledger::AddCredit, CreditRequest(a->id(), "7.00", "failing-credit"));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->id(), last_before + 1) << "the failed recharge was there after all";
  EXPECT_EQ(retried->credit_left(), "22.00");
}

// Each case where the failing bytes never become durable: an append that fails (they
// never reach the file), or a sync that fails and then the machine loses power (they stay
// in the page cache only). A failed sync whose bytes do reach the disk is the next test.
INSTANTIATE_TEST_SUITE_P(Faults, StorageFailureTest,
                         ::testing::Values(Fault{"AppendIoError", false, false, false},
                                           Fault{"SyncIoErrorThenPowerLoss", true, false, true},
                                           Fault{"DiskFullOnAppend", false, true, false},
                                           Fault{"DiskFullOnSyncThenPowerLoss", true, true, true}),
                         [](const ::testing::TestParamInfo<Fault>& info) {
                           return std::string(info.param.name);
                         });

// A sync that fails after the group was appended: the process cannot know whether the
// bytes reached the disk, and here they did (the process restarts, the machine does not
// lose power), so the group is there after the restart. That is acceptable only if it is
// atomic (all of the group or none, projections equal to a replay), if a retry with the
// same key answers from the log instead of applying the change twice, and if the answer
// the callers got did not tell them that the change was not made.
TEST_F(DurabilityTest, AFailedSyncIsAnUnknownOutcomeNotARefusal) {
  Ledger* ledger = ledger_.get();
  absl::StatusOr<v1::CallerId> a = callbackledger::Call(
      ledger, &Ledger::AddCallerId, AddRequest("+40721000001", "10.00", "add-a"));
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<v1::ReserveResponse> r1 =
      callbackledger::Call(ledger, &Ledger::Reserve, ReserveRequest("r1", "+40721000001", "2.00"));
  ASSERT_TRUE(r1.ok()) << r1.status();
  const uint64_t last_before = ledger->last_sequence();

  env_.FailWalSyncs(rocksdb::Status::IOError("simulated: input/output error"));
  const v1::AddCreditRequest credit = CreditRequest(a->id(), "7.00", "ambiguous-credit");
  const v1::SettleRequest settle = SettleRequest("r1", "1.50");
  auto credit_answer = callbackledger::Start(ledger, &Ledger::AddCredit, credit);
  auto settle_answer = callbackledger::Start(ledger, &Ledger::Settle, settle);
  std::vector<absl::Status> answers = {Wait(std::move(credit_answer)).status(),
                                       Wait(std::move(settle_answer)).status()};
  for (const absl::Status& status : answers) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  }
  EXPECT_EQ(ledger->last_sequence(), last_before);
  env_.Heal();
  ledger_.reset();
  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsEqualAReplay(options_.data_dir, &env_));

  ASSERT_NO_FATAL_FAILURE(Open());
  ledger = ledger_.get();
  std::vector<v1::Event> events = AllEvents(ledger);
  const bool credit_there = std::any_of(events.begin(), events.end(), [](const v1::Event& event) {
    return event.request_id() == "ambiguous-credit";
  });
  const bool settle_there = std::any_of(events.begin(), events.end(), [](const v1::Event& event) {
    return event.has_reservation_settled();
  });
  std::printf("after the failed sync and a restart: recharge %s, settle %s\n",
              credit_there ? "there" : "absent", settle_there ? "there" : "absent");

  // A retry with the same key applies the change at most once.
  const uint64_t last = ledger->last_sequence();
  absl::StatusOr<v1::Recharge> retried = callbackledger::Call(ledger, &Ledger::AddCredit, credit);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(ledger->last_sequence(), credit_there ? last : last + 1);
  absl::StatusOr<v1::SettleResponse> settled =
      callbackledger::Call(ledger, &Ledger::Settle, settle);
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->cost(), "1.50");
  v1::GetCallerIdRequest get;
  get.set_callerid_id(a->id());
  absl::StatusOr<v1::CallerId> callerid = ledger->GetCallerId(get);
  ASSERT_TRUE(callerid.ok()) << callerid.status();
  EXPECT_EQ(callerid->credit_left(), "15.50");  // 10 + 7 once - 1.50 once
  EXPECT_EQ(callerid->available_credit(), "15.50");

  // The callers were told UNAVAILABLE; the change may well have been made (here it was),
  // so the answer must not say that it was not.
  if (credit_there || settle_there) {
    for (const absl::Status& status : answers) {
      EXPECT_FALSE(absl::StrContains(status.message(), "not made"))
          << "answered \"" << status.message() << "\", yet the change is in the log after the "
          << "restart: a storage failure leaves the outcome unknown";
    }
  }
}

// ---------------------------------------------------------------------------------------
// (d) A rebuild of the projections cut short by a power loss. The old rows go as their
// column families are dropped and created again (the meta family first); the rebuilt rows
// skip the write-ahead log and reach the disk in one flush; the meta row that marks the
// projections whole is written last. Wherever the power goes (at each sync of any file the
// rebuild makes: the manifest, options files, tables, the log; or in the middle of the
// replay), the next start finds the projections whole or notices they are not and rebuilds
// them: the same answers, and rows equal to a replay.

TEST_F(DurabilityTest, ARebuildCutShortByAPowerLossIsRedoneAtTheNextStart) {
  for (int i = 0; i < 3; ++i) {
    const std::string number = StrCat("+4072100000", i);
    absl::StatusOr<v1::CallerId> added = callbackledger::Call(
        ledger_.get(), &Ledger::AddCallerId, AddRequest(number, "10", StrCat("add-", i)));
    ASSERT_TRUE(added.ok()) << added.status();
    ASSERT_TRUE(callbackledger::Call(ledger_.get(), &Ledger::AddCredit,
                                     CreditRequest(added->id(), "2.50", StrCat("credit-", i)))
                    .ok());
    ASSERT_TRUE(callbackledger::Call(ledger_.get(), &Ledger::Reserve,
                                     ReserveRequest(StrCat("r", i), number, "1"))
                    .ok());
  }
  ASSERT_TRUE(
      callbackledger::Call(ledger_.get(), &Ledger::Settle, SettleRequest("r0", "0.40")).ok());
  const std::string before = Snapshot();

  // A start with a rebuild, to count the syncs it makes: those of opening the store and of
  // the clear (up to the replay's first progress report), then those of the flush of the
  // rebuilt rows and of the meta row. First a start without, whose opening flushes what the
  // log holds, as every start after the first in the loop below does.
  ledger_.reset();
  ASSERT_NO_FATAL_FAILURE(Open());
  ledger_.reset();
  options_.rebuild_projections = true;
  const uint64_t syncs_before = env_.syncs();
  const uint64_t wal_syncs_before = env_.wal_syncs();
  uint64_t clear_syncs = 0;
  options_.rebuild_progress = [&](uint64_t, uint64_t) {
    if (clear_syncs == 0) clear_syncs = env_.syncs() - syncs_before;
  };
  ASSERT_NO_FATAL_FAILURE(Open());
  const uint64_t start_syncs = env_.syncs() - syncs_before;
  EXPECT_EQ(env_.wal_syncs() - wal_syncs_before, 1u) << "only the meta row goes through the log";
  ASSERT_GT(clear_syncs, static_cast<uint64_t>(kProjectionCfCount)) << "a sync per family dropped";
  ASSERT_GT(start_syncs, clear_syncs + kProjectionCfCount) << "a table per family flushed";
  EXPECT_EQ(Snapshot(), before);
  // Once it is done, the rebuilt rows are on disk: a power loss keeps them all.
  env_.PowerLoss();
  ledger_.reset();
  env_.DropUnsyncedDataAndRestart();
  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsEqualAReplay(options_.data_dir, &env_));
  bool rebuilt = false;
  options_.rebuild_projections = false;
  options_.rebuild_progress = [&rebuilt](uint64_t, uint64_t) { rebuilt = true; };
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_FALSE(rebuilt) << "a finished rebuild was redone";
  EXPECT_EQ(Snapshot(), before);

  // Cut at each sync of opening the store and of the clear, in the middle of the replay
  // (0: the first progress report), then at the first, a middle and the last two syncs of
  // the flush and the meta row. (A failed flush waits a second for RocksDB's recovery: not
  // every one of its syncs is tried.)
  std::vector<uint64_t> cuts;
  for (uint64_t cut = 1; cut <= clear_syncs; ++cut) cuts.push_back(cut);
  cuts.push_back(0);
  for (uint64_t cut :
       {clear_syncs + 1, (clear_syncs + start_syncs) / 2, start_syncs - 1, start_syncs}) {
    if (cut > cuts.front() && cut > clear_syncs && cut > cuts.back()) cuts.push_back(cut);
  }
  for (uint64_t cut : cuts) {
    SCOPED_TRACE(cut != 0 ? StrCat("power loss at sync ", cut, " of the start")
                          : std::string("power loss during the replay"));
    ledger_.reset();
    options_.rebuild_projections = true;
    if (cut != 0) {
      env_.PowerLossAtSync(cut);
    } else {
      options_.rebuild_progress = [this](uint64_t, uint64_t) { env_.PowerLoss(); };
    }
    absl::StatusOr<std::unique_ptr<Ledger>> cut_short = Ledger::Open(options_);
    EXPECT_FALSE(cut_short.ok()) << "the rebuild did not see the power loss";
    cut_short = absl::UnknownError("closed");
    env_.PowerLoss();
    env_.DropUnsyncedDataAndRestart();

    rebuilt = false;
    options_.rebuild_projections = false;
    options_.rebuild_progress = [&rebuilt](uint64_t, uint64_t) { rebuilt = true; };
    ASSERT_NO_FATAL_FAILURE(Open());
    options_.rebuild_progress = nullptr;
    // Once the clear is over, only a rebuild can make the projections whole again (before,
    // the answers and the rows checked below show whether they are).
    if (cut == 0 || cut > clear_syncs) {
      EXPECT_TRUE(rebuilt) << "the unfinished rebuild went unnoticed";
    }
    EXPECT_EQ(Snapshot(), before);
    ledger_.reset();
    ASSERT_NO_FATAL_FAILURE(ExpectProjectionsEqualAReplay(options_.data_dir, &env_));
    ASSERT_NO_FATAL_FAILURE(Open());
  }
}

}  // namespace
}  // namespace callbackledger
