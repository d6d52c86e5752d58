#!/usr/bin/env bash
# A long run at a steady load against a ledgerd of its own on loopback, reported interval by
# interval (ledger-bench --interval_seconds with --server_metrics): whether calls a second,
# latency, the committer's sync, ledgerd's CPU per RPC and its resident memory hold as the
# event log grows and RocksDB flushes and compacts. Then RocksDB's own account of the run
# (write stalls, compactions; flushes and compactions by column family, with the bytes each
# wrote: bench/rocksdb_families.py) from its LOG, and the data directory's size. Writes
# soak.json (ledger-bench's), soak.txt (its table), rocksdb.txt and soak.md (the tables)
# into --out.
# With --profile_committer, also profiles the committer's thread one interval at a time
# (perf record -t, Debian's linux-perf) and writes committer-profile.md
# (bench/profile_chunks.py): where its time went, chunk by chunk.
#
# With --keep_data DIR, the data directory is DIR (which must not exist yet) and stays after
# the run, so that ledgerd can be started on it again (its start-up, its memory).
# With --heap_minutes M, as the calls start and every M minutes of them, calls glibc's
# malloc_stats() in ledgerd through gdb (which stops ledgerd for about a tenth of a second
# each time) and reads its metrics at the same moment, and writes heap.tsv and heap.md
# (bench/heap_samples.py): the memory malloc has in use beside the part RocksDB accounts for,
# what malloc keeps free, and what grows.
#
#   bench/soak.sh [--build DIR] [--out DIR] [--minutes M] [--callerids N] [--in_flight N]
#                 [--interval S] [--preload_seconds S] [--profile_committer]
#                 [--keep_data DIR] [--heap_minutes M]
#
# Bounded in time: the calls by --minutes (and in count by a billion calls), the preload by
# --preload_seconds, the floor by 10 seconds, the audit by two reads of every CallerID, the
# profile by the calls.
set -euo pipefail

build=build
out=docs/bench-data/soak
minutes=10
callerids=1000000
in_flight=64
interval=10
preload_seconds=900
profile=0
keep_data=""
heap_minutes=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --minutes) minutes="$2"; shift 2 ;;
    --callerids) callerids="$2"; shift 2 ;;
    --in_flight) in_flight="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    --preload_seconds) preload_seconds="$2"; shift 2 ;;
    --profile_committer) profile=1; shift ;;
    --keep_data) keep_data="$2"; shift 2 ;;
    --heap_minutes) heap_minutes="$2"; shift 2 ;;
    *) echo "soak: unknown argument $1" >&2; exit 2 ;;
  esac
done
for value in "$minutes" "$callerids" "$in_flight" "$interval" "$preload_seconds"; do
  if ! [[ "$value" =~ ^[0-9]+$ ]] || [ "$value" -lt 1 ]; then
    echo "soak: --minutes, --callerids, --in_flight, --interval and --preload_seconds take positive integers" >&2
    exit 2
  fi
done
if [ "$minutes" -gt 240 ]; then
  echo "soak: --minutes takes at most 240" >&2
  exit 2
fi
if [ -n "$keep_data" ] && [ -e "$keep_data" ]; then
  echo "soak: --keep_data $keep_data already exists; give a directory to create" >&2
  exit 2
fi
if [ "$profile" = 1 ] && ! command -v perf >/dev/null; then
  echo "soak: --profile_committer needs perf (Debian: apt-get install linux-perf)" >&2
  exit 2
fi
if ! [[ "$heap_minutes" =~ ^[0-9]+$ ]] || [ "$heap_minutes" -gt "$minutes" ]; then
  echo "soak: --heap_minutes takes a whole number of minutes, at most --minutes ($minutes)" >&2
  exit 2
fi
if [ "$heap_minutes" -gt 0 ] && ! command -v gdb >/dev/null; then
  echo "soak: --heap_minutes needs gdb (Debian: apt-get install gdb)" >&2
  exit 2
fi
ledgerd="$build/server/ledgerd"
bench="$build/clients/bench/ledger-bench"
license=$((callerids + 1000))
# shellcheck source=bench/ledgerd-lib.sh
source "$(dirname "$0")/ledgerd-lib.sh"
require_built soak "$ledgerd" "$bench"
mkdir -p "$out"
rm -f "$out/heap.tsv" "$out/heap.md"
work="$(mktemp -d /tmp/soak.XXXXXX)"
heap_pid=""
trap '[ -z "$heap_pid" ] || kill "$heap_pid" 2>/dev/null; stop_server; rm -rf "$work"' EXIT

data_dir="$work/data"
if [ -n "$keep_data" ]; then
  mkdir -p "$(dirname "$keep_data")"
  data_dir="$keep_data"
fi
start_server "$data_dir" "$work/ledgerd.log"
echo "soak: $minutes minutes at $in_flight in flight over $callerids CallerIDs ($(uptime | sed 's/.*load/load/'))"
# The preload first, on its own, so that the run's calls start when it does.
"$bench" --server="127.0.0.1:$port" --callerids="$callerids" --preload_in_flight=256 \
  --preload_seconds="$preload_seconds" --calls=1 --seconds=0.1 --floor_seconds=0.1 --no_audit \
  >"$out/preload.txt"
"$bench" --server="127.0.0.1:$port" --callerids="$callerids" --in_flight="$in_flight" \
  --seconds=$((minutes * 60)) --calls=1000000000 --floor_seconds=10 --interval_seconds="$interval" \
  --no_preload --started_over_days=30 --server_metrics="127.0.0.1:$metrics_port" \
  --json="$out/soak.json" >"$out/soak.txt" &
bench_pid=$!
if [ "$heap_minutes" -gt 0 ]; then
  # In the background, beside the committer's profile if any: one sample as the calls start
  # and one every M minutes of them, the heap printed by ledgerd and its metrics read right
  # after.
  (
    started=$(date +%s)
    for n in $(seq 0 $(((minutes * 60 - 1) / (heap_minutes * 60)))); do
      while [ "$(date +%s)" -lt $((started + n * heap_minutes * 60)) ]; do
        kill -0 "$bench_pid" 2>/dev/null || exit 0
        sleep 1
      done
      kill -0 "$bench_pid" 2>/dev/null || exit 0
      timeout 60 gdb -n --readnever -p "$pid" -batch -iex "set auto-solib-add off" \
        -ex "sharedlibrary libc.so" -ex 'call (void) malloc_stats()' >/dev/null 2>&1 || {
        echo "soak: gdb could not call malloc_stats() in ledgerd (is ptrace allowed?)" >&2
        continue
      }
      python3 "$(dirname "$0")/heap_samples.py" row "$work/ledgerd.log" \
        "127.0.0.1:$metrics_port" $((n * heap_minutes * 60)) >>"$out/heap.tsv" || true
    done
  ) &
  heap_pid=$!
fi
if [ "$profile" = 1 ]; then
  # One chunk an interval for as long as the calls last, from the start of the run (whose
  # audit first reads every CallerID, a second or two for a million: the chunks start that
  # much before the calls, and leave the last second or two of them out).
  committer="$(grep -lx 'ledger-commit' /proc/"$pid"/task/*/comm | head -1 | cut -d/ -f5 || true)"
  [ -n "$committer" ] || { echo "soak: ledgerd has no ledger-commit thread" >&2; exit 1; }
  mkdir -p "$work/chunks"
  started_ms=$(date +%s%3N)
  for n in $(seq -w 0 $(((minutes * 60) / interval - 1))); do
    kill -0 "$bench_pid" 2>/dev/null || break
    at_ms=$(($(date +%s%3N) - started_ms))
    # perf takes a second or two to start and stop: the chunks fall behind the intervals, and
    # a chunk that would run past the calls (into the floor after them) is not taken.
    [ $((at_ms + interval * 1000)) -le $((minutes * 60000 + 1000)) ] || break
    printf '%d.%d\n' $((at_ms / 1000)) $((at_ms % 1000 / 100)) >"$work/chunks/chunk-$n.start"
    perf record -q -F 999 -t "$committer" -o "$work/chunks/chunk-$n.data" -- sleep "$interval" \
      >/dev/null 2>&1 || true
  done
fi
wait "$bench_pid"
if [ -n "$heap_pid" ]; then
  wait "$heap_pid" || true
  heap_pid=""
fi
stop_server
if [ "$profile" = 1 ]; then
  # Read after the run, so that reading one chunk takes no CPU from the next.
  for data in "$work"/chunks/chunk-*.data; do
    [ -e "$data" ] || continue
    {
      echo "start $(cat "${data%.data}.start") $(perf script -i "$data" -F ip 2>/dev/null | wc -l)"
      perf report -i "$data" --no-children --sort dso,symbol --stdio -q --percent-limit 0.5 \
        2>/dev/null || true
    } >"${data%.data}.txt"
  done
fi

# RocksDB's account of the run: its cumulative stall figures and the compactions it ran.
{
  echo "data directory: $(du -sm "$data_dir" | cut -f1) MiB"
  echo "compactions finished: $(grep -c '"event": "compaction_finished"' "$data_dir/LOG" || true)"
  echo "flushes finished: $(grep -c '"event": "flush_finished"' "$data_dir/LOG" || true)"
  echo "write stall lines (\"Stalling writes\", \"Stopping writes\"): $(grep -cE 'Stalling writes|Stopping writes' "$data_dir/LOG" || true)"
  echo "last cumulative stall line of each column family:"
  grep 'Cumulative stall' "$data_dir/LOG" | tail -12 || true
} >"$out/rocksdb.txt"

python3 "$(dirname "$0")/soak_table.py" "$out/soak.json" "$out/rocksdb.txt" | tee "$out/soak.md"
{
  printf '\nRocksDB by column family (bench/rocksdb_families.py):\n\n'
  python3 "$(dirname "$0")/rocksdb_families.py" "$data_dir/LOG"
} | tee -a "$out/soak.md"
if [ -s "$out/heap.tsv" ]; then
  # The summary leaves out the first ten minutes of a run of twenty or more: the block cache
  # and the memtables fill then.
  python3 "$(dirname "$0")/heap_samples.py" table "$out/heap.tsv" \
    --from_minute=$((minutes >= 20 ? 10 : 0)) | tee "$out/heap.md"
fi
if [ "$profile" = 1 ]; then
  python3 "$(dirname "$0")/profile_chunks.py" "$out/soak.json" "$work/chunks" \
    >"$out/committer-profile.md"
  echo "soak: the committer's profile, chunk by chunk: $out/committer-profile.md"
fi
