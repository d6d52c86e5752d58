#include "clients/bench/latency.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace callbackledger::bench {
namespace {

// What the summary must be: every sample sorted, each percentile by nearest rank.
LatencySummary Expected(std::vector<uint32_t> samples, uint64_t errors) {
  LatencySummary summary;
  summary.errors = errors;
  summary.count = samples.size();
  if (samples.empty()) return summary;
  std::sort(samples.begin(), samples.end());
  double sum = 0;
  for (uint32_t s : samples) sum += s;
  summary.mean_us = sum / static_cast<double>(samples.size());
  auto at = [&](double q) -> uint64_t {
    auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(samples.size())));
    return samples[std::clamp<size_t>(rank, 1, samples.size()) - 1];
  };
  summary.p50_us = at(0.50);
  summary.p99_us = at(0.99);
  summary.p999_us = at(0.999);
  summary.max_us = samples.back();
  return summary;
}

void ExpectSame(const LatencySummary& actual, const LatencySummary& expected) {
  EXPECT_EQ(actual.count, expected.count);
  EXPECT_EQ(actual.errors, expected.errors);
  EXPECT_DOUBLE_EQ(actual.mean_us, expected.mean_us);
  EXPECT_EQ(actual.p50_us, expected.p50_us);
  EXPECT_EQ(actual.p99_us, expected.p99_us);
  EXPECT_EQ(actual.p999_us, expected.p999_us);
  EXPECT_EQ(actual.max_us, expected.max_us);
}

// Samples mostly below the counted bound, some above it, and the bounds themselves.
std::vector<uint32_t> Samples(size_t n, double slow_share, uint32_t seed) {
  std::mt19937 rng(seed);
  std::lognormal_distribution<double> fast(7.5, 0.8);  // a median of about 1.8 ms
  std::uniform_int_distribution<uint32_t> slow(LatencyHistogram::kCountedBelow, 5'000'000);
  std::bernoulli_distribution is_slow(slow_share);
  std::vector<uint32_t> samples;
  for (size_t i = 0; i < n; ++i) {
    samples.push_back(is_slow(rng) ? slow(rng)
                                   : std::min<uint32_t>(static_cast<uint32_t>(fast(rng)),
                                                        LatencyHistogram::kCountedBelow - 1));
  }
  return samples;
}

TEST(LatencyHistogramTest, PercentilesAreThoseOfEverySampleSorted) {
  for (double slow_share : {0.0, 0.002, 0.05, 1.0}) {
    for (size_t n : {1, 2, 7, 999, 1000, 1001, 54321}) {
      SCOPED_TRACE(testing::Message() << n << " samples, " << slow_share << " of them slow");
      const std::vector<uint32_t> samples = Samples(n, slow_share, static_cast<uint32_t>(n));
      LatencyHistogram histogram;
      for (uint32_t s : samples) histogram.Add(s);
      ExpectSame(histogram.Summarize(3), Expected(samples, 3));
    }
  }
}

TEST(LatencyHistogramTest, KeepsTheBoundsAndTheLargestSample) {
  const std::vector<uint32_t> samples = {0,
                                         0,
                                         1,
                                         LatencyHistogram::kCountedBelow - 1,
                                         LatencyHistogram::kCountedBelow,
                                         LatencyHistogram::kCountedBelow + 1,
                                         UINT32_MAX};
  LatencyHistogram histogram;
  for (uint32_t s : samples) histogram.Add(s);
  ExpectSame(histogram.Summarize(0), Expected(samples, 0));
  EXPECT_EQ(histogram.Summarize(0).max_us, UINT32_MAX);
}

TEST(LatencyHistogramTest, NoSamples) {
  const LatencySummary summary = LatencyHistogram().Summarize(5);
  EXPECT_EQ(summary.count, 0u);
  EXPECT_EQ(summary.errors, 5u);
  EXPECT_EQ(summary.p50_us, 0u);
  EXPECT_EQ(summary.max_us, 0u);
}

TEST(LatencyRecorderTest, SummarizesWhatItRecorded) {
  LatencyRecorder recorder("Settle");
  const std::vector<uint32_t> samples = Samples(20000, 0.01, 7);
  for (uint32_t s : samples) recorder.Record(s, true);
  recorder.Record(10, false);
  recorder.Record(uint64_t{1} << 40, true);  // beyond 32 bits: kept as the largest there is
  std::vector<uint32_t> expected = samples;
  expected.push_back(UINT32_MAX);
  ExpectSame(recorder.Summarize(), Expected(expected, 1));
}

// The samples between two marks are exactly those recorded in between, slow ones included,
// added up over several recorders.
TEST(LatencyRecorderTest, MarksCutTheSamplesRecordedBetweenThem) {
  LatencyRecorder reserve("Reserve"), settle("Settle");
  const LatencyRecorder::Mark r0 = reserve.Now(), s0 = settle.Now();  // before any sample
  const std::vector<uint32_t> first = Samples(3000, 0.01, 1);
  for (uint32_t s : first) reserve.Record(s, true);
  settle.Record(5, false);
  const LatencyRecorder::Mark r1 = reserve.Now(), s1 = settle.Now();
  const std::vector<uint32_t> second_reserve = Samples(2000, 0.02, 2);
  const std::vector<uint32_t> second_settle = Samples(1500, 0.02, 3);
  for (uint32_t s : second_reserve) reserve.Record(s, true);
  for (uint32_t s : second_settle) settle.Record(s, true);
  settle.Record(5, false);
  settle.Record(5, false);
  const LatencyRecorder::Mark r2 = reserve.Now(), s2 = settle.Now();

  LatencyHistogram a;
  uint64_t a_errors = 0;
  reserve.AddBetween(r0, r1, &a, &a_errors);
  settle.AddBetween(s0, s1, &a, &a_errors);
  ExpectSame(a.Summarize(a_errors), Expected(first, 1));

  LatencyHistogram b;
  uint64_t b_errors = 0;
  reserve.AddBetween(r1, r2, &b, &b_errors);
  settle.AddBetween(s1, s2, &b, &b_errors);
  std::vector<uint32_t> second = second_reserve;
  second.insert(second.end(), second_settle.begin(), second_settle.end());
  ExpectSame(b.Summarize(b_errors), Expected(second, 2));

  LatencyHistogram none;
  uint64_t no_errors = 0;
  settle.AddBetween(s2, s2, &none, &no_errors);
  EXPECT_EQ(none.Summarize(no_errors).count, 0u);
  EXPECT_EQ(no_errors, 0u);
}

// Recorded from several threads at once, every sample is counted once.
TEST(LatencyRecorderTest, CountsEverySampleFromEveryThread) {
  LatencyRecorder recorder("Authorize");
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&recorder, t] {
      for (uint32_t i = 0; i < 10000; ++i) recorder.Record(t * 100000 + i, true);
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<uint32_t> expected;
  for (uint32_t t = 0; t < 4; ++t) {
    for (uint32_t i = 0; i < 10000; ++i) expected.push_back(t * 100000 + i);
  }
  ExpectSame(recorder.Summarize(), Expected(expected, 0));
}

}  // namespace
}  // namespace callbackledger::bench
