#!/usr/bin/env bash
# Installs the outside clients the tests use to call the server as an operator would:
# `buf curl` (through server reflection, with JSON). Idempotent.
set -euo pipefail
if command -v buf >/dev/null 2>&1 && buf curl --help >/dev/null 2>&1; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
  else
    echo "install-tools: npm is missing (run as root to install it)" >&2
    exit 1
  fi
fi
npm install -g --no-fund --no-audit @bufbuild/buf@1
