#!/usr/bin/env python3
"""Compare two tripgate backtest outputs the way the reviewer does.

usage: python3 compare.py EXPECTED ACTUAL [--config CONFIG] [--show N] [--quiet]

- records are matched by identity, so the order within a tick is free:
    kpi        (tick, kpi, scope, key, window)
    transition (tick, rule, scope, key)
    gate       (tick, gate)
  and each file must be ordered by tick (non-decreasing);
- the set of fields of matched records must be equal;
- samples / count and every string field must be equal;
- value and mean agree to 1e-9 relative; p50..p99 within 1% relative;
- transitions (and their gate consequences) of rules on p50..p99 stats may differ from an
  exact implementation near a threshold (contract section 9, "Percentile rules").  With
  --config, such differences are reported separately as "percentile-rule differences" and
  do not fail, but only when justified: the rule's stat for that key came within 1% of one
  of the rule's absolute thresholds at or before that tick (for baseline rules the threshold
  cannot be recomputed from the records, so any difference is accepted and marked so).
  The value of a transition of a percentile rule is compared with the 1% tolerance.
Every other difference is a failure (exit status 1).
"""
import argparse
import json
import sys
import tomllib
from collections import defaultdict
from datetime import datetime, timedelta

PCT = ("p50", "p90", "p95", "p99")
REL_EXACT = 1e-9
REL_PCT = 1e-2


def load(path, problems, label):
    recs = []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for i, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                r = json.loads(raw)
            except ValueError as e:
                problems.append(("parse error", "%s line %d: %s" % (label, i, e)))
                continue
            if not isinstance(r, dict) or r.get("kind") not in ("kpi", "transition", "gate"):
                problems.append(("parse error", "%s line %d: not a record: %s" %
                                 (label, i, raw[:200])))
                continue
            r["_line"] = i
            recs.append(r)
    prev = None
    for r in recs:
        t = r.get("tick")
        if not isinstance(t, str):
            problems.append(("bad tick", "%s line %d: tick %r" % (label, r["_line"], t)))
            continue
        if prev is not None and t < prev:
            problems.append(("not ordered by tick",
                             "%s line %d: tick %s after %s" % (label, r["_line"], t, prev)))
        prev = t
    return recs


def ident(r):
    k = r["kind"]
    if k == "kpi":
        return ("kpi", r.get("tick"), r.get("kpi"), r.get("scope"), r.get("key"),
                r.get("window"))
    if k == "transition":
        return ("transition", r.get("tick"), r.get("rule"), r.get("scope"), r.get("key"))
    return ("gate", r.get("tick"), r.get("gate"))


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def close(a, b, rel):
    if a is None or b is None:
        return a is None and b is None
    if not (is_num(a) and is_num(b)):
        return False
    if a == b:
        return True
    return abs(a - b) <= rel * max(abs(a), abs(b))


def load_rules(path):
    with open(path, "rb") as f:
        cfg = tomllib.load(f)
    rules = {}
    for r in cfg.get("rule", []):
        rules[r["name"]] = r
    gates = {g["name"]: list(g.get("rules", [])) for g in cfg.get("gate", [])}
    tick_s = dur(cfg.get("pipeline", {}).get("tick", "1m"))
    return rules, gates, tick_s


def dur(s):
    """duration string ('90s', '5m', '1h30m') -> seconds"""
    units = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}
    total, num, i = 0.0, "", 0
    while i < len(s):
        if s[i].isdigit():
            num += s[i]
            i += 1
            continue
        for u in ("ns", "us", "ms", "s", "m", "h", "d"):
            if s.startswith(u, i):
                total += int(num) * units[u]
                num, i = "", i + len(u)
                break
        else:
            raise ValueError("bad duration %r" % s)
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("expected")
    ap.add_argument("actual")
    ap.add_argument("--config", help="rule set, to recognise percentile rules")
    ap.add_argument("--show", type=int, default=8, help="examples shown per kind")
    ap.add_argument("--quiet", action="store_true", help="only the summary line when equal")
    a = ap.parse_args()

    problems = []          # (kind, text): failures
    pct_diffs = []         # (kind, text): tolerated percentile-rule differences
    exp = load(a.expected, problems, "expected")
    act = load(a.actual, problems, "actual")

    rules, gates, tick_s = (load_rules(a.config) if a.config else ({}, {}, 60))
    pct_rules = {n for n, r in rules.items() if r.get("stat", "value") in PCT}

    def index(recs, label):
        d = {}
        for r in recs:
            i = ident(r)
            if i in d:
                problems.append(("duplicate record", "%s line %d duplicates line %d: %s" %
                                 (label, r["_line"], d[i]["_line"], fmt(i))))
                continue
            d[i] = r
        return d

    E = index(exp, "expected")
    A = index(act, "actual")

    # kpi stat values per (kpi, scope, key, window) per tick, from both sides (built lazily:
    # only needed to justify percentile-rule differences)
    kvals = defaultdict(dict)
    kvals_built = [False]

    def build_kvals():
        if kvals_built[0]:
            return
        kvals_built[0] = True
        for side in (E, A):
            for i, r in side.items():
                if i[0] == "kpi":
                    kvals[(r.get("kpi"), r.get("scope"), r.get("key"), r.get("window"))] \
                        .setdefault(r.get("tick"), []).append(r)

    # breaker-state divergences of percentile rules, from each side's transitions
    def parse_t(x):
        return datetime.fromisoformat(x.replace("Z", "+00:00"))

    trans = defaultdict(lambda: ([], []))
    for n_side, side in enumerate((E, A)):
        for i, r in side.items():
            if i[0] == "transition" and i[2] in pct_rules:
                trans[(i[2], i[4])][n_side].append((i[1], r.get("to")))
    intervals = {}      # (rule, key) -> [(first tick, last tick)] where the states differ
    for rk, (te, ta) in trans.items():
        ticks = sorted({t for t, _ in te} | {t for t, _ in ta})
        de, da = dict(te), dict(ta)
        se = sa = "green"
        start, iv = None, []
        for c in ticks:
            se, sa = de.get(c, se), da.get(c, sa)
            if se != sa and start is None:
                start = c
            elif se == sa and start is not None:
                iv.append((start, c))
                start = None
        if start is not None:
            iv.append((start, "9999"))
        intervals[rk] = iv

    def justified(rule_name, key, tick):
        """Why a differing transition of a percentile rule is tolerable, or None."""
        r = rules.get(rule_name)
        if r is None:
            return None
        iv = [(s0, e0) for (s0, e0) in intervals.get((rule_name, key), []) if s0 <= tick <= e0]
        if not iv:
            return None
        start = iv[0][0]
        thresholds = []
        baseline = False
        for b in ("yellow", "red"):
            c = r.get(b)
            if isinstance(c, dict) and len(c) == 1:
                (ck, cv), = c.items()
                if ck in ("above", "below"):
                    thresholds.append(float(cv))
                else:
                    baseline = True
        if baseline:
            return ("breaker states diverge from %s; baseline percentile rule (threshold "
                    "not recomputable from the records)" % start)
        build_kvals()
        runs = max(dur(r.get("for", "0s")), dur(r.get("recover_for", r.get("for", "0s"))))
        lo = parse_t(start) - timedelta(seconds=runs + tick_s)
        ser = kvals.get((r.get("kpi"), r.get("scope", "global"), key, r.get("window")), {})
        stat = r.get("stat")
        for t in sorted(ser):
            if t > tick or parse_t(t) < lo:
                continue
            for rec in ser[t]:
                v = rec.get(stat)
                if not is_num(v):
                    continue
                for x in thresholds:
                    if abs(v - x) <= REL_PCT * max(abs(x), abs(v)):
                        return ("breaker states diverge from %s; %s=%s at %s is within 1%% "
                                "of threshold %s" % (start, stat, v, t, x))
        return None

    def report(i, kind, text):
        if i[0] == "transition" and i[2] in pct_rules:
            why = justified(i[2], i[4], i[1])
            if why:
                pct_diffs.append((kind, text + "\n      justified: " + why))
                return
        if i[0] == "gate":
            for m in gates.get(i[2], []):
                if m in pct_rules and any(s0 <= i[1] <= e0 and justified(m, "all", i[1])
                                          for (s0, e0) in intervals.get((m, "all"), [])):
                    pct_diffs.append((kind, text + "\n      justified: percentile rule %s "
                                      "has a tolerated breaker divergence then" % m))
                    return
        problems.append((kind, text))

    # expected's records in file order, then those only in actual
    all_ids = list(E) + [i for i in A if i not in E]
    for i in all_ids:
        e, x = E.get(i), A.get(i)
        if e is not None and x is not None:
            le, la = e.pop("_line"), x.pop("_line")
            same = e == x and not any(type(v) is bool for v in x.values())
            e["_line"], x["_line"] = le, la
            if same:
                continue
        if e is None:
            report(i, "extra %s record in actual" % i[0], fmt(i) + "\n      actual: " + show(x))
            continue
        if x is None:
            report(i, "missing %s record in actual" % i[0],
                   fmt(i) + "\n      expected: " + show(e))
            continue
        fe = set(e) - {"_line"}
        fa = set(x) - {"_line"}
        if fe != fa:
            report(i, "%s fields differ" % i[0],
                   "%s: only expected %s, only actual %s" %
                   (fmt(i), sorted(fe - fa), sorted(fa - fe)))
        for f in sorted(fe & fa):
            ev, av = e[f], x[f]
            if f in ("value", "mean"):
                rel = REL_EXACT
                if f == "value" and i[0] == "transition" and i[2] in pct_rules:
                    rel = REL_PCT
                ok = close(ev, av, rel)
            elif f in PCT:
                ok = close(ev, av, REL_PCT)
            elif f in ("samples", "count"):
                ok = (ev is None and av is None) or (is_num(ev) and is_num(av) and ev == av)
            else:
                ok = ev == av and type(ev) is type(av)
            if not ok:
                report(i, "%s field '%s' differs" % (i[0], f),
                       "%s: expected %s=%r, actual %s=%r" % (fmt(i), f, ev, f, av))

    nk = lambda recs, k: sum(1 for r in recs if r["kind"] == k)
    summary = "expected %d records (%d kpi, %d transition, %d gate), actual %d (%d, %d, %d)" % (
        len(exp), nk(exp, "kpi"), nk(exp, "transition"), nk(exp, "gate"),
        len(act), nk(act, "kpi"), nk(act, "transition"), nk(act, "gate"))

    def dump(items, title):
        groups = defaultdict(list)
        for k, t in items:
            groups[k].append(t)
        print("%s: %d" % (title, len(items)))
        for k in sorted(groups, key=lambda k: -len(groups[k])):
            print("  [%d] %s" % (len(groups[k]), k))
            for t in groups[k][:a.show]:
                print("    - " + t)
            if len(groups[k]) > a.show:
                print("    ... %d more" % (len(groups[k]) - a.show))

    if pct_diffs:
        dump(pct_diffs, "percentile-rule differences (tolerated, not failures)")
    if problems:
        print(summary)
        dump(problems, "FAILURES")
        sys.exit(1)
    if not a.quiet or pct_diffs:
        print("OK: " + summary)


def fmt(i):
    return " ".join("%s" % x for x in i if x is not None)


def show(r):
    return json.dumps({k: v for k, v in r.items() if k != "_line"}, separators=(",", ":"))


if __name__ == "__main__":
    main()
