#!/usr/bin/env bash
# Installs, builds and runs every test (unit tests, end-to-end tests against the real
# server, and the README walkthrough through buf curl).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
bash scripts/install-tools.sh
cd build
ctest --output-on-failure --timeout 600 -j2
