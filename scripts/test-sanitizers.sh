#!/usr/bin/env bash
# The sanitizer trees of the test suite (docs/reliability.md):
#   build-asan: clang with AddressSanitizer + UndefinedBehaviorSanitizer; the libraries'
#               unit tests, then each fuzzer for a few seconds over its seed corpus.
#   build-tsan: clang with ThreadSanitizer; only the tests that drive the committer from
#               several threads. The ledger locks through ledger/sync.h, which in this
#               tree is built on pthread locks that ThreadSanitizer sees (Debian's Abseil
#               is not built with it, so absl::Mutex is invisible to it).
# scripts/test.sh runs this after the main suite; LEDGER_SKIP_SANITIZERS=1 skips it there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

source scripts/ccache-launcher.sh
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
echo "sanitizers: ASan+UBSan tree built in $((SECONDS - start)) s"
ctest --test-dir build-asan --output-on-failure --timeout 900 -j2
echo "sanitizers: ASan+UBSan tree and fuzz runs took $((SECONDS - start)) s"

# ThreadSanitizer: the lock types' own tests, the committer's concurrency tests (the
# storage failure under load among them) and the event log's scan, read on a thread of its
# own. durability_test stays out (docs/reliability.md).
# A report fails its test: halt_on_error exits at once with TSan's exit code 66. Nothing
# is suppressed.
start=$SECONDS
configure build-tsan -DLEDGER_SANITIZE=thread
cmake --build build-tsan -j"$(nproc)" --target sync_test committer_test committer_pipeline_test \
  store_test
echo "sanitizers: TSan tree built in $((SECONDS - start)) s"
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" ctest --test-dir build-tsan \
  --output-on-failure --timeout 600 -j2 \
  -R '(SyncTest|CommitterTest|CommitterPipelineTest|CommitterLedByCallerTest|StoreTest.ScanEvents)'
echo "sanitizers: TSan tree took $((SECONDS - start)) s"
