#!/usr/bin/env python3
"""Prints the markdown of bench/soak.sh --profile_committer: where the committer's time went,
one chunk of the run after another.

usage: profile_chunks.py SOAK_JSON CHUNK_DIR

CHUNK_DIR holds, for each chunk NN (perf record -t <ledger-commit> for one interval),
chunk-NN.txt: a first line "start SECONDS SAMPLES" (the chunk's start, from the start of
the calls phase, and how many samples perf took of the thread), then perf report's lines
("  12.34%  dso  [.] symbol", --no-children --sort dso,symbol). Each row puts beside the
chunk the committer's CPU per ledger RPC of the interval that began nearest its start, the
share of the kernel copying file pages to the thread (_copy_to_iter, copy_page_to_iter:
table-file blocks read from the page cache, which a block cache that keeps them never
needs) and the chunk's three largest symbols.
"""
import glob
import json
import os
import re
import sys

LINE = re.compile(r"\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*\S)")
FILE_COPY = ("_copy_to_iter", "copy_page_to_iter")


def read_chunk(path):
    with open(path) as f:
        first = f.readline().split()
        try:
            if len(first) != 3 or first[0] != "start":
                raise ValueError
            start, samples = float(first[1]), int(first[2])
        except ValueError:
            sys.exit("profile_chunks: %s: the first line is not \"start SECONDS SAMPLES\"" % path)
        symbols = []
        for line in f:
            m = LINE.match(line)
            if m:
                # perf pads the symbol and may add columns it has no figure for ("-      -",
                # its IPC columns): the symbol ends at the first run of two spaces.
                symbol = re.split(r"\s{2,}", m.group(3))[0]
                symbols.append((float(m.group(1)), m.group(2), symbol))
    return start, samples, symbols


def main():
    with open(sys.argv[1]) as f:
        intervals = json.load(f).get("intervals", [])
    paths = sorted(glob.glob(os.path.join(sys.argv[2], "chunk-*.txt")))
    print("## The committer, chunk by chunk\n")
    print("| chunk | start s | samples | committer µs per RPC | kernel copying file pages "
          "| largest symbols |")
    print("|---|---|---|---|---|---|")
    for path in paths:
        start, samples, symbols = read_chunk(path)
        name = os.path.basename(path)[len("chunk-"):-len(".txt")]
        nearest = min(intervals, key=lambda i: abs(i["start_seconds"] - start), default=None)
        commit = None if nearest is None else nearest.get("server_commit_cpu_us_per_rpc")
        copying = sum(p for p, _, symbol in symbols if symbol in FILE_COPY)
        largest = ", ".join("%s %.1f %%" % (symbol, p)
                            for p, _, symbol in sorted(symbols, reverse=True)[:3])
        print("| %s | %.0f | %s | %s | %.1f %% | %s |" % (
            name, start, format(samples, ","), "-" if commit is None else "%.1f" % commit,
            copying, largest.replace("|", "\\|") or "-"))


if __name__ == "__main__":
    main()
