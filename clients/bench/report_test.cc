#include "clients/bench/report.h"

#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace callbackledger::bench {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

LatencySummary Summary(uint64_t count, uint64_t errors, uint64_t p50, uint64_t p99) {
  LatencySummary s;
  s.count = count;
  s.errors = errors;
  s.mean_us = static_cast<double>(p50) + 0.5;
  s.p50_us = p50;
  s.p99_us = p99;
  s.p999_us = p99 + 10;
  s.max_us = p99 + 100;
  return s;
}

// A run of 10 s: 3,000 calls settled and 500 released over 11,000 ledger RPCs, against a
// floor of 44,000 Health/Checks in 8 s.
RunReport TenSecondRun() {
  RunReport r;
  r.server = "127.0.0.1:50051";
  r.nodes = 4;
  r.callerids = 10000;
  r.extensions = 10;
  r.in_flight = 64;
  r.seed = 7;
  r.extend_ratio = 0.3;
  r.no_answer_ratio = 0.1;
  r.unknown_ratio = 0.001;
  r.started_over_days = 30.5;
  r.preload_enabled = true;
  r.preload_added = 9000;
  r.preload_existing = 1000;
  r.preload_seconds = 1.5;
  r.calls_seconds = 10;
  r.settled = 3000;
  r.released = 500;
  r.denied = 2;
  r.unknown = 1;
  r.no_credit = 1;
  r.failed = 1;
  r.rpcs = {{"Authorize", Summary(3500, 0, 3000, 7000)},
            {"Reserve", Summary(3500, 1, 8000, 12000)},
            {"Extend", Summary(500, 0, 7000, 11000)},
            {"Settle", Summary(3000, 0, 7500, 12500)},
            {"Release", Summary(500, 0, 7600, 12600)}};
  r.calls_cpu_seconds = 0.55;  // 50 µs per ledger RPC
  r.floor_seconds = 8;
  r.floor = Summary(44000, 0, 2900, 6600);
  r.floor_cpu_seconds = 1.76;  // 40 µs per Health/Check
  return r;
}

google::protobuf::Struct Parse(const std::string& json) {
  google::protobuf::Struct parsed;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &parsed);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return parsed;
}

double Number(const google::protobuf::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  EXPECT_NE(it, s.fields().end()) << key;
  return it == s.fields().end() ? -1 : it->second.number_value();
}

const google::protobuf::Struct& Object(const google::protobuf::Struct& s, const std::string& key) {
  static const google::protobuf::Struct kEmpty;
  auto it = s.fields().find(key);
  EXPECT_NE(it, s.fields().end()) << key;
  return it == s.fields().end() ? kEmpty : it->second.struct_value();
}

TEST(RunReportTest, DerivedFiguresDivideWhatWasCounted) {
  const RunReport r = TenSecondRun();
  EXPECT_EQ(r.RpcCount(), 11000u);
  EXPECT_EQ(r.RpcErrors(), 1u);
  EXPECT_DOUBLE_EQ(r.RpcsPerSecond(), 1100);
  EXPECT_DOUBLE_EQ(r.CallsPerSecond(), 350);
  EXPECT_DOUBLE_EQ(r.FloorRpcsPerSecond(), 5500);
  EXPECT_DOUBLE_EQ(r.Ratio(), 0.2);
  EXPECT_DOUBLE_EQ(r.ClientCpuMicrosPerLedgerRpc(), 50);
  EXPECT_DOUBLE_EQ(r.ClientCpuMicrosPerFloorRpc(), 40);
}

TEST(RunReportTest, NothingMeasuredIsZeroNotADivisionByZero) {
  RunReport r;
  EXPECT_EQ(r.RpcsPerSecond(), 0);
  EXPECT_EQ(r.CallsPerSecond(), 0);
  EXPECT_EQ(r.FloorRpcsPerSecond(), 0);
  EXPECT_EQ(r.Ratio(), 0);
  EXPECT_EQ(r.ClientCpuMicrosPerLedgerRpc(), 0);
  EXPECT_EQ(r.ClientCpuMicrosPerFloorRpc(), 0);
  r.calls_seconds = 1;
  r.rpcs = {{"Reserve", Summary(10, 0, 1, 2)}};
  EXPECT_EQ(r.Ratio(), 0);  // no floor measured
  EXPECT_THAT(FormatJson(r), HasSubstr("\"ratio\": 0.0000"));
}

TEST(RunReportTest, TheJsonCarriesEveryFigureOfTheRun) {
  const google::protobuf::Struct json = Parse(FormatJson(TenSecondRun()));
  EXPECT_EQ(json.fields().at("server").string_value(), "127.0.0.1:50051");
  EXPECT_EQ(Number(json, "nodes"), 4);
  EXPECT_EQ(Number(json, "callerids"), 10000);
  EXPECT_EQ(Number(json, "in_flight"), 64);
  EXPECT_EQ(Number(json, "seed"), 7);
  EXPECT_EQ(Number(json, "unknown_ratio"), 0.001);
  EXPECT_EQ(Number(json, "started_over_days"), 30.5);
  EXPECT_EQ(Number(json, "duration_seconds"), 10);
  EXPECT_EQ(Number(json, "rpcs"), 11000);
  EXPECT_EQ(Number(json, "rpc_errors"), 1);
  EXPECT_EQ(Number(json, "rpcs_per_second"), 1100);
  EXPECT_EQ(Number(json, "calls_per_second"), 350);
  EXPECT_EQ(Number(json, "floor_rpcs_per_second"), 5500);
  EXPECT_EQ(Number(json, "ratio"), 0.2);

  const google::protobuf::Struct& preload = Object(json, "preload");
  EXPECT_TRUE(preload.fields().at("enabled").bool_value());
  EXPECT_EQ(Number(preload, "added"), 9000);
  EXPECT_EQ(Number(preload, "existing"), 1000);
  EXPECT_EQ(Number(Object(json, "left_open"), "reservations"), 0);

  const google::protobuf::Struct& calls = Object(json, "calls");
  EXPECT_EQ(Number(calls, "settled"), 3000);
  EXPECT_EQ(Number(calls, "released"), 500);
  EXPECT_EQ(Number(calls, "denied"), 2);
  EXPECT_EQ(Number(calls, "unknown"), 1);
  EXPECT_EQ(Number(calls, "no_credit"), 1);
  EXPECT_EQ(Number(calls, "failed"), 1);

  const google::protobuf::Struct& latency = Object(json, "latency_us");
  EXPECT_EQ(latency.fields_size(), 5);
  const google::protobuf::Struct& reserve = Object(latency, "Reserve");
  EXPECT_EQ(Number(reserve, "count"), 3500);
  EXPECT_EQ(Number(reserve, "errors"), 1);
  EXPECT_EQ(Number(reserve, "mean"), 8000.5);
  EXPECT_EQ(Number(reserve, "p50"), 8000);
  EXPECT_EQ(Number(reserve, "p99"), 12000);
  EXPECT_EQ(Number(reserve, "p999"), 12010);
  EXPECT_EQ(Number(reserve, "max"), 12100);

  const google::protobuf::Struct& floor = Object(json, "floor");
  EXPECT_EQ(floor.fields().at("rpc").string_value(), "grpc.health.v1.Health/Check");
  EXPECT_EQ(Number(floor, "rpcs_per_second"), 5500);
  EXPECT_EQ(Number(Object(floor, "latency_us"), "p99"), 6600);

  const google::protobuf::Struct& cpu = Object(json, "client_cpu_us_per_rpc");
  EXPECT_EQ(Number(cpu, "ledger"), 50);
  EXPECT_EQ(Number(cpu, "floor"), 40);
  // Without --server_metrics there is nothing of the server's to report.
  EXPECT_FALSE(json.fields().contains("server_commit"));
  EXPECT_FALSE(json.fields().contains("server_cpu_us_per_rpc"));
  EXPECT_THAT(FormatTable(TenSecondRun()), Not(HasSubstr("server CPU")));
}

// What ledgerd's committer did, and ledgerd's CPU in each phase per RPC of that phase
// (11,000 ledger RPCs, 44,000 Health/Checks).
TEST(RunReportTest, TheServersCommitterAndCpuAreReportedWhenTheyWereRead) {
  RunReport r = TenSecondRun();
  r.server_cpu = RunReport::ServerCpu{1.21, 0.462, 2.2};
  CommitSummary commit;
  commit.groups = 400;
  commit.mean_group_size = 12.5;
  commit.synced_groups = 398;
  commit.mean_sync_us = 812.5;
  commit.p50_sync_us = 1000;
  commit.p99_sync_us = 5000;
  r.commit = commit;
  const google::protobuf::Struct json = Parse(FormatJson(r));
  const google::protobuf::Struct& server = Object(json, "server_commit");
  EXPECT_EQ(Number(server, "groups"), 400);
  EXPECT_EQ(Number(server, "mean_group_size"), 12.5);
  EXPECT_EQ(Number(server, "synced_groups"), 398);
  EXPECT_EQ(Number(server, "mean_sync_us"), 812.5);
  EXPECT_EQ(Number(server, "p50_sync_us_at_most"), 1000);
  EXPECT_EQ(Number(server, "p99_sync_us_at_most"), 5000);
  const google::protobuf::Struct& cpu = Object(json, "server_cpu_us_per_rpc");
  for (const auto& [field, us] :
       {std::pair<const char*, double>{"ledger", 110}, {"ledger_commit", 42}, {"floor", 50}}) {
    EXPECT_DOUBLE_EQ(Number(cpu, field), us) << field;
  }
  EXPECT_THAT(FormatTable(r),
              AllOf(HasSubstr("server committer: 400 groups, 12.50 commands a group; write+sync "
                              "of a group: mean 812 us, p50 <= 1000 us, p99 <= 5000 us"),
                    HasSubstr("server CPU: 110.0 us per ledger RPC (committer 42.0), 50.0 us per "
                              "Health/Check\n")));
}

TEST(RunReportTest, TheAuditIsReportedExactFailedOrNotDone) {
  RunReport r = TenSecondRun();
  r.audit_skipped = "--no_audit";
  EXPECT_THAT(FormatTable(r), HasSubstr("audit: not done (--no_audit)\n"));
  EXPECT_EQ(Object(Parse(FormatJson(r)), "audit").fields().at("skipped").string_value(),
            "--no_audit");

  AuditResult audit;
  audit.callerids = 9998;
  audit.unlimited = 2;
  audit.charged = 123456789;  // micros
  audit.credit_fell_by = 123456789;
  r.audit = audit;
  EXPECT_THAT(FormatTable(r), HasSubstr("audit: exact; the credit left of 9998 CallerIDs fell by "
                                        "123.456789 in all, each by what the Settles charged it "
                                        "(2 unlimited, 0 not there)\n"));
  google::protobuf::Struct json = Parse(FormatJson(r));
  const google::protobuf::Struct& exact = Object(json, "audit");
  EXPECT_TRUE(exact.fields().at("ok").bool_value());
  EXPECT_EQ(Number(exact, "callerids"), 9998);
  EXPECT_EQ(exact.fields().at("charged").string_value(), "123.456789");
  EXPECT_EQ(exact.fields().at("credit_fell_by").string_value(), "123.456789");

  // A message with quotes and a line break stays one JSON string.
  audit.credit_fell_by = 120000000;
  audit.mismatches = 1;
  audit.first_mismatch = "+407000000007 in 0003*002: \"odd\"\n";
  r.audit = audit;
  EXPECT_THAT(FormatTable(r), HasSubstr("audit: FAILED; 1 of 9998 CallerIDs do not add up (credit "
                                        "fell by 120.00, the Settles charged 123.456789); first: "
                                        "+407000000007"));
  json = Parse(FormatJson(r));
  const google::protobuf::Struct& failed = Object(json, "audit");
  EXPECT_FALSE(failed.fields().at("ok").bool_value());
  EXPECT_EQ(Number(failed, "mismatches"), 1);
  EXPECT_EQ(failed.fields().at("first_mismatch").string_value(),
            "+407000000007 in 0003*002: \"odd\"\n");
}

TEST(RunReportTest, TheTableHasARowPerRpcAndTheTotals) {
  const std::string table = FormatTable(TenSecondRun());
  EXPECT_THAT(table, HasSubstr("ledger-bench: 127.0.0.1:50051, 4 nodes, 10000 CallerIDs on 10 "
                               "extensions, "
                               "64 in flight, 10.00 s\n"));
  EXPECT_THAT(table, HasSubstr("calls: 3000 settled, 500 released, 2 denied (1 from unknown "
                               "numbers), 1 no credit, 1 failed\n"));
  EXPECT_THAT(table, HasSubstr("rpc                 count      per_s     p50_us     p99_us   "
                               "p99.9_us     max_us   errors\n"));
  EXPECT_THAT(table, HasSubstr("Reserve              3500      350.0       8000      12000      "
                               "12010      12100        1\n"));
  EXPECT_THAT(table, HasSubstr("floor:Health        44000     5500.0       2900       6600       "
                               "6610       6700        0\n"));
  EXPECT_THAT(table, HasSubstr("ledger: 1100.0 RPCs/s, 350.0 calls/s; floor: 5500.0 RPCs/s; "
                               "ratio 0.200\n"));
  EXPECT_THAT(table, HasSubstr("client CPU: 50.0 us per ledger RPC, 40.0 us per Health/Check\n"));
  EXPECT_THAT(table, Not(HasSubstr("server committer")));
}

// --interval_seconds: one row and one JSON object per interval; the server's figures only
// where they were read, and nothing of intervals at all without the flag.
TEST(RunReportTest, IntervalsAreReportedOneEach) {
  RunReport r = TenSecondRun();
  EXPECT_FALSE(Parse(FormatJson(r)).fields().contains("intervals"));
  EXPECT_THAT(FormatTable(r), Not(HasSubstr("intervals of")));

  r.interval_seconds = 5;
  IntervalReport first;
  first.seconds = 5;
  first.calls = 1500;
  first.rpcs = Summary(5000, 0, 700, 2100);
  first.commit = CommitSummary{500, 10, 500, 180, 250, 500};
  first.server_cpu_us_per_rpc = 48.5;
  first.server_commit_cpu_us_per_rpc = 17.25;
  first.server_rocksdb_cpu_us_per_rpc = 3.5;
  first.server_resident_bytes = 300.0 * (1 << 20);
  first.server_rocksdb_memory_bytes = 140.0 * (1 << 20);
  first.host = HostSpeed{412.5, 97.5};
  IntervalReport second;
  second.start_seconds = 5;
  second.seconds = 2.5;
  second.calls = 500;
  second.rpcs = Summary(2000, 1, 900, 4000);
  r.intervals = {first, second};

  const google::protobuf::Struct json = Parse(FormatJson(r));
  EXPECT_EQ(Number(json, "interval_seconds"), 5);
  ASSERT_TRUE(json.fields().contains("intervals"));
  const auto& list = json.fields().at("intervals").list_value();
  ASSERT_EQ(list.values_size(), 2);
  const google::protobuf::Struct& a = list.values(0).struct_value();
  EXPECT_EQ(Number(a, "start_seconds"), 0);
  EXPECT_EQ(Number(a, "seconds"), 5);
  EXPECT_EQ(Number(a, "calls"), 1500);
  EXPECT_EQ(Number(a, "calls_per_second"), 300);
  EXPECT_EQ(Number(a, "rpcs_per_second"), 1000);
  EXPECT_EQ(Number(Object(a, "latency_us"), "p99"), 2100);
  EXPECT_EQ(Number(Object(a, "server_commit"), "mean_group_size"), 10);
  EXPECT_EQ(Number(Object(a, "server_commit"), "mean_sync_us"), 180);
  EXPECT_EQ(Number(a, "server_cpu_us_per_rpc"), 48.5);
  EXPECT_EQ(Number(a, "server_commit_cpu_us_per_rpc"), 17.25);
  EXPECT_EQ(Number(a, "server_rocksdb_cpu_us_per_rpc"), 3.5);
  EXPECT_EQ(Number(a, "server_resident_bytes"), 300.0 * (1 << 20));
  EXPECT_EQ(Number(a, "server_rocksdb_memory_bytes"), 140.0 * (1 << 20));
  EXPECT_EQ(Number(Object(a, "host"), "compute_ns_per_kib"), 412.5);
  EXPECT_EQ(Number(Object(a, "host"), "memory_ns_per_load"), 97.5);
  const google::protobuf::Struct& b = list.values(1).struct_value();
  EXPECT_EQ(Number(b, "start_seconds"), 5);
  EXPECT_EQ(Number(b, "calls_per_second"), 200);
  EXPECT_EQ(Number(Object(b, "latency_us"), "errors"), 1);
  EXPECT_FALSE(b.fields().contains("server_commit"));
  EXPECT_FALSE(b.fields().contains("server_cpu_us_per_rpc"));
  EXPECT_FALSE(b.fields().contains("server_commit_cpu_us_per_rpc"));
  EXPECT_FALSE(b.fields().contains("server_resident_bytes"));
  EXPECT_FALSE(b.fields().contains("server_rocksdb_memory_bytes"));
  EXPECT_FALSE(b.fields().contains("host"));

  const std::string table = FormatTable(r);
  EXPECT_THAT(table, HasSubstr("intervals of 5 s:"));
  EXPECT_THAT(table, HasSubstr("     0.0     5.00      300.0     1000.0      700     2100"));
  EXPECT_THAT(table, HasSubstr("RSS_MiB rocksdb_MiB host_ns/KiB host_ns/load\n"));
  EXPECT_THAT(table, HasSubstr("48.5      17.2        3.5    10.00      180      300         140"
                               "         412         97.5\n"));
  EXPECT_THAT(table, HasSubstr("     5.0     2.50      200.0      800.0      900     4000"));
  EXPECT_THAT(table,
              HasSubstr("-         -          -        -        -        -           -           -"
                        "            -\n"));
}

}  // namespace
}  // namespace callbackledger::bench
