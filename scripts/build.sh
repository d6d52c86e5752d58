#!/usr/bin/env bash
# Installs what is missing, then configures and builds everything into ./build (through
# ccache when it is installed, so that a later build from a fresh clone reuses the objects).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build_type="${BUILD_TYPE:-RelWithDebInfo}"
source scripts/ccache-launcher.sh
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "${launcher[@]}"
fi
cmake --build build -j"$(nproc)"
