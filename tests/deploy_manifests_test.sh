#!/usr/bin/env bash
# Checks the Kubernetes manifests offline: they parse, run exactly one writer with a
# volume, probe health, and every LEDGERD_* variable they set is a flag of ledgerd.
# ledgerd.yaml probes with kubelet's gRPC probes; ledgerd-tls.yaml runs mutual TLS, so it
# probes with `ledgerctl health` (exec), whose command line ledgerctl must accept, and its
# certificate and access files must be on mounted Secrets. Then the TLS manifest is run for
# real, on loopback: ledgerd with the manifest's environment, the Secrets' files made by
# scripts/make-test-certs.sh, and each probe's command must say SERVING.
# Usage: deploy_manifests_test.sh LEDGERD LEDGERCTL MANIFEST...
set -euo pipefail
ledgerd="$1"
ledgerctl="$2"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# run_tls_manifest ENV_FILE PROBES_FILE: the Secrets' files from test certificates, ledgerd
# started with the manifest's environment (on loopback ports and a fresh data directory),
# then every probe command, which must exit 0 once ledgerd serves.
run_tls_manifest() {
  bash "$here/../scripts/make-test-certs.sh" "$work/certs" >/dev/null
  : >"$work/access"  # the probe needs no role: Health answers anyone
  local port metrics_port
  port=$(free_port)
  metrics_port=$(free_port)
  # The Secrets' file names in the pod, and the test files standing in for them.
  local map="s#/etc/callback-ledger/tls/tls.crt#$work/certs/server.pem#g
s#/etc/callback-ledger/tls/tls.key#$work/certs/server.key#g
s#/etc/callback-ledger/tls/ca.crt#$work/certs/ca.pem#g
s#/etc/callback-ledger/tls/probe.crt#$work/certs/probe.pem#g
s#/etc/callback-ledger/tls/probe.key#$work/certs/probe.key#g
s#/etc/callback-ledger/access/access#$work/access#g
s#127.0.0.1:50051#127.0.0.1:$port#g"
  (
    while IFS='=' read -r name value; do
      export "$name=$(sed "$map" <<<"$value")"
    done < <(sed "$map" "$1")
    exec "$ledgerd" --listen="127.0.0.1:$port" --metrics_listen="127.0.0.1:$metrics_port" \
      --data_dir="$work/data"
  ) 2>"$work/ledgerd.log" &
  pid=$!
  while read -r probe; do
    [ -n "$probe" ] || continue
    probe=$(sed "$map" <<<"$probe")
    local ok=""
    for _ in $(seq 100); do
      # shellcheck disable=SC2086
      if "$ledgerctl" $probe >"$work/probe.out" 2>&1; then ok=1; break; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    [ -n "$ok" ] || {
      echo "FAIL: the probe \"ledgerctl $probe\" never said SERVING: $(cat "$work/probe.out")" >&2
      tail -n 20 "$work/ledgerd.log" >&2
      exit 1
    }
  done <"$2"
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
}
flags=$( ("$ledgerd" --helpfull 2>&1 || true) | sed -n 's/^ *--\([a-z_]*\).*/\1/p' | sort -u)
for manifest in "$@"; do
  probes=$(/usr/bin/python3 - "$manifest" "$flags" <<'PY'
import sys, yaml
path, flags = sys.argv[1], set(sys.argv[2].split())
docs = [d for d in yaml.safe_load_all(open(path)) if d]
kinds = {d["kind"]: d for d in docs}
assert set(kinds) == {"Service", "StatefulSet"}, kinds.keys()
sts = kinds["StatefulSet"]
assert sts["spec"]["replicas"] == 1, "one committer owns the log: replicas must be 1"
pod = sts["spec"]["template"]["spec"]
(container,) = pod["containers"]
mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
env = {e["name"]: e["value"] for e in container["env"]}
assert mounts["data"] == env["LEDGERD_DATA_DIR"], "the data directory must be on the volume"
assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
for name in env:
    assert name.startswith("LEDGERD_"), name
    flag = name[len("LEDGERD_"):].lower()
    assert flag in flags, f"{name}: ledgerd has no --{flag}"
ports = {p["name"] for p in kinds["Service"]["spec"]["ports"]}
assert ports == {"grpc", "metrics"}, ports
tls = "LEDGERD_TLS_CERT" in env
secrets = {v["name"]: v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
def on_a_secret(file):
    return any(file.startswith(mounts[name] + "/") for name in secrets)
if tls:
    assert "LEDGERD_INSECURE" not in env, "TLS and LEDGERD_INSECURE together"
    for name in ("LEDGERD_TLS_CERT", "LEDGERD_TLS_KEY", "LEDGERD_TLS_CLIENT_CA",
                 "LEDGERD_ACCESS_FILE"):
        assert on_a_secret(env[name]), f"{name} is not on a mounted Secret"
# A start may rebuild the projections from the log; a restart would begin it again.
startup = container["startupProbe"]
assert startup["periodSeconds"] * startup["failureThreshold"] >= 3600, \
    "the startup probe must allow an hour for a rebuild"
for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
    spec = container[probe]
    if not tls:
        assert spec["grpc"]["port"] == 50051, probe
        continue
    command = spec["exec"]["command"]
    assert command[0] == "ledgerctl" and "health" in command, (probe, command)
    assert "--server=127.0.0.1:50051" in command, (probe, command)
    for arg in command:
        if arg.startswith(("--tls_ca=", "--tls_cert=", "--tls_key=")):
            assert on_a_secret(arg.split("=", 1)[1]), f"{probe}: {arg} is not on a Secret"
    assert spec["timeoutSeconds"] >= 4, f"{probe}: ledgerctl's --timeout=3 needs time"
    print("probe " + " ".join(command[1:]))
if tls:
    for name, value in env.items():
        print(f"env {name}={value}")
PY
) || { echo "FAIL: $manifest" >&2; exit 1; }
  if [ -n "$probes" ]; then
    sed -n 's/^env //p' <<<"$probes" >"$work/env"
    sed -n 's/^probe //p' <<<"$probes" >"$work/probes"
    run_tls_manifest "$work/env" "$work/probes"
    rm -rf "$work/certs" "$work/data"
  fi
  echo "$(basename "$manifest"): OK"
done
echo "deploy manifests: OK"
