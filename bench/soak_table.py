#!/usr/bin/env python3
"""Prints the markdown of bench/soak.sh from ledger-bench's JSON and RocksDB's account.

usage: soak_table.py SOAK_JSON ROCKSDB_TXT

First the whole run, then the first and the last fifth of the run side by side (medians of
their intervals), which shows a drift, if any, at a glance, then one row per interval. The
machine's own speed (ledger-bench's host probe, clients/bench/host_probe.h) sits beside
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


def main():
    with open(sys.argv[1]) as f:
        r = json.load(f)
    with open(sys.argv[2]) as f:
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
        for name, get, spec in [
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
        ]:
            print("| %s | %s | %s |" % (name, fmt(median(first, get), spec),
                                        fmt(median(last, get), spec)))
        print()
    print("| start s | length s | calls/s | RPCs/s | p50 µs | p99 µs | max µs | ledgerd CPU µs/RPC "
          "| committer | RocksDB's threads | write+sync µs | resident MiB | RocksDB's MiB "
          "| host ns/KiB | host ns/load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for i in intervals:
        print(row(i))
    print("\nRocksDB:\n\n```\n%s\n```" % rocksdb)


if __name__ == "__main__":
    main()
