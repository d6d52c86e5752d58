#!/usr/bin/env bash
# Runs the curves of docs/benchmarks.md against a ledgerd of its own on loopback:
#   1. the in-flight sweep (1, 4, 16, 64, 256 calls in flight) over 10,000 CallerIDs;
#   2. the CallerID-count sweep: the same run at 64 in flight over --big_callerids, which
#      then leaves --leave_open reservations open (a day's TTL, never settled);
#   3. the start-up of ledgerd over that data, open reservations included (load seconds,
#      resident memory);
#   4. a projection rebuild over that data (events/s, from ledgerd's own log).
# Writes one JSON file per run and curves.md (the tables) into --out.
#
#   bench/run-curves.sh [--build DIR] [--out DIR] [--seconds S] [--big_callerids N]
#                       [--leave_open N] [--preload_seconds S] [--repeat N]
#
# --repeat N (1 to 20) runs each point N times: the in-flight sweep N rounds in turn (1, 4,
# 16, 64, 256, then again), the --big_callerids run N times (preloaded once, its
# reservations left open after the last); run K > 1 of a point is NAME.runK.json, and each
# row of curves.md is the median of its runs, with the ratios' range.
#
# Every step is bounded in time: each bench run by --seconds (plus its preload, at most
# --preload_seconds), each start-up by a minute.
set -euo pipefail

build=build
out=docs/bench-data
seconds=10
big=1000000
leave_open=100000
preload_seconds=900
repeat=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --big_callerids) big="$2"; shift 2 ;;
    --preload_seconds) preload_seconds="$2"; shift 2 ;;
    --leave_open) leave_open="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    *) echo "run-curves: unknown argument $1" >&2; exit 2 ;;
  esac
done
for value in "$seconds" "$big" "$preload_seconds" "$repeat"; do
  if ! [[ "$value" =~ ^[0-9]+$ ]] || [ "$value" -lt 1 ]; then
    echo "run-curves: --seconds, --big_callerids, --preload_seconds and --repeat take positive integers" >&2
    exit 2
  fi
done
if [ "$repeat" -gt 20 ]; then
  echo "run-curves: --repeat takes at most 20 runs a point" >&2
  exit 2
fi
if ! [[ "$leave_open" =~ ^[0-9]+$ ]]; then
  echo "run-curves: --leave_open takes a count (0 for none)" >&2
  exit 2
fi
ledgerd="$build/server/ledgerd"
bench="$build/clients/bench/ledger-bench"
license=$((big + 20000))
# shellcheck source=bench/ledgerd-lib.sh
source "$(dirname "$0")/ledgerd-lib.sh"
require_built run-curves "$ledgerd" "$bench"
mkdir -p "$out"
# The runs of an earlier --repeat must not be counted with these.
rm -f "$out"/inflight-*.run*.json "$out"/inflight-*.run*.load \
  "$out/callerids-$big".run*.json "$out/callerids-$big".run*.load
work="$(mktemp -d /tmp/run-curves.XXXXXX)"
trap 'stop_server; rm -rf "$work"' EXIT

# run_bench NAME CALLERIDS IN_FLIGHT [LEDGER_BENCH FLAGS...]: the preload at 256 in flight.
run_bench() {
  local name="$1" callerids="$2" in_flight="$3"
  shift 3
  echo "run-curves: $name ($(uptime | sed 's/.*load/load/'))"
  "$bench" --server="127.0.0.1:$port" --callerids="$callerids" --in_flight="$in_flight" \
    --seconds="$seconds" --preload_in_flight=256 --preload_seconds="$preload_seconds" \
    --server_metrics="127.0.0.1:$metrics_port" --json="$out/$name.json" "$@" | tail -3
  uptime | sed 's/.*load average: //' >"$out/$name.load"
}

# run_name BASE K: the JSON name of run K of a point (BASE, then BASE.run2, ...).
run_name() {
  if [ "$2" -eq 1 ]; then echo "$1"; else echo "$1.run$2"; fi
}

start_server "$work/small" "$work/small.log"
for k in $(seq "$repeat"); do
  for n in 1 4 16 64 256; do run_bench "$(run_name "inflight-$n" "$k")" 10000 "$n"; done
done
stop_server

start_server "$work/big" "$work/big.log"
for k in $(seq "$repeat"); do
  flags=()
  [ "$k" -eq 1 ] || flags+=(--no_preload)
  [ "$k" -lt "$repeat" ] || flags+=(--leave_open="$leave_open")
  run_bench "$(run_name "callerids-$big" "$k")" "$big" 64 "${flags[@]}"
done
stop_server

# Start-up over the big data set: ledgerd's own load_seconds, and its resident memory once
# it serves.
start_server "$work/big" "$work/startup.log"
rss_kib="$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")"
load_seconds="$(sed -n 's/.* serving:.*load_seconds=\([0-9.e+-]*\).*/\1/p' "$work/startup.log")"
stop_server
printf '{"callerids": %s, "open_reservations": %s, "load_seconds": %s, "rss_kib": %s, "load": "%s"}\n' \
  "$big" "$leave_open" "$load_seconds" "$rss_kib" "$(uptime | sed 's/.*load average: //')" \
  >"$out/startup-$big.json"

start_server "$work/big" "$work/rebuild.log" --rebuild_projections
stop_server
rate="$(sed -n 's/.*events_per_second=\([0-9.e+-]*\).*/\1/p' "$work/rebuild.log" | tail -1)"
events="$(sed -n 's/.* serving:.* events=\([0-9]*\).*/\1/p' "$work/rebuild.log")"
printf '{"events": %s, "events_per_second": %s}\n' "${events:-0}" "${rate:-0}" \
  >"$out/rebuild-$big.json"

python3 "$(dirname "$0")/curves_table.py" "$out" "$big" | tee "$out/curves.md"
