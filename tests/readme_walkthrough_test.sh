#!/usr/bin/env bash
# Runs the README's walkthrough, as written, against a real ledgerd on a free loopback
# port and a fresh data directory, and checks what a newcomer would see.
# Usage: readme_walkthrough_test.sh LEDGERD README
set -euo pipefail
ledgerd="$1"
readme="$2"

if ! command -v buf >/dev/null 2>&1; then
  echo "buf is not installed (scripts/install-tools.sh installs it)" >&2
  exit 1
fi

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$ledgerd" --listen="127.0.0.1:$port" --data_dir="$dir/data" 2>"$dir/ledgerd.log" &
pid=$!
cleanup() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  grep -q "serving:" "$dir/ledgerd.log" && break
  sleep 0.1
done

# The walkthrough: every line between the markers' code fences, with the port replaced.
sed -n '/<!-- walkthrough:begin -->/,/<!-- walkthrough:end -->/p' "$readme" |
  sed '/^```/d; /^<!--/d' | sed "s/127.0.0.1:50051/127.0.0.1:$port/" >"$dir/walkthrough.sh"
bash -euo pipefail "$dir/walkthrough.sh" >"$dir/out.txt"

fail() { echo "FAIL: $*" >&2; cat "$dir/out.txt" >&2; exit 1; }
grep -q '"status": "SERVING"' "$dir/out.txt" || fail "health is not SERVING"
grep -q '"creditLeft": "13.25"' "$dir/out.txt" || fail "credit left after the recharges is not 13.25"
grep -q '"amount": "-10.00"' "$dir/out.txt" || fail "the negative recharge on unlimited is not -10.00"
grep -q '"creditLeft": "0.00"' "$dir/out.txt" || fail "credit left after -10 on unlimited is not 0.00"
grep -q '"description": "initial credit"' "$dir/out.txt" || fail "no initial credit in the history"
grep -q '"activeCallerids": 2' "$dir/out.txt" || fail "license usage does not count 2 active"
# The PIN must appear nowhere, times left out: a time's microseconds may hold its digits.
if sed -E 's/"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"/"TIME"/g' "$dir/out.txt" | grep -q '4321'; then
  fail "the PIN appears in an answer"
fi

# The two refusals shown in the README.
L="buf curl --protocol grpc --http2-prior-knowledge"
S="http://127.0.0.1:$port"
out=$($L $S/callbackledger.v1.Credit/AddCredit -d '{"callerid_id": 1, "amount": "1e5"}' 2>&1 || true)
echo "$out" | grep -q 'invalid_argument' || fail "1e5 was not refused: $out"
out=$($L $S/callbackledger.v1.Credit/AddCredit -d '{"callerid_id": 1, "amount": "-1000"}' 2>&1 || true)
echo "$out" | grep -q 'failed_precondition' || fail "-1000 was not refused: $out"
echo "$out" | grep -q 'available credit is 13.25' || fail "the refusal does not say what is available: $out"
# The PBX call flow, run after the walkthrough as the README says.
sed -n '/<!-- calls:begin -->/,/<!-- calls:end -->/p' "$readme" |
  sed '/^```/d; /^<!--/d' | sed "s/127.0.0.1:50051/127.0.0.1:$port/" >"$dir/calls.sh"
bash -euo pipefail "$dir/calls.sh" >"$dir/calls.txt"
cat "$dir/calls.txt" >>"$dir/out.txt"
grep -q '"maxDurationSeconds": "1320"' "$dir/calls.txt" || fail "Authorize: 13.25 at 0.60/min + 0.05 is 1320 s"
grep -q '"grantedAmount": "3.05"' "$dir/calls.txt" || fail "Reserve: 300 s cost 3.05"
grep -q '"heldAmount": "4.25"' "$dir/calls.txt" || fail "Extend: the hold is 4.25"
grep -q '"cost": "4.25"' "$dir/calls.txt" || fail "Settle: 370 s billed as 7 min cost 4.25"
grep -q '"creditLeft": "9.00"' "$dir/calls.txt" || fail "Settle: 9.00 left"
grep -q '"totalCost": "4.25"' "$dir/calls.txt" || fail "the cost report total is 4.25"

echo "README walkthrough: OK"
