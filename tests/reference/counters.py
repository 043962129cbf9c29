#!/usr/bin/env python3
"""Compare the reference's ingest counters with the summary tripgate backtest prints on stderr.

usage: python3 counters.py REF_STATS.json TRIPGATE_STDERR

The counters are not part of the backtest output, so a difference here is reported as a
failure of its own kind ("counter"), separately from record differences.  If the stderr
summary cannot be parsed the check is skipped with a warning (exit 0).
"""
import json
import re
import sys


def parse_tripgate(text):
    c = {}
    m = re.search(r"^events read: (\d+)", text, re.M)
    if not m:
        return None
    c["read"] = int(m.group(1))
    m = re.search(r"^rejected: (\d+)(?: \(([^)]*)\))?", text, re.M)
    if m:
        for part in (m.group(2) or "").split(","):
            part = part.strip()
            if part:
                reason, n = part.rsplit(" ", 1)
                c["rejected." + reason] = int(n)
    m = re.search(r"^duplicates: (\d+)(?: \((\d+) repeated event_id, (\d+) semantic\))?", text, re.M)
    if m and m.group(2) is not None:
        c["duplicate.event_id"] = int(m.group(2))
        c["duplicate.semantic"] = int(m.group(3))
    for name in ("late", "unmatched", "ticks"):
        m = re.search(r"^%s: (\d+)" % name, text, re.M)
        if m:
            c[name] = int(m.group(1))
    return c


def main():
    ref = json.load(open(sys.argv[1]))
    tg = parse_tripgate(open(sys.argv[2], errors="replace").read())
    if tg is None:
        print("counters: WARNING: could not parse tripgate's stderr summary; skipped")
        return
    keys = sorted((set(ref) | set(tg)))
    bad = [(k, ref.get(k, 0), tg.get(k, 0)) for k in keys if ref.get(k, 0) != tg.get(k, 0)]
    if bad:
        print("counter FAILURES:")
        for k, a, b in bad:
            print("  %-28s reference %-8d tripgate %d" % (k, a, b))
        sys.exit(1)
    print("counters OK: " + ", ".join("%s=%d" % (k, ref[k]) for k in keys if k in ref))


if __name__ == "__main__":
    main()
