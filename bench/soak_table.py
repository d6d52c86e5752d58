#!/usr/bin/env python3
"""Prints the markdown of bench/soak.sh from ledger-bench's JSON and RocksDB's account.

usage: soak_table.py SOAK_JSON ROCKSDB_TXT [--span_seconds=N]

First the whole run, then the first and the last fifth of the run side by side (medians of
their intervals), which shows a drift, if any, at a glance; for a run of two spans or more
(N seconds, 300 unless given: five minutes), the medians span by span, with the resident
memory at each span's end; then one row per interval. The machine's own speed (ledger-bench's host probe, clients/bench/host_probe.h) sits beside
ledgerd's CPU per RPC: when both rise together the machine slowed, not the ledger.
"""
import json
import statistics
import sys


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def host(i, name):
    return (i.get("host") or {}).get(name)


def mib(i, name):
    value = i.get(name)
    return None if value is None else value / 2**20


def row(i):
    commit = i.get("server_commit") or {}
    return "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        fmt(i["start_seconds"], ".0f"), fmt(i["seconds"], ".1f"),
        fmt(i["calls_per_second"], ",.0f"), fmt(i["rpcs_per_second"], ",.0f"),
        fmt(i["latency_us"]["p50"], ","), fmt(i["latency_us"]["p99"], ","),
        fmt(i["latency_us"]["max"], ","), fmt(i.get("server_cpu_us_per_rpc"), ".1f"),
        fmt(i.get("server_commit_cpu_us_per_rpc"), ".1f"),
        fmt(i.get("server_rocksdb_cpu_us_per_rpc"), ".1f"),
        fmt(commit.get("mean_sync_us"), ",.0f"), fmt(mib(i, "server_resident_bytes"), ",.0f"),
        fmt(mib(i, "server_rocksdb_memory_bytes"), ",.0f"),
        fmt(host(i, "compute_ns_per_kib"), ",.0f"), fmt(host(i, "memory_ns_per_load"), ".1f"))


def median(intervals, get):
    values = [get(i) for i in intervals if get(i) is not None]
    return statistics.median(values) if values else None


# What the fifths and the spans show, by the medians of their intervals.
MEDIANS = [
    ("calls/s", lambda i: i["calls_per_second"], ",.0f"),
    ("p50 µs", lambda i: i["latency_us"]["p50"], ",.0f"),
    ("p99 µs", lambda i: i["latency_us"]["p99"], ",.0f"),
    ("ledgerd CPU µs per ledger RPC", lambda i: i.get("server_cpu_us_per_rpc"), ".1f"),
    ("of which the committer's",
     lambda i: i.get("server_commit_cpu_us_per_rpc"), ".1f"),
    ("of which RocksDB's flushes and compactions",
     lambda i: i.get("server_rocksdb_cpu_us_per_rpc"), ".1f"),
    ("write+sync of a group, µs",
     lambda i: (i.get("server_commit") or {}).get("mean_sync_us"), ",.0f"),
    ("commands a group",
     lambda i: (i.get("server_commit") or {}).get("mean_group_size"), ".1f"),
    ("resident MiB at the end",
     lambda i: mib(i, "server_resident_bytes"), ",.0f"),
    ("of which RocksDB's (memtables, table readers, block cache)",
     lambda i: mib(i, "server_rocksdb_memory_bytes"), ",.0f"),
    ("the machine: ns to hash a KiB in cache",
     lambda i: host(i, "compute_ns_per_kib"), ",.0f"),
    ("the machine: ns a load from memory",
     lambda i: host(i, "memory_ns_per_load"), ".1f"),
]
# The spans' medians before their resident memory (which is each span's last figure).
SPAN_MEDIANS = ("calls/s", "p99 µs", "ledgerd CPU µs per ledger RPC", "of which the committer's",
                "of which RocksDB's flushes and compactions", "write+sync of a group, µs")


def print_spans(whole, span_seconds):
    """The medians of the whole intervals span by span, when there are two spans or more."""
    spans = {}
    for i in whole:
        spans.setdefault(int(i["start_seconds"] // span_seconds), []).append(i)
    if len(spans) < 2:
        return
    in_minutes = span_seconds % 60 == 0
    unit = 60 if in_minutes else 1
    print("| %s | calls/s | p99 µs | ledgerd CPU µs/RPC | committer | RocksDB's threads "
          "| write+sync µs | resident MiB at the end | of which RocksDB's | host ns/KiB "
          "| host ns/load |" % ("minutes" if in_minutes else "seconds"))
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sorted(spans):
        span = spans[n]
        cells = ["%g–%g" % (n * span_seconds / unit, (n + 1) * span_seconds / unit)]
        for name, get, spec in MEDIANS:
            if name in SPAN_MEDIANS:
                cells.append(fmt(median(span, get), spec))
        cells.append(fmt(mib(span[-1], "server_resident_bytes"), ",.0f"))
        cells.append(fmt(mib(span[-1], "server_rocksdb_memory_bytes"), ",.0f"))
        for name, get, spec in MEDIANS:
            if name.startswith("the machine"):
                cells.append(fmt(median(span, get), spec))
        print("| %s |" % " | ".join(cells))
    print()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    span_seconds = 300
    for a in sys.argv[1:]:
        if a.startswith("--span_seconds="):
            value = a.split("=", 1)[1]
            if not value.isdigit() or int(value) < 1:
                sys.exit("soak_table.py: --span_seconds takes a positive integer, not " + value)
            span_seconds = int(value)
        elif a.startswith("--"):
            sys.exit("soak_table.py: unknown argument " + a)
    if len(args) != 2:
        sys.exit("usage: soak_table.py SOAK_JSON ROCKSDB_TXT [--span_seconds=N]")
    with open(args[0]) as f:
        r = json.load(f)
    with open(args[1]) as f:
        rocksdb = f.read().strip()
    # The last interval ends with the phase: shorter, and holding the drain. Left out of the
    # fifths, kept in the table.
    intervals = r.get("intervals", [])
    whole = [i for i in intervals if i["seconds"] >= 0.9 * r.get("interval_seconds", 0)]
    print("## Soak: %d CallerIDs, %d in flight, %.0f s, intervals of %g s\n" % (
        r["callerids"], r["in_flight"], r["duration_seconds"], r.get("interval_seconds", 0)))
    print("Whole run: %s calls/s, %s RPCs/s, ratio %.3f; audit %s.\n" % (
        format(r["calls_per_second"], ",.0f"), format(r["rpcs_per_second"], ",.0f"), r["ratio"],
        "exact" if r.get("audit", {}).get("ok") else "NOT exact or not done"))
    if len(whole) >= 5:
        fifth = max(1, len(whole) // 5)
        first, last = whole[:fifth], whole[-fifth:]
        print("| medians of the intervals | first fifth | last fifth |")
        print("|---|---|---|")
        for name, get, spec in MEDIANS:
            print("| %s | %s | %s |" % (name, fmt(median(first, get), spec),
                                        fmt(median(last, get), spec)))
        print()
    print_spans(whole, span_seconds)
    print("| start s | length s | calls/s | RPCs/s | p50 µs | p99 µs | max µs | ledgerd CPU µs/RPC "
          "| committer | RocksDB's threads | write+sync µs | resident MiB | RocksDB's MiB "
          "| host ns/KiB | host ns/load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for i in intervals:
        print(row(i))
    print("\nRocksDB:\n\n```\n%s\n```" % rocksdb)


if __name__ == "__main__":
    main()
