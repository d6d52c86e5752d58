#!/usr/bin/env bash
# Installs the Debian 12 packages Callback Ledger needs to build, run and test (clang and
# its sanitizer and libFuzzer runtimes for the sanitizer trees and the fuzzers).
# Idempotent: packages already present are skipped, and apt-get update runs only when
# something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libabsl-dev libsodium-dev libcli11-dev libxlsxwriter-dev prometheus-cpp-dev
  libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-openpyxl openssl
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
