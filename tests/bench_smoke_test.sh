#!/usr/bin/env bash
# Smoke test of ledger-bench: runs it for about 2 seconds with small numbers against a real
# ledgerd on a free loopback port and a fresh data directory, and checks that it succeeds and
# writes JSON with positive calls/s and a ledger-to-floor ratio, and that its audit finds the
# books exact, and not when a CallerID is recharged during the calls. Also checks that it refuses
# a non-loopback server, that --leave_open leaves reservations open on the server, and that
# --nodes plays several PBX nodes, each seen by the ledger under its own node_id, and that
# --unknown_ratio's callers are denied and go no further.
# Usage: bench_smoke_test.sh LEDGERD LEDGER_BENCH LEDGERCTL
set -euo pipefail
ledgerd="$1"
bench="$2"
ledgerctl="$3"

dir=$(mktemp -d)
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
port=$(free_port)
metrics_port=$(free_port)
"$ledgerd" --listen="127.0.0.1:$port" --metrics_listen="127.0.0.1:$metrics_port" \
  --data_dir="$dir/data" 2>"$dir/ledgerd.log" &
pid=$!
cleanup() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  tail -n 20 "$dir/ledgerd.log" >&2 || true
  exit 1
}

for _ in $(seq 1 100); do
  grep -q "serving:" "$dir/ledgerd.log" && break
  kill -0 "$pid" 2>/dev/null || fail "ledgerd exited"
  sleep 0.1
done
grep -q "serving:" "$dir/ledgerd.log" || fail "ledgerd is not serving after 10 s"

# Refuses anything but loopback, before connecting, for the server and its metrics.
if timeout 10 "$bench" --server=192.0.2.1:50051 --seconds=1 >/dev/null 2>&1; then
  fail "ledger-bench accepted a non-loopback server"
fi
if timeout 10 "$bench" --server="127.0.0.1:$port" --server_metrics=192.0.2.1:9090 \
  --seconds=1 >/dev/null 2>&1; then
  fail "ledger-bench accepted non-loopback server metrics"
fi

# The floor is bounded by --floor_seconds, shorter than the calls phase.
timeout 60 "$bench" --server="127.0.0.1:$port" --callerids=50 --extensions=5 --in_flight=8 \
  --seconds=2 --floor_seconds=0.5 --json="$dir/bench.json" >"$dir/bench.txt" 2>&1 ||
  { cat "$dir/bench.txt" >&2; fail "ledger-bench exited with an error"; }
cat "$dir/bench.txt"
[[ -s "$dir/bench.json" ]] || fail "no JSON written"

python3 - "$dir/bench.json" <<'PY' || fail "the JSON does not hold what it should"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["calls_per_second"] > 0, r["calls_per_second"]
assert r["rpcs_per_second"] > 0, r["rpcs_per_second"]
assert r["floor_rpcs_per_second"] > 0, r["floor_rpcs_per_second"]
assert r["duration_seconds"] >= 1.9 and r["floor"]["duration_seconds"] < 1.2, r["floor"]
assert r["ratio"] > 0, r["ratio"]
assert r["rpc_errors"] == 0, r["rpc_errors"]
assert r["preload"]["added"] + r["preload"]["existing"] == 50, r["preload"]
for rpc in ("Authorize", "Reserve", "Settle"):
    lat = r["latency_us"][rpc]
    assert lat["count"] > 0 and 0 < lat["p50"] <= lat["p99"] <= lat["p999"], (rpc, lat)
# The books add up: every CallerID's credit fell by what the Settles charged it.
a = r["audit"]
assert a["ok"] and a["mismatches"] == 0 and a["callerids"] == 50, a
assert a["credit_fell_by"] == a["charged"] and float(a["charged"]) > 0, a
PY
grep -q "^audit: exact" "$dir/bench.txt" || fail "the table does not show the audit"

# The audit catches credit that moved otherwise than by the run's Settles: a recharge of one
# of its CallerIDs while the calls go on (once ledger-bench has read the credit before them).
timeout 60 "$bench" --server="127.0.0.1:$port" --callerids=50 --extensions=5 --in_flight=4 \
  --seconds=3 --json="$dir/recharged.json" >"$dir/recharged.txt" 2>&1 &
bench_pid=$!
for _ in $(seq 1 200); do
  grep -q "audit: credit read before the calls" "$dir/recharged.txt" && break
  sleep 0.05
done
grep -q "audit: credit read before the calls" "$dir/recharged.txt" ||
  fail "ledger-bench did not read the credit before the calls: $(cat "$dir/recharged.txt")"
"$ledgerctl" --server="127.0.0.1:$port" add-credit -e '0003*002' -n '+407000000007' \
  --amount=1.25 >/dev/null || fail "ledgerctl add-credit failed"
if wait "$bench_pid"; then
  fail "ledger-bench passed its audit although a CallerID was recharged during the calls"
fi
grep -q "the audit failed: 1 CallerIDs do not add up; first: +407000000007 in 0003\*002" \
  "$dir/recharged.txt" || fail "the audit does not name the recharged CallerID: $(cat "$dir/recharged.txt")"
python3 -c 'import json, sys; a = json.load(open(sys.argv[1]))["audit"]
assert not a["ok"] and a["mismatches"] == 1, a' "$dir/recharged.json" ||
  fail "the JSON does not report the failed audit"

# A second run skips the CallerIDs already there. With --server_metrics it reports what the
# server's committer did for its 20 calls: a Reserve and a Settle or Release each, plus an
# Extend for some, so 40 to 60 commands. Cut into intervals (--interval_seconds), those hold
# every call and RPC of the run between them, and ledgerd's figures and the machine's speed
# for each.
timeout 60 "$bench" --server="127.0.0.1:$port" --callerids=50 --extensions=5 --in_flight=4 \
  --calls=20 --seconds=2 --server_metrics="127.0.0.1:$metrics_port" --interval_seconds=0.1 \
  --json="$dir/bench2.json" >"$dir/bench2.txt" 2>&1 ||
  { cat "$dir/bench2.txt" >&2; fail "the second ledger-bench run exited with an error"; }
if ! python3 - "$dir/bench2.json" <<'PY'; then
import json, sys
r = json.load(open(sys.argv[1]))
assert r["preload"]["existing"] == 50, r["preload"]
assert r["calls"]["settled"] + r["calls"]["released"] == 20, r["calls"]
c = r["server_commit"]
commands = c["groups"] * c["mean_group_size"]
assert 40 <= round(commands) <= 60, c
assert 1 <= c["synced_groups"] <= c["groups"] and c["mean_sync_us"] > 0, c
assert r["client_cpu_us_per_rpc"]["ledger"] > 0, r["client_cpu_us_per_rpc"]
s = r["server_cpu_us_per_rpc"]
assert s["ledger"] >= s["ledger_commit"] >= 0 and s["floor"] >= 0, s
intervals = r["intervals"]
assert r["interval_seconds"] == 0.1 and len(intervals) >= 1, r
assert sum(i["calls"] for i in intervals) == 20, intervals
assert sum(i["latency_us"]["count"] for i in intervals) == r["rpcs"], intervals
for i in intervals:
    assert i["seconds"] <= 0.2 and "server_commit" in i, i
    assert i["server_resident_bytes"] > 0, i
    assert i["host"]["compute_ns_per_kib"] > 0 and i["host"]["memory_ns_per_load"] > 0, i
PY
  fail "the second run did not skip the CallerIDs, did not run exactly 20 calls, or did not report the server's commits, CPU and intervals (with the machine's speed)"
fi

# --unknown_ratio: about half the calls come from numbers the ledger does not know. Authorize
# denies each of them and the call goes no further; the others run as before, and the books
# still add up.
timeout 60 "$bench" --server="127.0.0.1:$port" --callerids=50 --extensions=5 --in_flight=4 \
  --calls=40 --seconds=5 --unknown_ratio=0.5 --json="$dir/unknown.json" >"$dir/unknown.txt" 2>&1 ||
  { cat "$dir/unknown.txt" >&2; fail "the --unknown_ratio run exited with an error"; }
if ! python3 - "$dir/unknown.json" <<'PY'; then
import json, sys
r = json.load(open(sys.argv[1]))
c, lat = r["calls"], r["latency_us"]
assert r["unknown_ratio"] == 0.5, r["unknown_ratio"]
assert 0 < c["unknown"] < 40 and c["denied"] == c["unknown"], c
assert c["settled"] + c["released"] + c["denied"] == 40, c
assert lat["Authorize"]["count"] == 40, lat["Authorize"]
assert lat["Reserve"]["count"] == 40 - c["unknown"], lat["Reserve"]
assert r["audit"]["ok"] and r["audit"]["callerids"] == 50, r["audit"]
PY
  fail "the unknown callers were not denied alone, or went further: $(cat "$dir/unknown.txt")"
fi
grep -q "denied ([0-9]* from unknown numbers)" "$dir/unknown.txt" ||
  fail "the table does not count the unknown callers: $(cat "$dir/unknown.txt")"

# --leave_open: 10 reservations left open, one on each of the first 10 CallerIDs, on top of
# calls that all end.
timeout 60 "$bench" --server="127.0.0.1:$port" --callerids=50 --extensions=5 --in_flight=4 \
  --calls=10 --seconds=2 --leave_open=10 --json="$dir/bench3.json" >"$dir/bench3.txt" 2>&1 ||
  { cat "$dir/bench3.txt" >&2; fail "the --leave_open run exited with an error"; }
python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
assert r["left_open"]["reservations"] == 10, r["left_open"]' "$dir/bench3.json" ||
  fail "the JSON does not report 10 reservations left open"
"$ledgerctl" --server="127.0.0.1:$port" -o json get -e '0003*000' -n '+407000000000' \
  >"$dir/caller0.json" || fail "ledgerctl get failed"
python3 -c 'import json, sys; c = json.load(open(sys.argv[1]))
assert c["open_reservations"] == 1, c' "$dir/caller0.json" ||
  fail "CallerID 0 does not hold exactly the one reservation left open: $(cat "$dir/caller0.json")"

# cost_reports NAME: the cost reports of the five extensions, as JSON in $dir/NAME0.json to
# NAME4.json.
cost_reports() {
  for e in 0 1 2 3 4; do
    "$ledgerctl" --server="127.0.0.1:$port" -o json cost-report -e "0003*00$e" \
      >"$dir/$1$e.json" || fail "ledgerctl cost-report -e 0003*00$e failed"
  done
}

# --nodes: three PBX nodes, each on a connection of its own with a node_id of its own. The
# ledger records the node on every call it settles: the cost reports of the five extensions
# hold the run's 30 calls, each of the three nodes among them.
timeout 60 "$bench" --server="127.0.0.1:$port" --callerids=50 --extensions=5 --nodes=3 \
  --in_flight=6 --calls=30 --no_answer_ratio=0 --seconds=5 --json="$dir/bench4.json" \
  >"$dir/bench4.txt" 2>&1 || { cat "$dir/bench4.txt" >&2; fail "the --nodes=3 run exited with an error"; }
grep -q "3 nodes" "$dir/bench4.txt" || fail "the table does not name the 3 nodes: $(head -n 1 "$dir/bench4.txt")"
cost_reports report
if ! python3 - "$dir/bench4.json" "$dir"/report?.json <<'PY'; then
import collections, json, sys
r = json.load(open(sys.argv[1]))
assert r["nodes"] == 3, r["nodes"]
assert r["calls"]["settled"] == 30, r["calls"]
nodes = collections.Counter()
for path in sys.argv[2:]:
    for call in json.load(open(path))["calls"]:
        nodes[call["node_id"]] += 1
numbered = {k: v for k, v in nodes.items() if k.startswith("ledger-bench-")}
assert set(numbered) == {"ledger-bench-1", "ledger-bench-2", "ledger-bench-3"}, nodes
assert sum(numbered.values()) == 30, nodes
PY
  fail "the cost reports do not show the 30 calls of the three nodes"
fi

# --started_over_days: each Settle says its call started in the last 30 days, so the cost
# report of the five extensions holds the run's 20 calls spread over the month, totals and all.
timeout 60 "$bench" --server="127.0.0.1:$port" --callerids=50 --extensions=5 --in_flight=4 \
  --calls=20 --no_answer_ratio=0 --seconds=5 --started_over_days=30 \
  --json="$dir/bench6.json" >"$dir/bench6.txt" 2>&1 ||
  { cat "$dir/bench6.txt" >&2; fail "the --started_over_days run exited with an error"; }
cost_reports history
if ! python3 - "$dir/bench6.json" "$dir"/history?.json <<'PY'; then
import datetime, json, sys
r = json.load(open(sys.argv[1]))
assert r["started_over_days"] == 30, r["started_over_days"]
assert r["calls"]["settled"] == 20, r["calls"]
now = datetime.datetime.now(datetime.timezone.utc)
ages = []
for path in sys.argv[2:]:
    report = json.load(open(path))
    assert int(report["total_calls"]) == len(report["calls"]), report["total_calls"]
    for call in report["calls"]:
        started = datetime.datetime.fromisoformat(call["started_at"].replace("Z", "+00:00"))
        ages.append((now - started).total_seconds() / 86400)
older = [a for a in ages if a > 1]
assert len(older) >= 15 and max(older) <= 30.01, sorted(ages)
PY
  fail "the cost reports do not show the run's calls spread over 30 days"
fi

# More nodes than calls in flight would leave some idle: refused before connecting.
if timeout 10 "$bench" --server="127.0.0.1:$port" --nodes=4 --in_flight=2 --seconds=1 \
  >"$dir/bench5.txt" 2>&1; then
  fail "ledger-bench accepted more nodes than calls in flight"
fi
grep -q -- "--nodes (4) is more than --in_flight (2)" "$dir/bench5.txt" ||
  fail "the refusal does not say why: $(cat "$dir/bench5.txt")"

echo "ledger-bench smoke test: OK"
