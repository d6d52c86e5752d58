// wal-sync-bench: what one synced RocksDB write costs on a disk, with and without zeros
// written ahead of the write-ahead log (ledger/wal_zero_ahead.h), the two alternated.
//
// Each round opens a fresh RocksDB in a directory of its own under --dir (on the disk to
// measure), makes --writes Puts of --value_bytes each with sync=true, one at a time, and
// times each; then removes the directory. Rounds alternate: with zeros ahead, without, with,
// and so on, --rounds of each, so that a disk whose speed drifts affects both alike. It
// prints each round's p50/p90/p99 and each mode's median of them, and with --json writes the
// same as JSON.
//
// --pause_us sleeps that long between one write's return and the next write: a sync that
// follows an idle spell, as each of a ledger's syncs does when one call is in flight, can
// cost a good deal more than one of a back-to-back loop (a virtual disk's host side goes
// idle too); the pause is not part of the time measured.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/wal_zero_ahead.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"

namespace callbackledger::bench {
namespace {

struct Round {
  bool zero_ahead = false;
  double p50_us = 0, p90_us = 0, p99_us = 0;
};

// Runs one round; false (with a message on stderr) when RocksDB fails.
bool RunRound(const std::string& dir, bool zero_ahead, int writes, int value_bytes,
              uint64_t chunk_bytes, int pause_us, Round* round) {
  std::filesystem::remove_all(dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  std::unique_ptr<rocksdb::Env> env;
  if (zero_ahead) {
    env = rocksdb::NewCompositeEnv(
        NewZeroAheadFileSystem(rocksdb::FileSystem::Default(), chunk_bytes));
    options.env = env.get();
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    std::cerr << "wal-sync-bench: cannot open " << dir << ": " << s.ToString() << "\n";
    return false;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  const std::string value(static_cast<size_t>(value_bytes), 'v');
  std::vector<double> micros;
  micros.reserve(static_cast<size_t>(writes));
  for (int i = 0; i < writes; ++i) {
    if (pause_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
    const auto started = std::chrono::steady_clock::now();
    s = db->Put(sync, absl::StrCat(i), value);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started)
            .count());
    if (!s.ok()) {
      std::cerr << "wal-sync-bench: a synced write failed: " << s.ToString() << "\n";
      return false;
    }
  }
  db.reset();
  std::filesystem::remove_all(dir);
  std::sort(micros.begin(), micros.end());
  auto at = [&micros](double q) {
    return micros[std::min(micros.size() - 1, static_cast<size_t>(q * micros.size()))];
  };
  round->zero_ahead = zero_ahead;
  round->p50_us = at(0.50);
  round->p90_us = at(0.90);
  round->p99_us = at(0.99);
  return true;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int Main(int argc, char** argv) {
  std::string dir;
  int rounds = 8, writes = 3000, value_bytes = 1500, pause_us = 0;
  uint32_t chunk_kib = 1024;
  std::string json;
  CLI::App app{
      "wal-sync-bench: the time of one synced RocksDB write, with and without zeros ahead of "
      "the write-ahead log, alternated"};
  app.add_option("--dir", dir, "a directory on the disk to measure (rounds work under it)")
      ->required();
  app.add_option("--rounds", rounds, "rounds of each mode")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--writes", writes, "synced writes a round")
      ->check(CLI::Range(10, 1000000))
      ->capture_default_str();
  app.add_option("--value_bytes", value_bytes, "bytes a write")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--zero_ahead_kib", chunk_kib, "zeros kept ahead of the log, KiB")
      ->check(CLI::Range(4, 1 << 20))
      ->capture_default_str();
  app.add_option("--pause_us", pause_us,
                 "sleep this long before each write (not timed): syncs after an idle spell")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  app.add_option("--json", json, "also write the results to this JSON file");
  CLI11_PARSE(app, argc, argv);

  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    std::cerr << "wal-sync-bench: cannot create " << dir << ": " << error.message() << "\n";
    return 2;
  }
  const std::string round_dir = dir + "/wal-sync-bench.db";
  std::vector<Round> results;
  for (int r = 0; r < rounds; ++r) {
    for (bool zero_ahead : {true, false}) {
      Round round;
      if (!RunRound(round_dir, zero_ahead, writes, value_bytes, uint64_t{chunk_kib} << 10, pause_us,
                    &round)) {
        return 1;
      }
      std::printf("round %d %-12s p50 %6.0f us  p90 %6.0f us  p99 %6.0f us\n", r + 1,
                  zero_ahead ? "zero_ahead" : "plain", round.p50_us, round.p90_us, round.p99_us);
      results.push_back(round);
    }
  }
  std::string out = absl::StrFormat(
      "{\n  \"writes_per_round\": %d,\n  \"value_bytes\": %d,\n  \"zero_ahead_kib\": %d,\n"
      "  \"pause_us\": %d,\n  \"rounds\": [\n",
      writes, value_bytes, chunk_kib, pause_us);
  for (size_t i = 0; i < results.size(); ++i) {
    absl::StrAppendFormat(
        &out, "    {\"zero_ahead\": %s, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f}%s\n",
        results[i].zero_ahead ? "true" : "false", results[i].p50_us, results[i].p90_us,
        results[i].p99_us, i + 1 < results.size() ? "," : "");
  }
  out += "  ],\n  \"median\": {";
  for (bool zero_ahead : {true, false}) {
    std::vector<double> p50, p90, p99;
    for (const Round& round : results) {
      if (round.zero_ahead != zero_ahead) continue;
      p50.push_back(round.p50_us);
      p90.push_back(round.p90_us);
      p99.push_back(round.p99_us);
    }
    std::printf("median %-11s p50 %6.0f us  p90 %6.0f us  p99 %6.0f us\n",
                zero_ahead ? "zero_ahead" : "plain", Median(p50), Median(p90), Median(p99));
    absl::StrAppendFormat(&out, "\"%s\": {\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f}%s",
                          zero_ahead ? "zero_ahead" : "plain", Median(p50), Median(p90),
                          Median(p99), zero_ahead ? ", " : "");
  }
  out += "}\n}\n";
  if (!json.empty()) {
    std::ofstream file(json);
    file << out;
    if (!file) {
      std::cerr << "wal-sync-bench: cannot write " << json << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace callbackledger::bench

int main(int argc, char** argv) { return callbackledger::bench::Main(argc, argv); }
