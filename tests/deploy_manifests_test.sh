#!/usr/bin/env bash
# Checks the Kubernetes manifests offline: they parse, run exactly one writer with a
# volume, probe gRPC health, and every LEDGERD_* variable they set is a flag of ledgerd.
# Usage: deploy_manifests_test.sh LEDGERD MANIFEST
set -euo pipefail
ledgerd="$1"
manifest="$2"
flags=$( ("$ledgerd" --helpfull 2>&1 || true) | sed -n 's/^ *--\([a-z_]*\).*/\1/p' | sort -u)
/usr/bin/python3 - "$manifest" "$flags" <<'PY'
import sys, yaml
path, flags = sys.argv[1], set(sys.argv[2].split())
docs = [d for d in yaml.safe_load_all(open(path)) if d]
kinds = {d["kind"]: d for d in docs}
assert set(kinds) == {"Service", "StatefulSet"}, kinds.keys()
sts = kinds["StatefulSet"]
assert sts["spec"]["replicas"] == 1, "one committer owns the log: replicas must be 1"
pod = sts["spec"]["template"]["spec"]
(container,) = pod["containers"]
for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
    assert container[probe]["grpc"]["port"] == 50051, probe
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
print("deploy manifests: OK")
PY
