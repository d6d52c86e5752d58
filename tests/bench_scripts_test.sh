#!/usr/bin/env bash
# Checks the benchmark scripts without running a benchmark: bad arguments are refused with
# a message naming them (exit 2) before anything is installed, started or written, and
# the curves' tables show the figures of the JSON files they are made from.
# Usage: bench_scripts_test.sh SOURCE_DIR
set -euo pipefail
src="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect_refusal EXPECTED_CODE EXPECTED_TEXT COMMAND...
expect_refusal() {
  local code="$1" text="$2"
  shift 2
  local got=0
  "$@" >"$dir/out" 2>"$dir/err" || got=$?
  [ "$got" -eq "$code" ] || fail "$* exited $got, not $code: $(cat "$dir/err")"
  grep -q -- "$text" "$dir/err" || fail "$* did not say \"$text\": $(cat "$dir/err")"
}

expect_refusal 2 "unknown argument --fast" bash "$src/bench/run-curves.sh" --fast
expect_refusal 2 "positive integers" bash "$src/bench/run-curves.sh" --seconds 0
expect_refusal 2 "positive integers" bash "$src/bench/run-curves.sh" --big_callerids 1e6
expect_refusal 2 "positive integers" bash "$src/bench/run-curves.sh" --repeat 0
expect_refusal 2 "at most 20" bash "$src/bench/run-curves.sh" --repeat 21
expect_refusal 1 "is not built" bash "$src/bench/run-curves.sh" --build "$dir/no-build" \
  --out "$dir/out-dir"
[ ! -e "$dir/out-dir" ] || fail "run-curves.sh wrote its output directory before refusing"
expect_refusal 2 "unknown argument --fast" bash "$src/bench/side-by-side.sh" --fast
expect_refusal 2 "positive integers" bash "$src/bench/side-by-side.sh" --in_flight 0
expect_refusal 2 "at most 20 rounds" bash "$src/bench/side-by-side.sh" --rounds 21
expect_refusal 2 "--pg_style is functions or statements" bash "$src/bench/side-by-side.sh" \
  --pg_style fast
expect_refusal 2 "at most 20 rounds of at most 600 s" bash "$src/bench/side-by-side.sh" \
  --seconds 601
expect_refusal 1 "is not built" bash "$src/bench/side-by-side.sh" --build "$dir/no-build" \
  --out "$dir/out-dir"
[ ! -e "$dir/out-dir" ] || fail "side-by-side.sh wrote its output directory before refusing"
expect_refusal 2 "unknown argument --fast" bash "$src/bench/soak.sh" --fast
expect_refusal 2 "positive integers" bash "$src/bench/soak.sh" --minutes 0
expect_refusal 2 "positive integers" bash "$src/bench/soak.sh" --interval 0.5
expect_refusal 2 "at most 240" bash "$src/bench/soak.sh" --minutes 241
expect_refusal 1 "is not built" bash "$src/bench/soak.sh" --build "$dir/no-build" \
  --out "$dir/out-dir"
[ ! -e "$dir/out-dir" ] || fail "soak.sh wrote its output directory before refusing"
mkdir -p "$dir/no-tools"
expect_refusal 2 "needs perf" env PATH="$dir/no-tools" "$BASH" "$src/bench/soak.sh" \
  --profile_committer --out "$dir/out-dir"
[ ! -e "$dir/out-dir" ] || fail "soak.sh wrote its output directory before refusing"
mkdir -p "$dir/kept"
expect_refusal 2 "already exists" bash "$src/bench/soak.sh" --keep_data "$dir/kept" \
  --out "$dir/out-dir"
[ ! -e "$dir/out-dir" ] || fail "soak.sh wrote its output directory before refusing"
expect_refusal 2 "whole number of minutes" bash "$src/bench/soak.sh" --heap_minutes 1.5 \
  --out "$dir/out-dir"
expect_refusal 2 "at most --minutes (10)" bash "$src/bench/soak.sh" --heap_minutes 11 \
  --out "$dir/out-dir"
expect_refusal 2 "needs gdb" env PATH="$dir/no-tools" "$BASH" "$src/bench/soak.sh" \
  --heap_minutes 5 --out "$dir/out-dir"
[ ! -e "$dir/out-dir" ] || fail "soak.sh wrote its output directory before refusing"
expect_refusal 2 "positive integers" bash "$src/bench/postgres-ledger.sh" --clients many
expect_refusal 2 "at most 600" bash "$src/bench/postgres-ledger.sh" --seconds 601
expect_refusal 2 "unknown argument --host" bash "$src/bench/postgres-ledger.sh" --host x
expect_refusal 2 "--style is functions or statements" bash "$src/bench/postgres-ledger.sh" \
  --style stored

# The tables, from JSON shaped as ledger-bench and run-curves.sh write it.
run_json() {  # NAME RATIO CALLS_PER_SECOND WRITE_P99 FLOOR_P99 [SERVER_COMMIT JSON]
  cat >"$dir/data/$1.json" <<JSON
{"rpcs_per_second": 1000.0, "calls_per_second": $3, "ratio": $2,
 "floor_rpcs_per_second": 2000.0,
 "preload": {"enabled": true, "added": 500, "existing": 0, "seconds": 0.5},
 "latency_us": {"Reserve": {"count": 10, "p50": 150, "p99": $4},
                "Settle": {"count": 9, "p50": 120, "p99": 100}},
 ${6:+\"server_commit\": $6,}
 "floor": {"latency_us": {"count": 50, "p50": 50, "p99": $5}}}
JSON
  echo "9.50, 8.00, 7.00" >"$dir/data/$1.load"
}
mkdir -p "$dir/data"
for n in 4 16 256; do run_json "inflight-$n" 0.1 100 300 100; done
run_json inflight-1 0.1 100 300 100 '{"mean_group_size": 1.0, "mean_sync_us": 75.4}'
run_json inflight-64 0.5 321 400 200 '{"mean_group_size": 12.46, "mean_sync_us": 850.4}'
run_json callerids-500 0.45 300 900 300
echo '{"callerids": 500, "load_seconds": 1.5, "rss_kib": 204800}' >"$dir/data/startup-500.json"
echo '{"events": 700, "events_per_second": 35000}' >"$dir/data/rebuild-500.json"
python3 "$src/bench/curves_table.py" "$dir/data" 500 >"$dir/table"
grep -q '^| 64 | 321 | 1,000 | 2,000 | 0.500 | 400 | 200 | 2.0 | 12.5 | 850 | 9.50, 8.00, 7.00 |$' \
  "$dir/table" || fail "the 64 in flight row is wrong: $(cat "$dir/table")"
grep -q '^| 500 | 300 | 1,000 | 2,000 | 0.450 | 900 | 300 | 3.0 | ? | ? |' "$dir/table" ||
  fail "the CallerID-count row (run without server metrics) is wrong: $(cat "$dir/table")"
grep -q 'At 1 in flight: write p50 150 µs; one group.s write and sync 75 µs (mean) + the floor.s p50 50 µs = 125 µs' \
  "$dir/table" || fail "the 1 in flight line is wrong: $(cat "$dir/table")"
grep -q 'start-up 1.50 s to serving, resident memory 200 MiB; rebuild of 700 events at 35,000' \
  "$dir/table" || fail "the start-up and rebuild line is wrong: $(cat "$dir/table")"
! grep -q 'median' "$dir/table" || fail "one run per point is called a median: $(cat "$dir/table")"

# A point run three times (--repeat 3): its row shows the medians and the ratios' range.
run_json inflight-64.run2 0.4 300 500 200 '{"mean_group_size": 10.0, "mean_sync_us": 800.0}'
run_json inflight-64.run3 0.6 350 300 200 '{"mean_group_size": 14.0, "mean_sync_us": 900.0}'
run_json inflight-1.run2 0.1 100 300 100 '{"mean_group_size": 1.0, "mean_sync_us": 99.6}'
python3 "$src/bench/curves_table.py" "$dir/data" 500 >"$dir/table"
grep -q '^Each row is the median of 3 runs' "$dir/table" ||
  fail "the table does not say its rows are medians: $(cat "$dir/table")"
grep -q '^| 64 | 321 | 1,000 | 2,000 | 0.500 (0.400–0.600) | 400 | 200 | 2.0 (1.5–2.5) | 12.5 | 850 | 9.50 / 9.50 / 9.50 (1 min) |$' \
  "$dir/table" || fail "the repeated 64 in flight row is wrong: $(cat "$dir/table")"
grep -q 'At 1 in flight: write p50 150 µs; one group.s write and sync 88 µs (mean) + the floor.s p50 50 µs = 138 µs' \
  "$dir/table" || fail "the repeated 1 in flight line is wrong: $(cat "$dir/table")"
# The side-by-side table, from JSON shaped as postgres-ledger.sh and ledger-bench write it.
mkdir -p "$dir/sbs"
pg_json() {  # ROUND CALLS_PER_SECOND
  echo "{\"clients\": 16, \"seconds\": 10, \"callerids\": 10000, \"calls_per_second\": $2}" \
    >"$dir/sbs/pg-$1.json"
}
ledger_json() {  # ROUND CALLS_PER_SECOND
  echo "{\"in_flight\": 256, \"calls_per_second\": $2}" >"$dir/sbs/ledger-$1.json"
}
pg_json 1 1000.4
ledger_json 1 4000
pg_json 2 800
ledger_json 2 4000
pg_json 3 1250
ledger_json 3 3750
ledger_json 4 9999  # a round PostgreSQL did not finish is no round
python3 "$src/bench/side_by_side_table.py" "$dir/sbs" >"$dir/table"
grep -q '^PostgreSQL at 16 clients (one statement a round trip), the ledger at 256 calls in flight over 10,000 CallerIDs, 10 s each' \
  "$dir/table" || fail "the side-by-side heading is wrong: $(cat "$dir/table")"
grep -q '^| 1 | 1,000 | 4,000 | 4.0× |$' "$dir/table" &&
  grep -q '^| 2 | 800 | 4,000 | 5.0× |$' "$dir/table" &&
  grep -q '^| 3 | 1,250 | 3,750 | 3.0× |$' "$dir/table" ||
  fail "the side-by-side rounds are wrong: $(cat "$dir/table")"
! grep -q '^| 4 |' "$dir/table" || fail "a round without PostgreSQL was shown: $(cat "$dir/table")"
grep -q '^Median 4.0× (from 3.0× to 5.0×) over 3 rounds.$' "$dir/table" ||
  fail "the side-by-side median is wrong: $(cat "$dir/table")"
# Since --style, postgres-ledger.sh names it in its JSON.
echo '{"clients": 32, "seconds": 10, "callerids": 10000, "style": "functions", "calls_per_second": 2000}' \
  >"$dir/sbs/pg-1.json"
python3 "$src/bench/side_by_side_table.py" "$dir/sbs" >"$dir/table"
grep -q '^PostgreSQL at 32 clients (Reserve and Settle in server-side functions), the ledger' \
  "$dir/table" && grep -q '^| 1 | 2,000 | 4,000 | 2.0× |$' "$dir/table" ||
  fail "the side-by-side table of the functions style is wrong: $(cat "$dir/table")"
expect_refusal 1 "no pg-1.json" python3 "$src/bench/side_by_side_table.py" "$dir/data"

# The soak's tables, from JSON shaped as ledger-bench --interval_seconds writes it: five whole
# intervals and the short last one; the fifths are the first and the fifth whole interval.
# The last interval has neither host probe nor RocksDB's memory (an older ledger-bench's
# JSON); in the others RocksDB holds half the resident memory.
interval_json() {  # START SECONDS CALLS_PER_SECOND P99 CPU SYNC RSS_MIB ROCKSDB_CPU [HOST_KIB HOST_LOAD]
  echo "{\"start_seconds\": $1, \"seconds\": $2, \"calls\": 1, \"calls_per_second\": $3,
   \"rpcs_per_second\": $(($3 * 3)), \"latency_us\": {\"count\": 9, \"p50\": 100, \"p99\": $4, \"max\": 9000},
   \"server_commit\": {\"groups\": 5, \"mean_group_size\": 12.5, \"mean_sync_us\": $6},
   \"server_cpu_us_per_rpc\": $5, \"server_commit_cpu_us_per_rpc\": 20.5,
   \"server_rocksdb_cpu_us_per_rpc\": $8, \"server_resident_bytes\": $(($7 * 1048576))${9:+,
   \"server_rocksdb_memory_bytes\": $(($7 * 524288)),
   \"host\": {\"compute_ns_per_kib\": $9, \"memory_ns_per_load\": ${10}\}}}"
}
{
  echo '{"callerids": 1000000, "in_flight": 64, "duration_seconds": 50.2, "calls_per_second": 2500,'
  echo ' "rpcs_per_second": 7500, "ratio": 0.5, "audit": {"ok": true}, "interval_seconds": 10,'
  echo ' "intervals": ['
  echo "$(interval_json 0 10 2000 700 50.5 400 300 2.5 400 90),"
  echo "$(interval_json 10 10 2500 800 51 420 350 3 410 91),"
  echo "$(interval_json 20 10 2600 800 51 420 380 3 420 92),"
  echo "$(interval_json 30 10 2700 800 51 420 390 3 430 93),"
  echo "$(interval_json 40 10 3000 900 52.25 500 400 6.5 1500 120.25),"
  echo "$(interval_json 50 0.2 100 100 99 100 400 1)"
  echo ' ]}'
} >"$dir/soak.json"
echo "data directory: 1234 MiB" >"$dir/rocksdb.txt"
python3 "$src/bench/soak_table.py" "$dir/soak.json" "$dir/rocksdb.txt" >"$dir/table"
grep -q '^## Soak: 1000000 CallerIDs, 64 in flight, 50 s, intervals of 10 s$' "$dir/table" &&
  grep -q '^Whole run: 2,500 calls/s, 7,500 RPCs/s, ratio 0.500; audit exact.$' "$dir/table" ||
  fail "the soak's heading is wrong: $(cat "$dir/table")"
grep -q '^| calls/s | 2,000 | 3,000 |$' "$dir/table" &&
  grep -q '^| p99 µs | 700 | 900 |$' "$dir/table" &&
  grep -q '^| ledgerd CPU µs per ledger RPC | 50.5 | 52.2 |$' "$dir/table" &&
  grep -q '^| of which RocksDB.s flushes and compactions | 2.5 | 6.5 |$' "$dir/table" &&
  grep -q '^| resident MiB at the end | 300 | 400 |$' "$dir/table" &&
  grep -q '^| of which RocksDB.s (memtables, table readers, block cache) | 150 | 200 |$' "$dir/table" &&
  grep -q '^| the machine: ns to hash a KiB in cache | 400 | 1,500 |$' "$dir/table" &&
  grep -q '^| the machine: ns a load from memory | 90.0 | 120.2 |$' "$dir/table" ||
  fail "the soak's fifths are wrong: $(cat "$dir/table")"
grep -q '^| 40 | 10.0 | 3,000 | 9,000 | 100 | 900 | 9,000 | 52.2 | 20.5 | 6.5 | 500 | 400 | 200 | 1,500 | 120.2 |$' "$dir/table" &&
  grep -q '^| 50 | 0.2 | 100 | 300 | 100 | 100 | 9,000 | 99.0 | 20.5 | 1.0 | 100 | 400 | - | - | - |$' "$dir/table" &&
  grep -q '^data directory: 1234 MiB$' "$dir/table" ||
  fail "the soak's intervals or RocksDB's account are wrong: $(cat "$dir/table")"
# Fifty seconds make no two spans of five minutes: no table of spans. In spans of 20 s: the
# medians of each span's whole intervals (the short last one left out), the resident memory
# at the span's end.
! grep -q '^| minutes |' "$dir/table" || fail "a table of spans for one span: $(cat "$dir/table")"
python3 "$src/bench/soak_table.py" "$dir/soak.json" "$dir/rocksdb.txt" --span_seconds=20 \
  >"$dir/table"
grep -q '^| seconds | calls/s | p99 µs |' "$dir/table" &&
  grep -q '^| 0–20 | 2,250 | 750 | 50.8 | 20.5 | 2.8 | 410 | 350 | 175 | 405 | 90.5 |$' "$dir/table" &&
  grep -q '^| 20–40 | 2,650 | 800 | 51.0 | 20.5 | 3.0 | 420 | 390 | 195 | 425 | 92.5 |$' "$dir/table" &&
  grep -q '^| 40–60 | 3,000 | 900 | 52.2 | 20.5 | 6.5 | 500 | 400 | 200 | 1,500 | 120.2 |$' "$dir/table" ||
  fail "the soak's spans are wrong: $(cat "$dir/table")"
expect_refusal 1 "unknown argument --span=20" \
  python3 "$src/bench/soak_table.py" "$dir/soak.json" "$dir/rocksdb.txt" --span=20
expect_refusal 1 "positive integer, not 0" \
  python3 "$src/bench/soak_table.py" "$dir/soak.json" "$dir/rocksdb.txt" --span_seconds=0
# The heap beside RocksDB's account (soak.sh --heap_minutes): a row takes the last whole
# malloc_stats() total of ledgerd's log (not an arena's figures, not a total cut short) and
# the metrics as ledgerd serves them (here from a file, over HTTP on loopback).
cat >"$dir/ledgerd.log" <<'TXT'
I20261205 10:00:00 serving: 127.0.0.1:1
Total (incl. mmap):
system bytes     =  556154880
in use bytes     =  386850320
max mmap regions =          2
Arena 0:
system bytes     =   11313152
in use bytes     =    1427696
Total (incl. mmap):
system bytes     =  600000000
in use bytes     =  400000000
max mmap regions =          2
Total (incl. mmap):
system bytes     =  700000000
TXT
mkdir -p "$dir/www"
cat >"$dir/www/metrics" <<'TXT'
# HELP process_resident_memory_bytes Resident memory.
process_resident_memory_bytes 5.5e+08
ledger_last_event_sequence 123456
ledger_storage_memory_bytes{kind="memtables"} 52428800
ledger_storage_memory_bytes{kind="table_readers"} 1048576
ledger_storage_memory_bytes{kind="block_cache"} 134217728
TXT
http_port=$((20000 + RANDOM % 20000))
timeout 30 python3 -m http.server --bind 127.0.0.1 --directory "$dir/www" "$http_port" \
  >/dev/null 2>&1 &
http_pid=$!
for _ in $(seq 50); do
  python3 "$src/bench/heap_samples.py" row "$dir/ledgerd.log" "127.0.0.1:$http_port" 300 \
    >"$dir/heap-row" 2>/dev/null && break
  sleep 0.1
done
kill "$http_pid" 2>/dev/null || true
[ "$(cat "$dir/heap-row")" = "$(printf '300\t123456\t550000000\t600000000\t400000000\t52428800\t1048576\t134217728')" ] ||
  fail "the heap sample row is wrong: $(cat "$dir/heap-row")"
echo "I20261205 10:00:00 serving: 127.0.0.1:1" >"$dir/no-stats.log"
expect_refusal 1 "no malloc_stats() total in" \
  python3 "$src/bench/heap_samples.py" row "$dir/no-stats.log" "127.0.0.1:$http_port" 0
# Three samples an hour apart: in use outside RocksDB's part rises 10 MiB an hour while the
# memtables swing; the slopes are least squares.
mib=1048576
printf '%s\t' 0 1000 $((500 * mib)) $((600 * mib)) $((400 * mib)) $((20 * mib)) 0 \
  $((128 * mib)) | sed 's/\t$/\n/' >"$dir/heap.tsv"
printf '%s\t' 3600 2000 $((520 * mib)) $((600 * mib)) $((470 * mib)) $((80 * mib)) 0 \
  $((128 * mib)) | sed 's/\t$/\n/' >>"$dir/heap.tsv"
printf '%s\t' 7200 3000 $((530 * mib)) $((610 * mib)) $((440 * mib)) $((30 * mib)) $mib \
  $((128 * mib)) | sed 's/\t$/\n/' >>"$dir/heap.tsv"
python3 "$src/bench/heap_samples.py" table "$dir/heap.tsv" >"$dir/heap.md"
grep -q '^| 0 | 1,000 | 500 | 400 | 148 | 20 | 128 | 252 | 200 |$' "$dir/heap.md" &&
  grep -q '^| 60 | 2,000 | 520 | 470 | 208 | 80 | 128 | 262 | 130 |$' "$dir/heap.md" &&
  grep -q '^| 120 | 3,000 | 530 | 440 | 159 | 30 | 128 | 281 | 170 |$' "$dir/heap.md" &&
  grep -q '^| resident | 500 | 530 | 500 | 530 | +15.0 |$' "$dir/heap.md" &&
  grep -q '^| in use outside RocksDB.s | 252 | 281 | 252 | 281 | +14.5 |$' "$dir/heap.md" &&
  grep -q '^| kept free by malloc | 200 | 170 | 130 | 200 | -15.0 |$' "$dir/heap.md" ||
  fail "the heap table is wrong: $(cat "$dir/heap.md")"
grep -q '^From minute 0 to minute 120 (3 samples):$' "$dir/heap.md" ||
  fail "the heap summary's span is wrong: $(cat "$dir/heap.md")"
# From minute 60 on: the listing keeps every sample, the summary only the last two.
python3 "$src/bench/heap_samples.py" table "$dir/heap.tsv" --from_minute=60 >"$dir/heap.md"
grep -q '^| 0 | 1,000 | 500 |' "$dir/heap.md" &&
  grep -q '^From minute 60 to minute 120 (2 samples):$' "$dir/heap.md" &&
  grep -q '^| in use outside RocksDB.s | 262 | 281 | 262 | 281 | +19.0 |$' "$dir/heap.md" ||
  fail "the heap table from minute 60 is wrong: $(cat "$dir/heap.md")"
expect_refusal 1 "no sample from minute 121 on" \
  python3 "$src/bench/heap_samples.py" table "$dir/heap.tsv" --from_minute=121
expect_refusal 1 "unknown argument --from=5" \
  python3 "$src/bench/heap_samples.py" table "$dir/heap.tsv" --from=5
echo "1 2 3" >"$dir/bad.tsv"
expect_refusal 1 "line 1 is not 8 whole numbers" \
  python3 "$src/bench/heap_samples.py" table "$dir/bad.tsv"
# RocksDB's flushes and compactions by column family, from LOG lines as RocksDB 7.8 writes
# them: a job's family from its text line, what it did from its event line; a compaction's
# own table files are not counted as flushed; a damaged event line is skipped; the table files
# by level are those of each family's last statistics dump.
cat >"$dir/LOG" <<'TXT'
2026/12/05-04:23:45.735927 12114 [db/flush_job.cc:861] [calls] [JOB 12] Flushing memtable with next log file: 38
2026/12/05-04:23:45.805776 12114 EVENT_LOG_v1 {"time_micros": 1, "cf_name": "calls", "job": 12, "event": "table_file_creation", "file_number": 40, "file_size": 2097152}
2026/12/05-04:23:46.735927 12114 [db/flush_job.cc:861] [calls] [JOB 13] Flushing memtable with next log file: 39
2026/12/05-04:23:46.805776 12114 EVENT_LOG_v1 {"time_micros": 2, "cf_name": "calls", "job": 13, "event": "table_file_creation", "file_number": 41, "file_size": 6291456}
2026/12/05-04:23:46.905776 12114 [db/flush_job.cc:861] [idempotency] [JOB 14] Flushing memtable with next log file: 39
2026/12/05-04:23:46.915776 12114 EVENT_LOG_v1 {"time_micros": 3, "cf_name": "idempotency", "job": 14, "event": "table_file_creation", "file_number": 42, "file_size": 1048576}
2026/12/05-04:23:55.265944 12113 [db/compaction/compaction_job.cc:1994] [calls] [JOB 44] Compacting 2@0 files to L1, score 1.00
2026/12/05-04:23:55.365944 12113 EVENT_LOG_v1 {"time_micros": 4, "cf_name": "calls", "job": 44, "event": "table_file_creation", "file_number": 43, "file_size": 33554432}
2026/12/05-04:23:55.429978 12113 (Original Log Time 2026/12/05-04:23:55.429936) EVENT_LOG_v1 {"time_micros": 5, "job": 44, "event": "compaction_finished", "compaction_time_micros": 2500000, "compaction_time_cpu_micros": 2250000, "output_level": 1, "total_output_size": 33554432}
2026/12/05-04:23:56.265944 12113 [db/compaction/compaction_job.cc:1994] [idempotency] [JOB 45] Compacting 4@0 files to L1, score 1.00
2026/12/05-04:23:56.429978 12113 EVENT_LOG_v1 {"time_micros": 6, "job": 45, "event": "compaction_finished", "compaction_time_cpu_micros": 500000, "total_output_size": 3145728}
2026/12/05-04:23:57.429978 12113 EVENT_LOG_v1 {"job": 46, "event": "compaction_fin
** Compaction Stats [calls] **
Level    Files   Size     Score Read(GB)  Rn(GB) Rnp1(GB) Write(GB) Wnew(GB) Moved(GB) W-Amp
------------------------------------------------------------------------------------------
  L0      1/0    1.00 MB   0.2      0.0     0.0      0.0       0.0      0.0       0.0   0.0
  L3      1/0    4.00 MB   0.0      0.0     0.0      0.0       0.0      0.0       0.0   0.0
 Sum      2/0    5.00 MB   0.0      0.0     0.0      0.0       0.0      0.0       0.0   0.0

** Compaction Stats [calls] **
Priority    Files   Size     Score Read(GB)  Rn(GB) Rnp1(GB) Write(GB) Wnew(GB) Moved(GB)
------------------------------------------------------------------------------------------
 Low      0/0    0.00 KB   0.0      0.0     0.0      0.0       0.0      0.0       0.0   0.0

2026/12/05-04:33:45.000000 12120 [db/db_impl/db_impl.cc:1101] ------- DUMPING STATS -------
** Compaction Stats [calls] **
Level    Files   Size     Score Read(GB)  Rn(GB) Rnp1(GB) Write(GB) Wnew(GB) Moved(GB) W-Amp
------------------------------------------------------------------------------------------
  L0      2/0    8.00 MB   0.5      0.0     0.0      0.0       0.0      0.0       0.0   0.0
  L1      3/0   96.50 MB   0.4      0.1     0.0      0.1       0.1      0.1       0.0   1.0
  L2      1/1    1.50 GB   0.1      0.1     0.0      0.1       0.1      0.1       0.0   1.0
 Sum      6/1    1.60 GB   0.0      0.2     0.0      0.2       0.2      0.2       0.0   1.0
 Int      0/0    0.00 KB   0.0      0.0     0.0      0.0       0.0      0.0       0.0   0.0

** Compaction Stats [idempotency] **
Level    Files   Size     Score Read(GB)  Rn(GB) Rnp1(GB) Write(GB) Wnew(GB) Moved(GB) W-Amp
------------------------------------------------------------------------------------------
  L0      0/0    0.00 KB   0.0      0.0     0.0      0.0       0.0      0.0       0.0   0.0
  L1      2/0   512.00 KB   0.0      0.0     0.0      0.0       0.0      0.0       0.0   0.0
 Sum      2/0   512.00 KB   0.0      0.0     0.0      0.0       0.0      0.0       0.0   0.0

TXT
python3 "$src/bench/rocksdb_families.py" "$dir/LOG" >"$dir/families"
grep -q '^| calls | 2 | 8.0 | 4.00 | 1 | 32.0 | 2.2 | 4.0 | L0 2 (8.0), L1 3 (96.5), L2 1 (1536.0) |$' "$dir/families" &&
  grep -q '^| idempotency | 1 | 1.0 | 1.00 | 1 | 3.0 | 0.5 | 3.0 | L1 2 (0.5) |$' "$dir/families" &&
  grep -q '^| all | 3 | 9.0 | 3.00 | 2 | 35.0 | 2.8 | 3.9 | L0 2 (8.0), L1 5 (97.0), L2 1 (1536.0) |$' "$dir/families" &&
  [ "$(grep -c '^| ' "$dir/families")" = 4 ] &&
  [ "$(sed -n 3p "$dir/families" | cut -d' ' -f2)" = calls ] ||
  fail "RocksDB's families are wrong: $(cat "$dir/families")"
# The committer's profile, chunk by chunk (soak.sh --profile_committer): each chunk beside
# the committer's CPU of the interval that began nearest, the kernel's copying of file pages
# and the three largest symbols.
mkdir -p "$dir/chunks"
cat >"$dir/chunks/chunk-00.txt" <<'TXT'
start 0.0 4100
    10.50%  librocksdb.so.7.8.3  [.] rocksdb::InlineSkipList<...>::FindSpliceForLevel<true>                    -      -
     6.25%  [kernel.kallsyms]    [k] finish_task_switch.isra.0                                                -      -
     3.00%  libc.so.6            [.] _int_malloc
     0.75%  ledgerd              [.] callbackledger::State::FindNumberKey
TXT
cat >"$dir/chunks/chunk-01.txt" <<'TXT'
start 10.1 5900
    18.20%  [kernel.kallsyms]    [k] _copy_to_iter
    17.00%  librocksdb.so.7.8.3  [.] 0x00000000007b9c67
     1.30%  [kernel.kallsyms]    [k] copy_page_to_iter
     5.00%  librocksdb.so.7.8.3  [.] rocksdb::InlineSkipList<...>::FindSpliceForLevel<true>
TXT
python3 "$src/bench/profile_chunks.py" "$dir/soak.json" "$dir/chunks" >"$dir/profile"
grep -q '^| 00 | 0 | 4,100 | 20.5 | 0.0 % | rocksdb::InlineSkipList<...>::FindSpliceForLevel<true> 10.5 %, finish_task_switch.isra.0 6.2 %, _int_malloc 3.0 % |$' "$dir/profile" &&
  grep -q '^| 01 | 10 | 5,900 | 20.5 | 19.5 % | _copy_to_iter 18.2 %, 0x00000000007b9c67 17.0 %, rocksdb::InlineSkipList<...>::FindSpliceForLevel<true> 5.0 % |$' "$dir/profile" ||
  fail "the committer's profile is wrong: $(cat "$dir/profile")"
echo "start ten 100" >"$dir/chunks/chunk-02.txt"
expect_refusal 1 "not \"start SECONDS SAMPLES\"" python3 "$src/bench/profile_chunks.py" \
  "$dir/soak.json" "$dir/chunks"
echo "PASS"
