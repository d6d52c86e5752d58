#include "clients/bench/intervals.h"

#include <utility>

namespace callbackledger::bench {
namespace {

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

double IntervalReport::CallsPerSecond() const {
  return seconds > 0 ? static_cast<double>(calls) / seconds : 0;
}

double IntervalReport::RpcsPerSecond() const {
  return seconds > 0 ? static_cast<double>(rpcs.count) / seconds : 0;
}

IntervalLog::IntervalLog(std::vector<const LatencyRecorder*> recorders,
                         std::function<uint64_t()> calls_ended,
                         std::function<std::optional<CommitCounters>()> scrape,
                         std::function<HostSpeed()> probe)
    : recorders_(std::move(recorders)),
      calls_ended_(std::move(calls_ended)),
      scrape_(std::move(scrape)),
      probe_(std::move(probe)) {}

IntervalLog::Marks IntervalLog::Take(Clock::time_point now) const {
  Marks marks;
  marks.at = now;
  for (const LatencyRecorder* recorder : recorders_) marks.latency.push_back(recorder->Now());
  marks.calls = calls_ended_();
  // Scraped after the marks: the server's counters then include every answer counted.
  if (scrape_) marks.server = scrape_();
  if (probe_) marks.host = probe_();
  return marks;
}

void IntervalLog::Begin(Clock::time_point now) {
  Marks marks = Take(now);
  std::lock_guard<std::mutex> lock(mu_);
  start_ = now;
  last_ = std::move(marks);
  intervals_.clear();
}

void IntervalLog::Tick(Clock::time_point now) {
  Marks marks = Take(now);
  std::lock_guard<std::mutex> lock(mu_);
  if (!last_) return;
  IntervalReport interval;
  interval.start_seconds = Seconds(last_->at - start_);
  interval.seconds = Seconds(marks.at - last_->at);
  interval.calls = marks.calls >= last_->calls ? marks.calls - last_->calls : 0;
  LatencyHistogram latency;
  uint64_t errors = 0;
  for (size_t i = 0; i < recorders_.size(); ++i) {
    recorders_[i]->AddBetween(last_->latency[i], marks.latency[i], &latency, &errors);
  }
  interval.rpcs = latency.Summarize(errors);
  if (last_->server && marks.server) {
    interval.commit = Difference(*last_->server, *marks.server);
    // CPU seconds of the interval per RPC answered in it, in microseconds.
    auto per_rpc = [&](std::optional<double> CommitCounters::*cpu) -> std::optional<double> {
      const std::optional<double>& before = (*last_->server).*cpu;
      const std::optional<double>& after = (*marks.server).*cpu;
      if (!before || !after || interval.rpcs.count == 0) return std::nullopt;
      return (*after - *before) * 1e6 / static_cast<double>(interval.rpcs.count);
    };
    interval.server_cpu_us_per_rpc = per_rpc(&CommitCounters::cpu_seconds);
    interval.server_commit_cpu_us_per_rpc = per_rpc(&CommitCounters::commit_cpu_seconds);
    interval.server_rocksdb_cpu_us_per_rpc = per_rpc(&CommitCounters::rocksdb_cpu_seconds);
  }
  if (marks.server) {
    interval.server_resident_bytes = marks.server->resident_bytes;
    interval.server_rocksdb_memory_bytes = marks.server->rocksdb_memory_bytes;
  }
  interval.host = marks.host;
  // A last tick just after the one before (the phase ended on the beat) adds nothing.
  if (interval.seconds >= 0.001 || interval.rpcs.count > 0 || interval.rpcs.errors > 0) {
    intervals_.push_back(std::move(interval));
  }
  last_ = std::move(marks);
}

std::vector<IntervalReport> IntervalLog::intervals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return intervals_;
}

IntervalTicker::IntervalTicker(IntervalLog* log, std::chrono::duration<double> period) : log_(log) {
  const auto step = std::chrono::duration_cast<IntervalLog::Clock::duration>(period);
  log_->Begin(IntervalLog::Clock::now());
  thread_ = std::thread([this, step] {
    auto next = IntervalLog::Clock::now() + step;
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_until(lock, next, [this] { return stop_; })) {
      lock.unlock();
      log_->Tick(IntervalLog::Clock::now());
      lock.lock();
      next += step;
    }
  });
}

IntervalTicker::~IntervalTicker() { Stop(); }

void IntervalTicker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  log_->Tick(IntervalLog::Clock::now());
}

}  // namespace callbackledger::bench
