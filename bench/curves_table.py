#!/usr/bin/env python3
"""Prints the markdown tables of bench/run-curves.sh from the JSON files it wrote.

usage: curves_table.py DIR BIG_CALLERIDS

A point run several times (--repeat) has NAME.json, NAME.run2.json, NAME.run3.json, ...:
its row shows the median of each column, and the ratios' range in brackets.
"""
import json
import os
import statistics
import sys


def load(directory, name):
    with open(os.path.join(directory, name + ".json")) as f:
        return json.load(f)


def run_names(directory, name):
    """NAME, then NAME.run2, NAME.run3, ... as long as they were written."""
    names = [name]
    while os.path.exists(os.path.join(directory, "%s.run%d.json" % (name, len(names) + 1))):
        names.append("%s.run%d" % (name, len(names) + 1))
    return names


def load_average(directory, name):
    path = os.path.join(directory, name + ".load")
    if not os.path.exists(path):
        return "?"
    with open(path) as f:
        return f.read().strip()


def load_averages(directory, names):
    """One run's three load averages; several runs' 1-minute ones."""
    if len(names) == 1:
        return load_average(directory, names[0])
    return " / ".join(load_average(directory, n).split(",")[0] for n in names) + " (1 min)"


def spread(values, fmt):
    """The median, and with several values their range: "0.400 (0.380–0.420)"."""
    text = fmt.format(statistics.median(values))
    if len(values) > 1:
        text += " ({}–{})".format(fmt.format(min(values)), fmt.format(max(values)))
    return text


def write_p99(run):
    latency = run["latency_us"]
    return max(latency[rpc]["p99"] for rpc in ("Reserve", "Settle") if rpc in latency)


def floor_p99(run):
    return run["floor"]["latency_us"]["p99"]


def bench_row(directory, name, label):
    names = run_names(directory, name)
    runs = [load(directory, n) for n in names]

    def median(figure):
        return statistics.median(figure(run) for run in runs)

    commits = [run["server_commit"] for run in runs if run.get("server_commit")]
    group = "{:.1f}".format(statistics.median(c["mean_group_size"] for c in commits)) \
        if commits else "?"
    sync = "{:,.0f}".format(statistics.median(c["mean_sync_us"] for c in commits)) \
        if commits else "?"
    return ("| {} | {:,.0f} | {:,.0f} | {:,.0f} | {} | {:,.0f} | {:,.0f} | {} | {} | {} "
            "| {} |").format(
        label, median(lambda r: r["calls_per_second"]), median(lambda r: r["rpcs_per_second"]),
        median(lambda r: r["floor_rpcs_per_second"]),
        spread([run["ratio"] for run in runs], "{:.3f}"), median(write_p99), median(floor_p99),
        spread([write_p99(run) / max(floor_p99(run), 1) for run in runs], "{:.1f}"), group,
        sync, load_averages(directory, names))


def one_in_flight(directory):
    """The write at 1 in flight against one sync plus the floor's round trip (p50s)."""
    runs = [load(directory, n) for n in run_names(directory, "inflight-1")]
    if not all(run.get("server_commit") for run in runs):
        return ""
    write_p50 = statistics.median(
        max(run["latency_us"][rpc]["p50"] for rpc in ("Reserve", "Settle")) for run in runs)
    sync = statistics.median(run["server_commit"]["mean_sync_us"] for run in runs)
    floor_p50 = statistics.median(run["floor"]["latency_us"]["p50"] for run in runs)
    return ("\nAt 1 in flight: write p50 {:,.0f} µs; one group's write and sync {:,.0f} µs (mean) "
            "+ the floor's p50 {:,.0f} µs = {:,.0f} µs.".format(
                write_p50, sync, floor_p50, sync + floor_p50))


def main():
    directory, big = sys.argv[1], sys.argv[2]
    header = ("| {} | calls/s | ledger RPCs/s | floor RPCs/s | ratio | write p99 µs | "
              "floor p99 µs | p99 / floor p99 | commands a group | write+sync µs | "
              "load average (1, 5, 15 min) |")
    rule = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    repeats = len(run_names(directory, "inflight-64"))
    if repeats > 1:
        print("Each row is the median of {} runs; the ratios' range in brackets.\n".format(
            repeats))
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
