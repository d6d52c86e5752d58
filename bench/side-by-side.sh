#!/usr/bin/env bash
# PostgreSQL and the ledger in turn, on the same machine: each round runs
# bench/postgres-ledger.sh, then ledger-bench against a ledgerd of this script's own on
# loopback, for the same time, and side-by-side.md (made by bench/side_by_side_table.py)
# shows each round's calls a second and their ratio, with the median.
#
#   bench/side-by-side.sh [--build DIR] [--out DIR] [--rounds N] [--seconds S]
#                         [--clients C] [--in_flight F] [--callerids N]
#                         [--pg_style functions|statements]
#
# By default 3 rounds of 10 s over 10,000 CallerIDs, PostgreSQL at 16 clients (the issue's
# figure) and the ledger at 256 calls in flight (its best on the benchmark machine:
# docs/benchmarks.md), PostgreSQL's Reserve and Settle in server-side functions
# (postgres-ledger.sh --style, passed on as --pg_style). Every run is bounded in time; the
# ledger's first run adds the CallerIDs before its calls (not timed).
set -euo pipefail

build=build
out=docs/bench-data/side-by-side
rounds=3
seconds=10
clients=16
in_flight=256
callerids=10000
pg_style=functions
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --in_flight) in_flight="$2"; shift 2 ;;
    --callerids) callerids="$2"; shift 2 ;;
    --pg_style) pg_style="$2"; shift 2 ;;
    *) echo "side-by-side: unknown argument $1" >&2; exit 2 ;;
  esac
done
for value in "$rounds" "$seconds" "$clients" "$in_flight" "$callerids"; do
  if ! [[ "$value" =~ ^[0-9]+$ ]] || [ "$value" -lt 1 ]; then
    echo "side-by-side: --rounds, --seconds, --clients, --in_flight and --callerids take positive integers" >&2
    exit 2
  fi
done
if [ "$pg_style" != functions ] && [ "$pg_style" != statements ]; then
  echo "side-by-side: --pg_style is functions or statements" >&2
  exit 2
fi
if [ "$rounds" -gt 20 ] || [ "$seconds" -gt 600 ]; then
  echo "side-by-side: at most 20 rounds of at most 600 s" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
ledgerd="$build/server/ledgerd"
bench="$build/clients/bench/ledger-bench"
license=$((callerids + 1000))
# shellcheck source=bench/ledgerd-lib.sh
source "$here/ledgerd-lib.sh"
require_built side-by-side "$ledgerd" "$bench"
mkdir -p "$out"
rm -f "$out"/pg-*.json "$out"/ledger-*.json "$out"/round-*.load
work="$(mktemp -d /tmp/side-by-side.XXXXXX)"
trap 'stop_server; rm -rf "$work"' EXIT

start_server "$work/data" "$work/ledgerd.log"
for k in $(seq "$rounds"); do
  echo "side-by-side: round $k of $rounds ($(uptime | sed 's/.*load/load/'))"
  bash "$here/postgres-ledger.sh" --clients "$clients" --seconds "$seconds" \
    --callerids "$callerids" --style "$pg_style" --json "$out/pg-$k.json" | tail -1
  "$bench" --server="127.0.0.1:$port" --callerids="$callerids" --in_flight="$in_flight" \
    --seconds="$seconds" --preload_in_flight=256 --server_metrics="127.0.0.1:$metrics_port" \
    --json="$out/ledger-$k.json" | grep '^ledger:'
  uptime | sed 's/.*load average: //' >"$out/round-$k.load"
done
stop_server
python3 "$here/side_by_side_table.py" "$out" | tee "$out/side-by-side.md"
