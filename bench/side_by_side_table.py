#!/usr/bin/env python3
"""Prints the markdown table of bench/side-by-side.sh from the JSON files it wrote.

usage: side_by_side_table.py DIR

DIR holds pg-K.json (bench/postgres-ledger.sh) and ledger-K.json (ledger-bench) for the
rounds K = 1, 2, ..., run in turn: PostgreSQL, then the ledger.
"""
import json
import os
import statistics
import sys


STYLES = {
    "functions": "Reserve and Settle in server-side functions",
    "statements": "one statement a round trip",
}


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    directory = sys.argv[1]
    rounds = []
    while True:
        k = len(rounds) + 1
        pg = os.path.join(directory, "pg-%d.json" % k)
        ledger = os.path.join(directory, "ledger-%d.json" % k)
        if not (os.path.exists(pg) and os.path.exists(ledger)):
            break
        rounds.append((load(pg), load(ledger)))
    if not rounds:
        sys.exit("side_by_side_table: no pg-1.json and ledger-1.json in " + directory)
    pg, ledger = rounds[0]
    # Runs before postgres-ledger.sh had --style wrote no style: they were of statements.
    style = pg.get("style", "statements")
    print("PostgreSQL at {} clients ({}), the ledger at {} calls in flight over {:,} CallerIDs, "
          "{} s each, in turn:\n".format(pg["clients"], STYLES.get(style, style),
                                         ledger["in_flight"], pg["callerids"], pg["seconds"]))
    print("| round | PostgreSQL calls/s | ledger calls/s | ledger / PostgreSQL |")
    print("|---:|---:|---:|---:|")
    ratios = []
    for k, (pg, ledger) in enumerate(rounds, 1):
        ratio = ledger["calls_per_second"] / pg["calls_per_second"]
        ratios.append(ratio)
        print("| {} | {:,.0f} | {:,.0f} | {:.1f}× |".format(
            k, pg["calls_per_second"], ledger["calls_per_second"], ratio))
    print("\nMedian {:.1f}× (from {:.1f}× to {:.1f}×) over {} rounds.".format(
        statistics.median(ratios), min(ratios), max(ratios), len(ratios)))


if __name__ == "__main__":
    main()
