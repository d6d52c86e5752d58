#!/usr/bin/env bash
# Installs, builds and runs every test (unit tests, end-to-end tests against the real
# server, and the README walkthrough through buf curl), then the unit tests again under
# ASan+UBSan and a short run of every fuzzer (scripts/test-sanitizers.sh; set
# LEDGER_SKIP_SANITIZERS=1 to leave those out locally; CI runs them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
bash scripts/install-tools.sh
cd build
ctest --output-on-failure --timeout 600 -j2
cd ..
if [ "${LEDGER_SKIP_SANITIZERS:-0}" != 1 ]; then
  bash scripts/test-sanitizers.sh
fi
