#!/usr/bin/env bash
# Installs, builds and starts ledgerd on an embedded RocksDB data directory (./data) at
# 127.0.0.1:50051. Extra arguments go to ledgerd (see `build/server/ledgerd --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec build/server/ledgerd "$@"
