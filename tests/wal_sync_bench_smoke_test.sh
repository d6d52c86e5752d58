#!/usr/bin/env bash
# Smoke test of wal-sync-bench: one short round of each mode in a fresh directory; checks
# that it succeeds, alternates the modes, writes JSON with positive times, and leaves no
# database behind; that --pause_us sleeps before each write and says so in the JSON. Also
# checks that it refuses a run without --dir, and a negative pause.
# Usage: wal_sync_bench_smoke_test.sh WAL_SYNC_BENCH
set -euo pipefail
bench="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$bench" --dir "$dir/disk" --rounds 1 --writes 20 --value_bytes 100 --json "$dir/out.json" \
  >"$dir/out.txt"
grep -q "median zero_ahead" "$dir/out.txt" || { echo "FAIL: no median line" >&2; exit 1; }
python3 - "$dir/out.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
modes = [r["zero_ahead"] for r in d["rounds"]]
assert modes == [True, False], modes
for r in d["rounds"]:
    assert 0 < r["p50_us"] <= r["p90_us"] <= r["p99_us"], r
for mode in ("zero_ahead", "plain"):
    assert d["median"][mode]["p50_us"] > 0, d["median"]
assert d["writes_per_round"] == 20 and d["value_bytes"] == 100, d
assert d["pause_us"] == 0, d
PY
# 2 rounds of 20 writes, each after 5 ms asleep: at least 0.2 s in all.
started=$(date +%s%N)
"$bench" --dir "$dir/disk" --rounds 1 --writes 20 --value_bytes 100 --pause_us 5000 \
  --json "$dir/paused.json" >/dev/null
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
[ "$elapsed_ms" -ge 200 ] || { echo "FAIL: --pause_us 5000 took only ${elapsed_ms} ms" >&2; exit 1; }
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["pause_us"] == 5000' \
  "$dir/paused.json"
if "$bench" --dir "$dir/disk" --pause_us -1 >/dev/null 2>&1; then
  echo "FAIL: took a negative --pause_us" >&2
  exit 1
fi
[ -z "$(ls -A "$dir/disk")" ] || { echo "FAIL: a database was left behind" >&2; exit 1; }
if "$bench" --rounds 1 >/dev/null 2>&1; then
  echo "FAIL: ran without --dir" >&2
  exit 1
fi
echo "wal-sync-bench smoke: ok"
