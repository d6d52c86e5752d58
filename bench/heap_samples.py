#!/usr/bin/env python3
"""ledgerd's heap beside RocksDB's own account of its memory, sample by sample.

usage: heap_samples.py row LOG METRICS_ADDRESS SECONDS
       heap_samples.py table HEAP_TSV [--from_minute=N]

bench/soak.sh --heap_minutes M calls glibc's malloc_stats() in ledgerd (through gdb) every M
minutes of the calls; ledgerd prints it on its stderr, LOG. Then `row` reads the last
"Total (incl. mmap)" that LOG holds and, at the same moment, ledgerd's metrics at
METRICS_ADDRESS (host:port), and prints one tab-separated line: SECONDS into the calls, the
event log's last sequence, resident memory, malloc's system bytes and bytes in use, and
RocksDB's memtables, table readers and block cache (bytes).

`table` prints those lines as markdown: memory in use beside the part RocksDB accounts for,
read at the same moment (its memtables alone swing by tens of MiB between two flushes, so
that the heap read a few seconds away from RocksDB's figures says little), what is in use
outside RocksDB's part, what malloc keeps free, and for each a least-squares slope in MiB an
hour: what grows with the run and what only goes up and down. With --from_minute=N the
summary takes only the samples from minute N of the calls on (the block cache and the
memtables fill over the first minutes of a run); every sample is still listed.
"""
import re
import sys
import urllib.request

FIELDS = ("seconds", "events", "resident", "system", "in_use", "memtables", "table_readers",
          "block_cache")


def fail(message):
    print("heap_samples: " + message, file=sys.stderr)
    sys.exit(1)


def last_total(log_path):
    """(system, in use) of the last complete "Total (incl. mmap)" of malloc_stats() in the log."""
    with open(log_path, errors="replace") as log:
        text = log.read()
    found = re.findall(r"^Total \(incl\. mmap\):\n\s*system bytes\s*=\s*(\d+)\n"
                       r"\s*in use bytes\s*=\s*(\d+)$", text, re.MULTILINE)
    if not found:
        fail("no malloc_stats() total in " + log_path)
    system, in_use = found[-1]
    return int(system), int(in_use)


def metrics(address):
    try:
        with urllib.request.urlopen("http://%s/metrics" % address, timeout=10) as response:
            text = response.read().decode()
    except OSError as error:
        fail("cannot read the metrics at %s: %s" % (address, error))
    values = {}
    for line in text.splitlines():
        match = re.match(r'^(process_resident_memory_bytes|ledger_last_event_sequence|'
                         r'ledger_storage_memory_bytes\{kind="(\w+)"\}) (\S+)$', line)
        if match:
            values[match.group(2) or match.group(1)] = int(float(match.group(3)))
    wanted = ("process_resident_memory_bytes", "ledger_last_event_sequence", "memtables",
              "table_readers", "block_cache")
    missing = [name for name in wanted if name not in values]
    if missing:
        fail("the metrics at %s lack %s" % (address, ", ".join(missing)))
    return [values[name] for name in wanted]


def row(log_path, address, seconds):
    system, in_use = last_total(log_path)
    resident, events, memtables, table_readers, block_cache = metrics(address)
    print("\t".join(str(v) for v in (seconds, events, resident, system, in_use, memtables,
                                     table_readers, block_cache)))


def slope_per_hour(xs, ys):
    """Least-squares slope of ys over xs (seconds), per hour; None for fewer than 2 points."""
    if len(xs) < 2:
        return None
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    return 3600 * sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread


def mib(value):
    return value / 2**20


def table(path, from_minute=0):
    samples = []
    with open(path) as tsv:
        for number, line in enumerate(tsv, 1):
            cells = line.split()
            if not cells:
                continue
            if len(cells) != len(FIELDS) or not all(c.isdigit() for c in cells):
                fail("%s line %d is not %d whole numbers" % (path, number, len(FIELDS)))
            samples.append(dict(zip(FIELDS, (int(c) for c in cells))))
    if not samples:
        fail("no samples in " + path)
    for s in samples:
        s["rocksdb"] = s["memtables"] + s["table_readers"] + s["block_cache"]
        s["outside"] = s["in_use"] - s["rocksdb"]
        s["free"] = s["system"] - s["in_use"]
    print("## ledgerd's heap beside RocksDB's account (malloc_stats() through gdb)\n")
    print("| minute | events | resident MiB | in use MiB | RocksDB's MiB | memtables | "
          "block cache | in use outside RocksDB's | kept free by malloc |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in samples:
        print("| %.0f | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
            s["seconds"] / 60, format(s["events"], ","), mib(s["resident"]), mib(s["in_use"]),
            mib(s["rocksdb"]), mib(s["memtables"]), mib(s["block_cache"]), mib(s["outside"]),
            mib(s["free"])))
    summarized = [s for s in samples if s["seconds"] >= from_minute * 60]
    if not summarized:
        fail("no sample from minute %d on in %s" % (from_minute, path))
    print("\nFrom minute %.0f to minute %.0f (%d samples):" % (
        summarized[0]["seconds"] / 60, summarized[-1]["seconds"] / 60, len(summarized)))
    print("\n| MiB | first | last | lowest | highest | slope an hour |")
    print("|---|---:|---:|---:|---:|---:|")
    samples = summarized
    xs = [s["seconds"] for s in samples]
    for name, key in (("resident", "resident"), ("in use", "in_use"),
                      ("RocksDB's (memtables, table readers, block cache)", "rocksdb"),
                      ("in use outside RocksDB's", "outside"), ("kept free by malloc", "free")):
        ys = [mib(s[key]) for s in samples]
        slope = slope_per_hour(xs, ys)
        print("| %s | %.0f | %.0f | %.0f | %.0f | %s |" % (
            name, ys[0], ys[-1], min(ys), max(ys), "-" if slope is None else "%+.1f" % slope))


def main():
    args = sys.argv[1:]
    if len(args) == 4 and args[0] == "row":
        if not args[3].isdigit():
            fail("SECONDS is a whole number, not " + args[3])
        row(args[1], args[2], int(args[3]))
    elif len(args) in (2, 3) and args[0] == "table":
        from_minute = 0
        if len(args) == 3:
            match = re.fullmatch(r"--from_minute=(\d+)", args[2])
            if not match:
                fail("unknown argument %s (--from_minute=N, N a whole number)" % args[2])
            from_minute = int(match.group(1))
        table(args[1], from_minute)
    else:
        fail("usage: heap_samples.py row LOG METRICS_ADDRESS SECONDS | "
             "table HEAP_TSV [--from_minute=N]")


if __name__ == "__main__":
    main()
