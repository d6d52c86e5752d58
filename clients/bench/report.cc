#include "clients/bench/report.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ledger/money.h"

namespace callbackledger::bench {
namespace {

double PerSecond(uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

double MicrosEach(double cpu_seconds, uint64_t count) {
  return count > 0 ? cpu_seconds * 1e6 / static_cast<double>(count) : 0;
}

std::string SummaryJson(const LatencySummary& s) {
  return absl::StrFormat(
      "{\"count\": %d, \"errors\": %d, \"mean\": %.1f, \"p50\": %d, \"p99\": %d, "
      "\"p999\": %d, \"max\": %d}",
      s.count, s.errors, s.mean_us, s.p50_us, s.p99_us, s.p999_us, s.max_us);
}

// `text` as a JSON string, quotes included.
std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// `value` in `format`, or "-" right-aligned in `width` when there is none.
std::string Optional(std::optional<double> value, const absl::FormatSpec<double>& format,
                     int width) {
  if (!value) return absl::StrFormat("%*s", width, "-");
  return absl::StrFormat(format, *value);
}

std::string IntervalJson(const IntervalReport& i) {
  std::string json = absl::StrFormat(
      "{\"start_seconds\": %.3f, \"seconds\": %.3f, \"calls\": %d, \"calls_per_second\": %.1f, "
      "\"rpcs_per_second\": %.1f, \"latency_us\": %s",
      i.start_seconds, i.seconds, i.calls, i.CallsPerSecond(), i.RpcsPerSecond(),
      SummaryJson(i.rpcs));
  if (i.commit) {
    absl::StrAppendFormat(&json,
                          ", \"server_commit\": {\"groups\": %d, \"mean_group_size\": %.3f, "
                          "\"mean_sync_us\": %.1f}",
                          i.commit->groups, i.commit->mean_group_size, i.commit->mean_sync_us);
  }
  for (const auto& [name, value] :
       {std::make_pair("server_cpu_us_per_rpc", i.server_cpu_us_per_rpc),
        std::make_pair("server_commit_cpu_us_per_rpc", i.server_commit_cpu_us_per_rpc),
        std::make_pair("server_rocksdb_cpu_us_per_rpc", i.server_rocksdb_cpu_us_per_rpc)}) {
    if (value) absl::StrAppendFormat(&json, ", \"%s\": %.2f", name, *value);
  }
  for (const auto& [name, value] :
       {std::make_pair("server_resident_bytes", i.server_resident_bytes),
        std::make_pair("server_rocksdb_memory_bytes", i.server_rocksdb_memory_bytes)}) {
    if (value) absl::StrAppendFormat(&json, ", \"%s\": %.0f", name, *value);
  }
  if (i.host) {
    absl::StrAppendFormat(&json,
                          ", \"host\": {\"compute_ns_per_kib\": %.1f, \"memory_ns_per_load\": "
                          "%.1f}",
                          i.host->compute_ns_per_kib, i.host->memory_ns_per_load);
  }
  return json + "}";
}

std::string Money(absl::int128 micros) { return FormatMoneyTotal(micros, 2); }

std::string Row(const std::string& name, const LatencySummary& s, double seconds) {
  return absl::StrFormat("%-14s %10d %10.1f %10d %10d %10d %10d %8d\n", name, s.count,
                         PerSecond(s.count, seconds), s.p50_us, s.p99_us, s.p999_us, s.max_us,
                         s.errors);
}

}  // namespace

uint64_t RunReport::RpcCount() const {
  uint64_t count = 0;
  for (const auto& [name, summary] : rpcs) count += summary.count;
  return count;
}

uint64_t RunReport::RpcErrors() const {
  uint64_t errors = 0;
  for (const auto& [name, summary] : rpcs) errors += summary.errors;
  return errors;
}

double RunReport::RpcsPerSecond() const { return PerSecond(RpcCount(), calls_seconds); }

double RunReport::CallsPerSecond() const { return PerSecond(settled + released, calls_seconds); }

double RunReport::FloorRpcsPerSecond() const { return PerSecond(floor.count, floor_seconds); }

double RunReport::Ratio() const {
  const double floor_rps = FloorRpcsPerSecond();
  return floor_rps > 0 ? RpcsPerSecond() / floor_rps : 0;
}

double RunReport::ClientCpuMicrosPerLedgerRpc() const {
  return MicrosEach(calls_cpu_seconds, RpcCount());
}

double RunReport::ClientCpuMicrosPerFloorRpc() const {
  return MicrosEach(floor_cpu_seconds, floor.count);
}

double RunReport::ServerCpuMicrosPerLedgerRpc() const {
  return server_cpu ? MicrosEach(server_cpu->calls_seconds, RpcCount()) : 0;
}

double RunReport::CommitterCpuMicrosPerLedgerRpc() const {
  return server_cpu ? MicrosEach(server_cpu->commit_seconds, RpcCount()) : 0;
}

double RunReport::ServerCpuMicrosPerFloorRpc() const {
  return server_cpu ? MicrosEach(server_cpu->floor_seconds, floor.count) : 0;
}

std::string FormatTable(const RunReport& r) {
  std::string out = absl::StrFormat(
      "ledger-bench: %s, %d %s, %d CallerIDs on %d extensions, %d in flight, "
      "%.2f s\n",
      r.server, r.nodes, r.nodes == 1 ? "node" : "nodes", r.callerids, r.extensions, r.in_flight,
      r.calls_seconds);
  absl::StrAppendFormat(&out,
                        "calls: %d settled, %d released, %d denied (%d from unknown numbers), "
                        "%d no credit, %d failed\n",
                        r.settled, r.released, r.denied, r.unknown, r.no_credit, r.failed);
  absl::StrAppendFormat(&out, "%-14s %10s %10s %10s %10s %10s %10s %8s\n", "rpc", "count", "per_s",
                        "p50_us", "p99_us", "p99.9_us", "max_us", "errors");
  for (const auto& [name, summary] : r.rpcs) out += Row(name, summary, r.calls_seconds);
  out += Row("floor:Health", r.floor, r.floor_seconds);
  absl::StrAppendFormat(&out, "ledger: %.1f RPCs/s, %.1f calls/s; floor: %.1f RPCs/s; ratio %.3f\n",
                        r.RpcsPerSecond(), r.CallsPerSecond(), r.FloorRpcsPerSecond(), r.Ratio());
  absl::StrAppendFormat(&out, "client CPU: %.1f us per ledger RPC, %.1f us per Health/Check\n",
                        r.ClientCpuMicrosPerLedgerRpc(), r.ClientCpuMicrosPerFloorRpc());
  if (r.server_cpu) {
    absl::StrAppendFormat(
        &out, "server CPU: %.1f us per ledger RPC (committer %.1f), %.1f us per Health/Check\n",
        r.ServerCpuMicrosPerLedgerRpc(), r.CommitterCpuMicrosPerLedgerRpc(),
        r.ServerCpuMicrosPerFloorRpc());
  }
  if (r.commit) {
    absl::StrAppendFormat(
        &out,
        "server committer: %d groups, %.2f commands a group; write+sync of a group: mean %.0f "
        "us, p50 <= %.0f us, p99 <= %.0f us\n",
        r.commit->groups, r.commit->mean_group_size, r.commit->mean_sync_us, r.commit->p50_sync_us,
        r.commit->p99_sync_us);
  }
  if (!r.intervals.empty()) {
    absl::StrAppendFormat(&out, "intervals of %.3g s:\n%8s %8s %10s %10s %8s %8s %9s %6s",
                          r.interval_seconds, "start_s", "length_s", "calls/s", "RPCs/s", "p50_us",
                          "p99_us", "p99.9_us", "errors");
    absl::StrAppendFormat(&out, " %13s %9s %10s %8s %8s %8s %11s %11s %12s\n", "server_us/RPC",
                          "commit_us", "rocksdb_us", "group", "sync_us", "RSS_MiB", "rocksdb_MiB",
                          "host_ns/KiB", "host_ns/load");
    for (const IntervalReport& i : r.intervals) {
      absl::StrAppendFormat(&out, "%8.1f %8.2f %10.1f %10.1f %8d %8d %9d %6d", i.start_seconds,
                            i.seconds, i.CallsPerSecond(), i.RpcsPerSecond(), i.rpcs.p50_us,
                            i.rpcs.p99_us, i.rpcs.p999_us, i.rpcs.errors);
      absl::StrAppend(
          &out, " ", Optional(i.server_cpu_us_per_rpc, "%13.1f", 13), " ",
          Optional(i.server_commit_cpu_us_per_rpc, "%9.1f", 9), " ",
          Optional(i.server_rocksdb_cpu_us_per_rpc, "%10.1f", 10), " ",
          Optional(i.commit ? std::optional<double>(i.commit->mean_group_size) : std::nullopt,
                   "%8.2f", 8),
          " ",
          Optional(i.commit ? std::optional<double>(i.commit->mean_sync_us) : std::nullopt, "%8.0f",
                   8),
          " ",
          Optional(i.server_resident_bytes
                       ? std::optional<double>(*i.server_resident_bytes / (1 << 20))
                       : std::nullopt,
                   "%8.0f", 8),
          " ",
          Optional(i.server_rocksdb_memory_bytes
                       ? std::optional<double>(*i.server_rocksdb_memory_bytes / (1 << 20))
                       : std::nullopt,
                   "%11.0f", 11),
          " ",
          Optional(i.host ? std::optional<double>(i.host->compute_ns_per_kib) : std::nullopt,
                   "%11.0f", 11),
          " ",
          Optional(i.host ? std::optional<double>(i.host->memory_ns_per_load) : std::nullopt,
                   "%12.1f", 12),
          "\n");
    }
  }
  if (r.audit) {
    const AuditResult& a = *r.audit;
    if (a.ok()) {
      absl::StrAppendFormat(&out,
                            "audit: exact; the credit left of %d CallerIDs fell by %s in all, each "
                            "by what the Settles charged it (%d unlimited, %d not there)\n",
                            a.callerids, Money(a.credit_fell_by), a.unlimited, a.absent);
    } else {
      absl::StrAppendFormat(&out,
                            "audit: FAILED; %d of %d CallerIDs do not add up (credit fell by %s, "
                            "the Settles charged %s); first: %s\n",
                            a.mismatches, a.callerids, Money(a.credit_fell_by), Money(a.charged),
                            a.first_mismatch);
    }
  } else {
    absl::StrAppendFormat(&out, "audit: not done (%s)\n", r.audit_skipped);
  }
  return out;
}

std::string FormatJson(const RunReport& r) {
  std::string json = "{\n";
  absl::StrAppendFormat(&json,
                        "  \"server\": \"%s\",\n  \"nodes\": %d,\n  \"callerids\": %d,\n"
                        "  \"extensions\": %d,\n  \"in_flight\": %d,\n  \"seed\": %d,\n"
                        "  \"extend_ratio\": %.3f,\n  \"no_answer_ratio\": %.3f,\n"
                        "  \"unknown_ratio\": %.3f,\n  \"started_over_days\": %.3f,\n",
                        r.server, r.nodes, r.callerids, r.extensions, r.in_flight, r.seed,
                        r.extend_ratio, r.no_answer_ratio, r.unknown_ratio, r.started_over_days);
  absl::StrAppendFormat(&json,
                        "  \"preload\": {\"enabled\": %s, \"added\": %d, \"existing\": %d, "
                        "\"seconds\": %.3f},\n",
                        r.preload_enabled ? "true" : "false", r.preload_added, r.preload_existing,
                        r.preload_seconds);
  absl::StrAppendFormat(&json, "  \"left_open\": {\"reservations\": %d, \"seconds\": %.3f},\n",
                        r.left_open, r.left_open_seconds);
  absl::StrAppendFormat(&json,
                        "  \"duration_seconds\": %.3f,\n  \"calls\": {\"settled\": %d, "
                        "\"released\": %d, \"denied\": %d, \"unknown\": %d, \"no_credit\": %d, "
                        "\"failed\": %d},\n  \"rpcs\": %d,\n  \"rpc_errors\": %d,\n",
                        r.calls_seconds, r.settled, r.released, r.denied, r.unknown, r.no_credit,
                        r.failed, r.RpcCount(), r.RpcErrors());
  absl::StrAppendFormat(&json, "  \"rpcs_per_second\": %.1f,\n  \"calls_per_second\": %.1f,\n",
                        r.RpcsPerSecond(), r.CallsPerSecond());
  json += "  \"latency_us\": {\n";
  for (size_t i = 0; i < r.rpcs.size(); ++i) {
    absl::StrAppendFormat(&json, "    \"%s\": %s%s\n", r.rpcs[i].first,
                          SummaryJson(r.rpcs[i].second), i + 1 < r.rpcs.size() ? "," : "");
  }
  json += "  },\n";
  absl::StrAppendFormat(&json,
                        "  \"floor\": {\"rpc\": \"grpc.health.v1.Health/Check\", "
                        "\"duration_seconds\": %.3f, \"rpcs_per_second\": %.1f, "
                        "\"latency_us\": %s},\n",
                        r.floor_seconds, r.FloorRpcsPerSecond(), SummaryJson(r.floor));
  absl::StrAppendFormat(&json,
                        "  \"client_cpu_us_per_rpc\": {\"ledger\": %.2f, \"floor\": %.2f},\n",
                        r.ClientCpuMicrosPerLedgerRpc(), r.ClientCpuMicrosPerFloorRpc());
  if (r.server_cpu) {
    absl::StrAppendFormat(
        &json,
        "  \"server_cpu_us_per_rpc\": {\"ledger\": %.2f, \"ledger_commit\": %.2f, "
        "\"floor\": %.2f},\n",
        r.ServerCpuMicrosPerLedgerRpc(), r.CommitterCpuMicrosPerLedgerRpc(),
        r.ServerCpuMicrosPerFloorRpc());
  }
  if (r.commit) {
    absl::StrAppendFormat(
        &json,
        "  \"server_commit\": {\"groups\": %d, \"mean_group_size\": %.3f, "
        "\"synced_groups\": %d, \"mean_sync_us\": %.1f, \"p50_sync_us_at_most\": %.0f, "
        "\"p99_sync_us_at_most\": %.0f},\n",
        r.commit->groups, r.commit->mean_group_size, r.commit->synced_groups,
        r.commit->mean_sync_us, r.commit->p50_sync_us, r.commit->p99_sync_us);
  }
  if (!r.intervals.empty()) {
    absl::StrAppendFormat(&json, "  \"interval_seconds\": %.3f,\n  \"intervals\": [\n",
                          r.interval_seconds);
    for (size_t i = 0; i < r.intervals.size(); ++i) {
      absl::StrAppend(&json, "    ", IntervalJson(r.intervals[i]),
                      i + 1 < r.intervals.size() ? ",\n" : "\n");
    }
    json += "  ],\n";
  }
  if (r.audit) {
    const AuditResult& a = *r.audit;
    absl::StrAppendFormat(&json,
                          "  \"audit\": {\"ok\": %s, \"callerids\": %d, \"unlimited\": %d, "
                          "\"absent\": %d, \"credit_fell_by\": \"%s\", \"charged\": \"%s\", "
                          "\"mismatches\": %d, \"first_mismatch\": %s},\n",
                          a.ok() ? "true" : "false", a.callerids, a.unlimited, a.absent,
                          Money(a.credit_fell_by), Money(a.charged), a.mismatches,
                          JsonString(a.first_mismatch));
  } else {
    absl::StrAppendFormat(&json, "  \"audit\": {\"skipped\": %s},\n", JsonString(r.audit_skipped));
  }
  absl::StrAppendFormat(&json, "  \"floor_rpcs_per_second\": %.1f,\n  \"ratio\": %.4f\n}\n",
                        r.FloorRpcsPerSecond(), r.Ratio());
  return json;
}

}  // namespace callbackledger::bench
