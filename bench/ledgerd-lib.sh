# Shared by the benchmark scripts (bench/run-curves.sh, bench/side-by-side.sh): a ledgerd of
# the script's own, on a random loopback port, with its metrics on the next one. Source it
# after setting `ledgerd` (the binary) and `license` (its --license_max_active_callerids);
# stop_server belongs in the script's EXIT trap.

port=$((20000 + RANDOM % 20000))
metrics_port=$((port + 1))
pid=""

# require_built SCRIPT BINARY...: exits 1 naming the first binary that is not built.
require_built() {
  local script="$1"
  shift
  for binary in "$@"; do
    [ -x "$binary" ] || { echo "$script: $binary is not built" >&2; exit 1; }
  done
}

stop_server() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  fi
}

# start_server DATA_DIR LOG [FLAGS...]: starts ledgerd and waits (a minute at most) until
# it serves.
start_server() {
  local data="$1" log="$2"
  shift 2
  "$ledgerd" --listen="127.0.0.1:$port" --metrics_listen="127.0.0.1:$metrics_port" \
    --data_dir="$data" --license_max_active_callerids="$license" "$@" 2>"$log" &
  pid=$!
  for _ in $(seq 600); do
    grep -q ' serving:' "$log" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "ledgerd did not start; its log:" >&2
  cat "$log" >&2
  exit 1
}
