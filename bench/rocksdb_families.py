#!/usr/bin/env python3
"""What RocksDB's flushes and compactions did, column family by column family, from its LOG.

usage: rocksdb_families.py LOG

One markdown row a family: its flushes (how many, the MiB of table files they wrote and the
mean size of one), its compactions (how many, the MiB they wrote, the CPU seconds they took)
and the ratio of the two writes, which is how many times each flushed byte was written again
by compactions in the run (RocksDB's write amplification, less the flush itself), and its
table files level by level at RocksDB's last statistics dump (every ten minutes, and at the
start): how deep its tree had grown. Families by the compactions' CPU, the costliest first.
bench/soak.sh appends it to soak.md.

RocksDB names the family of a job in its text lines ("[calls] [JOB 12] Compacting ...",
"[calls] [JOB 9] Flushing memtable ...") and reports what the job did in its event lines
(EVENT_LOG_v1 {"job": 12, "event": "compaction_finished", ...}); the job number joins them.
Its statistics dumps have a table a family ("** Compaction Stats [calls] **", then a row a
level: "  L1      4/0   200.00 MB ...").
"""
import collections
import json
import re
import sys

JOB = re.compile(r"\[([^\]\s]+)\] \[JOB (\d+)\] (Compacting|Flushing memtable)")
STATS = re.compile(r"^\*\* Compaction Stats \[([^\]\s]+)\] \*\*")
LEVEL = re.compile(r"^\s*L(\d+)\s+(\d+)/\d+\s+([\d.]+) (B|KB|MB|GB|TB)\b")
UNIT = {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}


def read(lines):
    compaction_family = {}
    flush_family = {}
    families = collections.defaultdict(collections.Counter)
    levels = {}  # family: {level: (files, bytes)} of its last statistics dump
    stats_family = None  # the family whose level table is being read
    for line in lines:
        m = STATS.match(line)
        if m:
            stats_family = m.group(1)
            continue
        if stats_family is not None:
            if line.startswith("Level "):
                levels[stats_family] = {}
                continue
            m = LEVEL.match(line)
            if m and stats_family in levels:
                levels[stats_family][int(m.group(1))] = (
                    int(m.group(2)), float(m.group(3)) * UNIT[m.group(4)])
                continue
            if not line.strip():
                stats_family = None
        m = JOB.search(line)
        if m:
            (compaction_family if m.group(3) == "Compacting" else flush_family)[m.group(2)] = \
                m.group(1)
            continue
        at = line.find("EVENT_LOG_v1 {")
        if at < 0:
            continue
        try:
            event = json.loads(line[at + len("EVENT_LOG_v1 "):])
        except ValueError:
            continue
        job = str(event.get("job"))
        if event.get("event") == "compaction_finished" and job in compaction_family:
            f = families[compaction_family[job]]
            f["compactions"] += 1
            f["compacted_bytes"] += event.get("total_output_size", 0)
            f["compaction_cpu_us"] += event.get("compaction_time_cpu_micros", 0)
        elif event.get("event") == "table_file_creation" and job in flush_family:
            f = families[flush_family[job]]
            f["flushes"] += 1
            f["flushed_bytes"] += event.get("file_size", 0)
    return families, levels


def main():
    with open(sys.argv[1], errors="replace") as log:
        families, levels = read(log)
    mib = 2.0**20
    print("| column family | flushes | MiB flushed | MiB a flush | compactions "
          "| MiB compactions wrote | compactions' CPU s | compactions' MiB per MiB flushed "
          "| table files (MiB) by level at the last dump |")
    print("|---|---|---|---|---|---|---|---|---|")
    total = collections.Counter()
    total_levels = collections.defaultdict(lambda: [0, 0.0])
    for name, f in sorted(families.items(),
                          key=lambda item: (-item[1]["compaction_cpu_us"], item[0])):
        total.update(f)
        for level, (files, size) in levels.get(name, {}).items():
            total_levels[level][0] += files
            total_levels[level][1] += size
        print(row(name, f, levels.get(name, {}), mib))
    print(row("all", total, total_levels, mib))


def row(name, f, levels, mib):
    flushed = f["flushed_bytes"] / mib
    by_level = ", ".join("L%d %d (%.1f)" % (level, files, size / mib)
                         for level, (files, size) in sorted(levels.items()) if files > 0)
    return "| %s | %d | %.1f | %s | %d | %.1f | %.1f | %s | %s |" % (
        name, f["flushes"], flushed,
        "%.2f" % (flushed / f["flushes"]) if f["flushes"] else "-", f["compactions"],
        f["compacted_bytes"] / mib, f["compaction_cpu_us"] / 1e6,
        "%.1f" % (f["compacted_bytes"] / f["flushed_bytes"]) if f["flushed_bytes"] else "-",
        by_level or "-")


if __name__ == "__main__":
    main()
