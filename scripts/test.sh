#!/usr/bin/env bash
# Installs, builds and runs every test (unit tests, end-to-end tests against the real
# server, and the README walkthrough through buf curl), clang's thread-safety analysis over the
# sources (scripts/check-thread-safety.sh), then the unit tests again under
# ASan+UBSan and a short run of every fuzzer (scripts/test-sanitizers.sh; set
# LEDGER_SKIP_SANITIZERS=1 to leave those out locally; CI runs them). Each phase prints how
# long it took; docs/reliability.md lists the figures of a run from a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
bash scripts/build.sh
bash scripts/install-tools.sh
echo "test: build/ built in $((SECONDS - start)) s"
start=$SECONDS
ctest --test-dir build --output-on-failure --timeout 600 -j2
echo "test: build/ tests took $((SECONDS - start)) s"
bash scripts/check-thread-safety.sh build
if [ "${LEDGER_SKIP_SANITIZERS:-0}" != 1 ]; then
  bash scripts/test-sanitizers.sh
fi
