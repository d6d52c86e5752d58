#!/usr/bin/env bash
# Clang's thread-safety analysis (-Wthread-safety) over every source file of the project
# but the tests, with the flags the main tree (g++) compiles it with: each member a lock
# guards is annotated (ABSL_GUARDED_BY, ABSL_EXCLUSIVE_LOCKS_REQUIRED), and this fails when
# one is read or written without its lock held, or a function that needs a lock is called
# without it. The clang trees of scripts/test-sanitizers.sh compile the libraries and their
# tests with the same warning; this covers the server too, which only the main tree builds.
#
#   scripts/check-thread-safety.sh [BUILD_DIR]   (default: build; needs its
#                                                 compile_commands.json)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
if [ ! -f "$build/compile_commands.json" ]; then
  echo "check-thread-safety: $build/compile_commands.json is missing: configure $build first" >&2
  exit 2
fi
start=$SECONDS
python3 - "$build" "$(nproc)" <<'PY'
import concurrent.futures, json, os, shlex, subprocess, sys

build, jobs = sys.argv[1], int(sys.argv[2])
root = os.getcwd()
units = []
for entry in json.load(open(os.path.join(build, "compile_commands.json"))):
    source = os.path.relpath(entry["file"], root)
    # Generated code, the tests (the clang trees check those in ledger/, projections/ and
    # clients/) and the fuzzers (built by clang itself) are left out.
    if source.startswith(("..", build + os.sep, "tests" + os.sep, "fuzz" + os.sep)):
        continue
    if source.endswith("_test.cc"):
        continue
    args = shlex.split(entry["command"])
    command = ["clang++"]
    skip = False
    for arg in args[1:]:
        if skip:
            skip = False
        elif arg == "-o":
            skip = True
        elif arg != "-c":
            command.append(arg)
    command += ["-fsyntax-only", "-Wthread-safety", "-Werror"]
    units.append((source, entry["directory"], command))

def check(unit):
    source, directory, command = unit
    done = subprocess.run(command, cwd=directory, capture_output=True, text=True)
    return source, done.returncode, done.stderr

failed = []
with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
    for source, code, stderr in pool.map(check, units):
        if code != 0:
            failed.append(source)
            sys.stderr.write(stderr)
if failed:
    sys.exit(f"check-thread-safety: {len(failed)} of {len(units)} files fail: {' '.join(failed)}")
print(f"check-thread-safety: {len(units)} files, no finding")
PY
echo "check-thread-safety: took $((SECONDS - start)) s"
