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
//
// The parts: operations.h (requests, Client), load.h (Worker, Journal), checks.h (Checker).
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/crash/checks.h"
#include "tests/crash/load.h"
#include "tests/crash/operations.h"
#include "tests/server_harness.h"

namespace callbackledger::crash_test {
namespace {

using ::absl::StrCat;
using e2e::LedgerServer;
using e2e::ProcessResult;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kDefaultSeed = 20250105;
constexpr int kDefaultKills = 20;
constexpr int kDefaultSeconds = 60;
constexpr int kThreads = 3;
// A round lasts this long (uniformly drawn, in ms) before the kill.
constexpr int kMinRoundMillis = 5;
constexpr int kMaxRoundMillis = 300;
// Older acknowledged operations retried after each restart.
constexpr size_t kRetrySample = 40;
constexpr size_t kMaxViolationsShown = 30;

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* value = getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtoull(value, nullptr, 0);
}

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
}  // namespace callbackledger::crash_test
