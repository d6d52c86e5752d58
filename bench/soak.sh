#!/usr/bin/env bash
# A long run at a steady load against a ledgerd of its own on loopback, reported interval by
# interval (ledger-bench --interval_seconds with --server_metrics): whether calls a second,
# latency, the committer's sync, ledgerd's CPU per RPC and its resident memory hold as the
# event log grows and RocksDB flushes and compacts. Then RocksDB's own account of the run
# (write stalls, compactions) from its LOG, and the data directory's size. Writes soak.json
# (ledger-bench's), soak.txt (its table), rocksdb.txt and soak.md (the tables) into --out.
#
#   bench/soak.sh [--build DIR] [--out DIR] [--minutes M] [--callerids N] [--in_flight N]
#                 [--interval S] [--preload_seconds S]
#
# Bounded in time: the calls by --minutes (and in count by a billion calls), the preload by --preload_seconds, the floor by
# 10 seconds, the audit by two reads of every CallerID.
set -euo pipefail

build=build
out=docs/bench-data/soak
minutes=10
callerids=1000000
in_flight=64
interval=10
preload_seconds=900
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --minutes) minutes="$2"; shift 2 ;;
    --callerids) callerids="$2"; shift 2 ;;
    --in_flight) in_flight="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    --preload_seconds) preload_seconds="$2"; shift 2 ;;
    *) echo "soak: unknown argument $1" >&2; exit 2 ;;
  esac
done
for value in "$minutes" "$callerids" "$in_flight" "$interval" "$preload_seconds"; do
  if ! [[ "$value" =~ ^[0-9]+$ ]] || [ "$value" -lt 1 ]; then
    echo "soak: --minutes, --callerids, --in_flight, --interval and --preload_seconds take positive integers" >&2
    exit 2
  fi
done
if [ "$minutes" -gt 60 ]; then
  echo "soak: --minutes takes at most 60" >&2
  exit 2
fi
ledgerd="$build/server/ledgerd"
bench="$build/clients/bench/ledger-bench"
license=$((callerids + 1000))
# shellcheck source=bench/ledgerd-lib.sh
source "$(dirname "$0")/ledgerd-lib.sh"
require_built soak "$ledgerd" "$bench"
mkdir -p "$out"
work="$(mktemp -d /tmp/soak.XXXXXX)"
trap 'stop_server; rm -rf "$work"' EXIT

start_server "$work/data" "$work/ledgerd.log"
echo "soak: $minutes minutes at $in_flight in flight over $callerids CallerIDs ($(uptime | sed 's/.*load/load/'))"
"$bench" --server="127.0.0.1:$port" --callerids="$callerids" --in_flight="$in_flight" \
  --seconds=$((minutes * 60)) --calls=1000000000 --floor_seconds=10 --interval_seconds="$interval" \
  --preload_in_flight=256 --preload_seconds="$preload_seconds" --started_over_days=30 \
  --server_metrics="127.0.0.1:$metrics_port" --json="$out/soak.json" >"$out/soak.txt"
stop_server

# RocksDB's account of the run: its cumulative stall figures and the compactions it ran.
{
  echo "data directory: $(du -sm "$work/data" | cut -f1) MiB"
  echo "compactions finished: $(grep -c '"event": "compaction_finished"' "$work/data/LOG" || true)"
  echo "flushes finished: $(grep -c '"event": "flush_finished"' "$work/data/LOG" || true)"
  echo "write stall lines (\"Stalling writes\", \"Stopping writes\"): $(grep -cE 'Stalling writes|Stopping writes' "$work/data/LOG" || true)"
  echo "last cumulative stall line of each column family:"
  grep 'Cumulative stall' "$work/data/LOG" | tail -12 || true
} >"$out/rocksdb.txt"

python3 "$(dirname "$0")/soak_table.py" "$out/soak.json" "$out/rocksdb.txt" | tee "$out/soak.md"
