#!/usr/bin/env bash
# The PostgreSQL peer of ledger-bench: the same reserve/settle work per simulated call
# against a PostgreSQL started for the run, on loopback, in a temporary directory, with every
# commit synced (fsync=on, synchronous_commit=on).
#
#   bench/postgres-ledger.sh [--clients N] [--seconds S] [--callerids C] [--json FILE]
#                            [--style functions|statements]
#
# --style functions (the default): Reserve and Settle are server-side functions
# (bench/postgres/functions.sql), called with prepared statements
# (bench/postgres/call-functions.sql): three round trips a call, two of them synced
# transactions. --style statements: the same rows written by one statement at a time, each
# its own round trip, sent as text (bench/postgres/call.sql): thirteen round trips a call,
# the peer of the figures before 2026-12-05.
#
# Installs PostgreSQL from Debian packages when it is missing (as root; idempotent),
# runs the server as an unprivileged user when started as root, removes the directory
# and stops the server on exit. Prints pgbench's report; the calls/s is pgbench's "tps"
# (one transaction of pgbench = one call: Authorize + Reserve + Settle).
set -euo pipefail

clients=16
seconds=10
callerids=10000
json=""
style=functions
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) clients="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --callerids) callerids="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    --style) style="$2"; shift 2 ;;
    *) echo "postgres-ledger: unknown argument $1" >&2; exit 2 ;;
  esac
done
for value in "$clients" "$seconds" "$callerids"; do
  if ! [[ "$value" =~ ^[0-9]+$ ]] || [ "$value" -lt 1 ]; then
    echo "postgres-ledger: --clients, --seconds and --callerids take positive integers" >&2
    exit 2
  fi
done
case "$style" in
  functions) script=call-functions.sql; mode=(-M prepared) ;;
  statements) script=call.sql; mode=() ;;
  *) echo "postgres-ledger: --style is functions or statements" >&2; exit 2 ;;
esac
if [ "$seconds" -gt 600 ]; then
  echo "postgres-ledger: --seconds is at most 600" >&2
  exit 2
fi

here="$(cd "$(dirname "$0")" && pwd)"

# PostgreSQL from Debian (pgbench ships in the server package).
if ! dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q "install ok installed"; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "postgres-ledger: the postgresql package is missing (run as root to install it)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql
fi
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

# PostgreSQL refuses to run as root: run it as nobody then.
run_as=()
if [ "$(id -u)" -eq 0 ]; then run_as=(runuser -u nobody --); fi

dir="$(mktemp -d /tmp/postgres-ledger.XXXXXX)"
chmod 755 "$dir"
[ "$(id -u)" -eq 0 ] && chown nobody "$dir"
port=$((20000 + RANDOM % 20000))
cleanup() {
  "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"${run_as[@]}" "$bin/initdb" -D "$dir/data" -U bench --auth=trust >/dev/null
"${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
  "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
   -c fsync=on -c synchronous_commit=on -c max_connections=300 -c shared_buffers=256MB" \
  >/dev/null

psql=("$bin/psql" -h 127.0.0.1 -p "$port" -U bench -d postgres -v ON_ERROR_STOP=1 -q)
"${psql[@]}" -v callerids="$callerids" -f "$here/postgres/schema.sql" >/dev/null
"${psql[@]}" -f "$here/postgres/functions.sql" >/dev/null

echo "postgres-ledger: $callerids CallerIDs, $clients clients, $seconds s, style $style, $(uptime)"
out="$("$bin/pgbench" -h 127.0.0.1 -p "$port" -U bench -n -c "$clients" -j 2 -T "$seconds" \
  -D callerids="$callerids" -r "${mode[@]}" -f "$here/postgres/$script" postgres 2>&1)" || {
  echo "$out" >&2
  exit 1
}
echo "$out"

calls_per_second="$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")"
latency_ms="$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")"
failed="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")"
settled="$("${psql[@]}" -At -c "SELECT count(*) FROM calls")"
if [ -z "$calls_per_second" ] || [ "${failed:-0}" != 0 ] || [ "$settled" -lt 1 ]; then
  echo "postgres-ledger: the run did not complete (failed: ${failed:-?}, settled: $settled)" >&2
  exit 1
fi
# The books, as ledger-bench --audit checks the ledger's: each CallerID's credit fell by
# exactly what its settled calls cost (schema.sql gives each 100,000.00), its holds are its
# open reservations', and every settled call has its event.
wrong="$("${psql[@]}" -At -c "
  SELECT count(*) FROM callerids c
    LEFT JOIN (SELECT callerid_id, sum(cost_micros) AS charged FROM calls GROUP BY 1) k
      ON k.callerid_id = c.id
    LEFT JOIN (SELECT callerid_id, sum(held_micros) AS held FROM reservations
               WHERE state = 'OPEN' GROUP BY 1) r ON r.callerid_id = c.id
    WHERE c.credit_left_micros <> 100000 * 1000000::bigint - coalesce(k.charged, 0)
       OR c.held_micros <> coalesce(r.held, 0)")"
settled_events="$("${psql[@]}" -At -c "SELECT count(*) FROM events WHERE kind = 'SETTLED'")"
if [ "$wrong" != 0 ] || [ "$settled_events" != "$settled" ]; then
  echo "postgres-ledger: the books do not add up ($wrong CallerIDs off, $settled_events" \
    "settlement events for $settled calls)" >&2
  exit 1
fi
echo "postgres-ledger: $calls_per_second calls/s ($settled settled, books exact), mean" \
  "$latency_ms ms a call, style $style"
if [ -n "$json" ]; then
  printf '{"clients": %s, "seconds": %s, "callerids": %s, "style": "%s", "calls_per_second": %s, "settled": %s, "latency_ms_mean": %s}\n' \
    "$clients" "$seconds" "$callerids" "$style" "$calls_per_second" "$settled" "$latency_ms" >"$json"
fi
