#!/usr/bin/env bash
# The sanitizer trees of the test suite (docs/reliability.md):
#   build-asan: clang with AddressSanitizer + UndefinedBehaviorSanitizer; the libraries'
#               unit tests, then each fuzzer for a few seconds over its seed corpus.
# There is no ThreadSanitizer tree: Debian's Abseil is not built with ThreadSanitizer, so
# it cannot see absl::Mutex and reports every guarded access as a race (docs/reliability.md).
# scripts/test.sh runs this after the main suite; LEDGER_SKIP_SANITIZERS=1 skips it there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
configure() {
  local dir="$1"
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" "$@"
  fi
}

# A finding fails the test that made it, with a stack; UBSan stops at the first one.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

start=$SECONDS
configure build-asan -DLEDGER_SANITIZE=address,undefined -DLEDGER_FUZZ=ON
cmake --build build-asan -j"$(nproc)" --target unit_tests fuzzers
ctest --test-dir build-asan --output-on-failure --timeout 900 -j2
echo "sanitizers: ASan+UBSan tree and fuzz runs took $((SECONDS - start)) s"

