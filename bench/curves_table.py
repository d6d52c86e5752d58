#!/usr/bin/env python3
"""Prints the markdown tables of bench/run-curves.sh from the JSON files it wrote.

usage: curves_table.py DIR BIG_CALLERIDS
"""
import json
import os
import sys


def load(directory, name):
    with open(os.path.join(directory, name + ".json")) as f:
        return json.load(f)


def load_average(directory, name):
    path = os.path.join(directory, name + ".load")
    if not os.path.exists(path):
        return "?"
    with open(path) as f:
        return f.read().strip()


def write_p99(run):
    latency = run["latency_us"]
    return max(latency[rpc]["p99"] for rpc in ("Reserve", "Settle") if rpc in latency)


def bench_row(directory, name, label):
    run = load(directory, name)
    floor_p99 = run["floor"]["latency_us"]["p99"]
    commit = run.get("server_commit")
    group = "{:.1f}".format(commit["mean_group_size"]) if commit else "?"
    sync = "{:,.0f}".format(commit["mean_sync_us"]) if commit else "?"
    return ("| {} | {:,.0f} | {:,.0f} | {:,.0f} | {:.3f} | {:,} | {:,} | {:.1f} | {} | {} "
            "| {} |").format(
        label, run["calls_per_second"], run["rpcs_per_second"], run["floor_rpcs_per_second"],
        run["ratio"], write_p99(run), floor_p99, write_p99(run) / max(floor_p99, 1), group,
        sync, load_average(directory, name))


def one_in_flight(directory):
    """The write at 1 in flight against one sync plus the floor's round trip (p50s)."""
    run = load(directory, "inflight-1")
    commit = run.get("server_commit")
    if not commit:
        return ""
    write_p50 = max(run["latency_us"][rpc]["p50"] for rpc in ("Reserve", "Settle"))
    floor_p50 = run["floor"]["latency_us"]["p50"]
    return ("\nAt 1 in flight: write p50 {:,} µs; one group's write and sync {:,.0f} µs (mean) "
            "+ the floor's p50 {:,} µs = {:,.0f} µs.".format(
                write_p50, commit["mean_sync_us"], floor_p50, commit["mean_sync_us"] + floor_p50))


def main():
    directory, big = sys.argv[1], sys.argv[2]
    header = ("| {} | calls/s | ledger RPCs/s | floor RPCs/s | ratio | write p99 µs | "
              "floor p99 µs | p99 / floor p99 | commands a group | write+sync µs | "
              "load average (1, 5, 15 min) |")
    rule = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    print("In-flight sweep, 10,000 CallerIDs:\n")
    print(header.format("in flight"))
    print(rule)
    for n in (1, 4, 16, 64, 256):
        print(bench_row(directory, "inflight-%d" % n, n))
    print(one_in_flight(directory))
    print("\nCallerID-count sweep, 64 in flight:\n")
    print(header.format("CallerIDs"))
    print(rule)
    print(bench_row(directory, "inflight-64", "10,000"))
    print(bench_row(directory, "callerids-" + big, "{:,}".format(int(big))))
    startup = load(directory, "startup-" + big)
    rebuild = load(directory, "rebuild-" + big)
    preload = load(directory, "callerids-" + big)["preload"]
    print("\nWith {:,} CallerIDs: preload {:,} added in {:.1f} s; start-up {:.2f} s to serving, "
          "resident memory {:,.0f} MiB; rebuild of {:,} events at {:,.0f} events/s.".format(
              int(big), preload["added"], preload["seconds"], startup["load_seconds"],
              startup["rss_kib"] / 1024, rebuild["events"], rebuild["events_per_second"]))


if __name__ == "__main__":
    main()
