#!/usr/bin/env python3
"""Independent reference implementation of `tripgate backtest` (contract v1).

Written from /work/shared/CONTRACT.md alone (no knowledge of the Rust code).
Standard library only.  Favours obviously-correct over fast:

  1. decode + validate every line (section 2 / 9 rejection order),
  2. replay in arrival order for id-dedup, lateness and the watermark,
  3. apply the accepted events in (occurred_at, arrival) order to build joins,
     semantic duplicates, key admission (max_keys) and per-key fact lists,
  4. for every tick compute the KPIs from the facts (exact integers/Fractions),
     evaluate the breakers and the gates, emit JSON Lines.

Usage: python3 tripgate_ref.py --events FILE --config FILE --out FILE [--stats FILE]
"""
import argparse
import bisect
import json
import math
import re
import sys
import tomllib
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

NS = 10**9

# ----------------------------------------------------------------------------
# durations and timestamps
# ----------------------------------------------------------------------------

_DUR_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": NS, "m": 60 * NS,
              "h": 3600 * NS, "d": 86400 * NS}
_DUR_PART = re.compile(r"(\d+)(ns|us|µs|ms|s|m|h|d)")


def parse_duration(s):
    """'30s', '5m', '2h', '7d' (also compound '1h30m') -> nanoseconds."""
    if not isinstance(s, str) or not s:
        raise ValueError("duration must be a string like '5m': %r" % (s,))
    pos, total = 0, 0
    while pos < len(s):
        m = _DUR_PART.match(s, pos)
        if not m:
            raise ValueError("bad duration %r" % s)
        total += int(m.group(1)) * _DUR_UNITS[m.group(2)]
        pos = m.end()
    return total


_TS = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z):
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def _leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


_MDAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def parse_ts(s):
    """RFC 3339 with mandatory offset -> ns since epoch (UTC), or None if invalid."""
    if not isinstance(s, str):
        return None
    m = _TS.match(s)
    if not m:
        return None
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= mo <= 12):
        return None
    mdays = 29 if (mo == 2 and _leap(y)) else _MDAYS[mo - 1]
    if not (1 <= d <= mdays) or h > 23 or mi > 59 or se > 59:
        return None
    frac = m.group(7)
    ns = 0
    if frac:
        digits = frac[1:]
        ns = int((digits + "000000000")[:9])   # more than 9 digits: truncated
    off = m.group(8)
    off_s = 0
    if off not in ("Z", "z"):
        oh, om = int(off[1:3]), int(off[4:6])
        if oh > 23 or om > 59:
            return None
        off_s = (oh * 3600 + om * 60) * (1 if off[0] == "+" else -1)
    secs = _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off_s
    return secs * NS + ns


def fmt_ts(ns):
    secs, frac = divmod(ns, NS)
    days, rem = divmod(secs, 86400)
    y, m, d = _civil_from_days(days)
    h, rem = divmod(rem, 3600)
    mi, se = divmod(rem, 60)
    out = "%04d-%02d-%02dT%02d:%02d:%02d" % (y, m, d, h, mi, se)
    if frac:
        out += ("." + "%09d" % frac).rstrip("0")
    return out + "Z"


# ----------------------------------------------------------------------------
# decoding and validation
# ----------------------------------------------------------------------------

class Reject(Exception):
    def __init__(self, reason, detail=""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class _DupFlag:
    dup = False


def _bad_constant(name):
    raise ValueError("non-standard JSON constant " + name)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_surrogate(s):
    return _SURROGATE.search(s) is not None


def _check_strings(v):
    """True if any string (key or value) anywhere holds a lone surrogate."""
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            if _has_surrogate(x):
                return True
        elif isinstance(x, dict):
            for k, vv in x.items():
                if _has_surrogate(k):
                    return True
                stack.append(vv)
        elif isinstance(x, list):
            stack.extend(x)
    return False


_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def is_id(v):
    return isinstance(v, str) and _ID.fullmatch(v) is not None


def is_money(v):
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return 0 <= v <= 10**9
    if isinstance(v, Decimal):
        return v.is_finite() and 0 <= v <= 10**9
    return False


def is_qty(v):
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1_000_000


TYPES = {
    "order.placed": ["order_id", "channel", "region", "warehouse", "promised_by", "lines"],
    "order.cancelled": ["order_id"],
    "order.refunded": ["order_id", "amount"],
    "order.chargeback": ["order_id", "amount"],
    "fulfillment.shipped": ["order_id", "carrier"],
    "fulfillment.delivered": ["order_id"],
    "fulfillment.defect_reported": ["order_id", "sku", "quantity", "reason"],
    "ticket.opened": ["ticket_id", "category", "priority"],   # + optional order_id
    "ticket.first_response": ["ticket_id"],
    "ticket.resolved": ["ticket_id"],
}
LINE_FIELDS = ["sku", "quantity", "unit_price", "unit_cost"]
ID_FIELDS = {"order_id", "channel", "region", "warehouse", "carrier", "sku", "reason",
             "ticket_id", "category"}
PRIORITIES = {"low", "normal", "high", "urgent"}


def decode(raw, max_event_bytes):
    """bytes of one line -> validated dict; raises Reject."""
    if len(raw) > max_event_bytes:
        raise Reject("too_large")
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise Reject("invalid_utf8")
    flag = _DupFlag()

    def hook(pairs):
        d = {}
        for k, v in pairs:
            if k in d:
                flag.dup = True
            d[k] = v
        return d
    try:
        if text.startswith("\ufeff"):
            raise ValueError("BOM")
        obj = json.loads(text, object_pairs_hook=hook, parse_constant=_bad_constant,
                         parse_float=Decimal, parse_int=int)
    except (ValueError, RecursionError):
        raise Reject("malformed_json")
    # a lone surrogate can only come from a \\u escape (raw UTF-8 cannot encode one)
    if "\\u" in text and _check_strings(obj):
        raise Reject("malformed_json", "lone surrogate")
    if not isinstance(obj, dict):
        raise Reject("not_an_object")
    if flag.dup:
        raise Reject("duplicate_field")
    if "type" not in obj:
        raise Reject("missing_field", "type")
    typ = obj["type"]
    if not isinstance(typ, str):
        raise Reject("invalid_field", "type")
    if typ not in TYPES:
        raise Reject("unknown_type", typ)
    # presence
    for f in ["event_id", "occurred_at"] + TYPES[typ]:
        if f not in obj:
            raise Reject("missing_field", f)
    if typ == "order.placed" and isinstance(obj["lines"], list):
        for ln in obj["lines"]:
            if isinstance(ln, dict):
                for f in LINE_FIELDS:
                    if f not in ln:
                        raise Reject("missing_field", "lines." + f)
    # validity, in table order
    if not is_id(obj["event_id"]):
        raise Reject("invalid_field", "event_id")
    t = parse_ts(obj["occurred_at"])
    if t is None:
        raise Reject("invalid_field", "occurred_at")
    ev = {"event_id": obj["event_id"], "type": typ, "t": t}
    for f in TYPES[typ]:
        v = obj[f]
        if f in ID_FIELDS:
            if not is_id(v):
                raise Reject("invalid_field", f)
            ev[f] = v
        elif f == "promised_by":
            p = parse_ts(v)
            if p is None:
                raise Reject("invalid_field", f)
            ev[f] = p
        elif f == "amount":
            if not is_money(v):
                raise Reject("invalid_field", f)
            ev[f] = v
        elif f == "quantity":
            if not is_qty(v):
                raise Reject("invalid_field", f)
            ev[f] = v
        elif f == "priority":
            if not isinstance(v, str) or v not in PRIORITIES:
                raise Reject("invalid_field", f)
            ev[f] = v
        elif f == "lines":
            if not isinstance(v, list) or not (1 <= len(v) <= 1000):
                raise Reject("invalid_field", f)
            lines = []
            for ln in v:
                if not isinstance(ln, dict):
                    raise Reject("invalid_field", "lines[]")
                if not is_id(ln["sku"]):
                    raise Reject("invalid_field", "lines.sku")
                if not is_qty(ln["quantity"]):
                    raise Reject("invalid_field", "lines.quantity")
                if not is_money(ln["unit_price"]):
                    raise Reject("invalid_field", "lines.unit_price")
                if not is_money(ln["unit_cost"]):
                    raise Reject("invalid_field", "lines.unit_cost")
                lines.append((ln["sku"], ln["quantity"], Fraction(ln["unit_price"]),
                              Fraction(ln["unit_cost"])))
            ev[f] = lines
        else:
            raise AssertionError(f)
    if typ == "ticket.opened" and "order_id" in obj:
        # optional; a present non-null value must be an id (null read as absent)
        v = obj["order_id"]
        if v is not None and not is_id(v):
            raise Reject("invalid_field", "order_id")
    return ev


# ----------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------

KPIS = {
    "cycle_time": ("dist", ["global", "warehouse", "region", "channel", "carrier"]),
    "on_time_rate": ("ratio", ["global", "warehouse", "region", "channel", "carrier"]),
    "defect_rate": ("ratio", ["global", "sku", "warehouse"]),
    "fulfillment_backlog": ("gauge", ["global", "warehouse"]),
    "support_queue": ("gauge", ["global", "category", "priority"]),
    "first_response_time": ("dist", ["global", "category", "priority"]),
    "refund_rate": ("ratio", ["global", "channel", "region"]),
    "chargeback_rate": ("ratio", ["global", "channel", "region"]),
    "contribution_margin": ("ratio", ["global", "channel", "region"]),
    "order_rate": ("ratio", ["global", "channel", "region"]),
}
DIST_STATS = ["count", "mean", "p50", "p90", "p95", "p99"]
BAND_RANK = {"green": 0, "yellow": 1, "red": 2}
COND_KINDS = ("above", "below", "above_baseline_by", "below_baseline_by")


class ConfigError(Exception):
    pass


def _num(v, what):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError("%s must be a number" % what)
    return float(v)


def load_config(path):
    with open(path, "rb") as f:
        cfg = tomllib.load(f)
    p = cfg.get("pipeline", {})
    pipe = {
        "tick": parse_duration(p.get("tick", "1m")),
        "allowed_lateness": parse_duration(p.get("allowed_lateness", "2m")),
        "order_ttl": parse_duration(p.get("order_ttl", "30d")),
        "dedup_horizon": parse_duration(p.get("dedup_horizon", "24h")),
        "max_keys": int(p.get("max_keys", 10000)),
        "max_event_bytes": int(p.get("max_event_bytes", 65536)),
    }
    tick = pipe["tick"]
    if tick <= 0:
        raise ConfigError("tick must be > 0")
    rules = []
    names = set()
    for r in cfg.get("rule", []):
        name = r["name"]
        if not re.fullmatch(r"[a-z0-9_-]+", name) or name in names:
            raise ConfigError("bad or duplicate rule name %r" % name)
        names.add(name)
        kpi = r["kpi"]
        if kpi not in KPIS:
            raise ConfigError("unknown kpi %r" % kpi)
        kind, scopes = KPIS[kpi]
        scope = r.get("scope", "global")
        if scope not in scopes:
            raise ConfigError("scope %r not valid for %s" % (scope, kpi))
        stat = r.get("stat", "value")
        if kind == "dist":
            if stat not in DIST_STATS:
                raise ConfigError("stat %r not valid for %s" % (stat, kpi))
        elif stat != "value":
            raise ConfigError("stat %r not valid for %s" % (stat, kpi))
        window_s = r.get("window")
        window = None
        if kind != "gauge":
            if window_s is None:
                raise ConfigError("rule %s needs a window" % name)
            window = parse_duration(window_s)
            if window <= 0 or window % tick:
                raise ConfigError("window of %s is not a multiple of tick" % name)
        bands = {}
        uses_baseline = False
        for b in ("yellow", "red"):
            if b in r:
                t = r[b]
                if not isinstance(t, dict) or len(t) != 1:
                    raise ConfigError("band %s of %s must hold exactly one condition" % (b, name))
                (ck, cv), = t.items()
                if ck not in COND_KINDS:
                    raise ConfigError("bad condition %r" % ck)
                bands[b] = (ck, _num(cv, ck))
                if ck.endswith("_baseline_by"):
                    uses_baseline = True
        baseline = None
        if "baseline" in r:
            bl = r["baseline"]
            if "offset" not in bl:
                raise ConfigError("baseline of %s needs an offset" % name)
            bw = parse_duration(bl["window"]) if "window" in bl else window
            baseline = (bw, parse_duration(bl["offset"]))
        if uses_baseline and baseline is None:
            raise ConfigError("rule %s uses *_baseline_by without baseline" % name)
        fr = parse_duration(r.get("for", "0s"))
        rf = parse_duration(r["recover_for"]) if "recover_for" in r else fr
        if fr % tick or rf % tick:
            raise ConfigError("for/recover_for of %s not a multiple of tick" % name)
        min_samples = r.get("min_samples", 1)
        rules.append({
            "name": name, "kpi": kpi, "kind": kind, "scope": scope, "stat": stat,
            "window": window, "window_str": window_s, "bands": bands,
            "uses_baseline": uses_baseline, "baseline": baseline,
            "n": fr // tick, "m": rf // tick, "min_samples": min_samples,
        })
    rule_by_name = {r["name"]: r for r in rules}
    gates = []
    for g in cfg.get("gate", []):
        members = list(g["rules"])
        for rn in members:
            if rn not in rule_by_name or rule_by_name[rn]["scope"] != "global":
                raise ConfigError("gate %s: rule %r unknown or not global" % (g["name"], rn))
        worst = g.get("worst", "red")
        if worst not in BAND_RANK:
            raise ConfigError("bad worst")
        gates.append({"name": g["name"], "rules": members,
                      "min_green": int(g.get("min_green", len(members))), "worst": worst})
    return pipe, rules, gates


# ----------------------------------------------------------------------------
# key admission (max_keys)
# ----------------------------------------------------------------------------

OTHER = "__other__"


class Admission:
    def __init__(self, max_keys):
        self.max_keys = max_keys
        self.admitted = defaultdict(set)

    def key(self, kpi, scope, k):
        if scope == "global":
            return "all"
        s = self.admitted[(kpi, scope)]
        if k in s:
            return k
        if len(s) < self.max_keys:
            s.add(k)
            return k
        return OTHER


# ----------------------------------------------------------------------------
# fact stores
# ----------------------------------------------------------------------------

class RatioSeries:
    """Per key: time-ordered increments (t, num, den) with prefix sums."""

    def __init__(self):
        self.t = []
        self.num = [0]
        self.den = [0]

    def add(self, t, num, den):
        # facts arrive in event-time order
        assert not self.t or t >= self.t[-1]
        self.t.append(t)
        self.num.append(self.num[-1] + num)
        self.den.append(self.den[-1] + den)

    def window(self, a, b):
        i = bisect.bisect_left(self.t, a)
        j = bisect.bisect_left(self.t, b)
        return self.num[j] - self.num[i], self.den[j] - self.den[i]


class DistSeries:
    def __init__(self):
        self.t = []
        self.v = []

    def add(self, t, v):
        assert not self.t or t >= self.t[-1]
        self.t.append(t)
        self.v.append(v)

    def window(self, a, b):
        i = bisect.bisect_left(self.t, a)
        j = bisect.bisect_left(self.t, b)
        return self.v[i:j]


class GaugeSeries:
    """Per key: intervals; counted at T iff start < T and T < end."""

    def __init__(self):
        self.starts = []
        self.ends = []
        self._sorted = False

    def add(self, start, end):
        self.starts.append(start)
        self.ends.append(end)
        self._sorted = False

    def at(self, T):
        if not self._sorted:
            self.starts.sort()
            self.ends.sort()
            self._sorted = True
        return bisect.bisect_left(self.starts, T) - bisect.bisect_right(self.ends, T)


# ----------------------------------------------------------------------------
# the engine
# ----------------------------------------------------------------------------

class Order:
    __slots__ = ("oid", "placed", "expire", "channel", "region", "warehouse", "promised",
                 "lines", "shipped", "carrier", "delivered", "cancelled", "backlog_key_g",
                 "backlog_key_w")


class Ticket:
    __slots__ = ("tid", "opened", "expire", "category", "priority", "fr", "resolved", "qkeys")


def run(events_path, config_path, out_path, stats_path=None):
    pipe, rules, gates = load_config(config_path)
    tick = pipe["tick"]
    lateness = pipe["allowed_lateness"]
    ttl = pipe["order_ttl"]
    stats = defaultdict(int)

    # ---- 1. decode ---------------------------------------------------------
    with open(events_path, "rb") as f:
        data = f.read()
    valid = []
    arrival = 0
    for raw in data.split(b"\n"):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw.strip(b" \t\r"):
            continue
        stats["read"] += 1
        try:
            ev = decode(raw, pipe["max_event_bytes"])
        except Reject as r:
            stats["rejected." + r.reason] += 1
            continue
        ev["arrival"] = arrival
        arrival += 1
        valid.append(ev)

    # ---- 2. id dedup, lateness, watermark (arrival order) ------------------
    seen = set()
    max_seen = None
    accepted = []
    for ev in valid:
        if ev["event_id"] in seen:
            stats["duplicate.event_id"] += 1
            continue
        seen.add(ev["event_id"])       # remembered from here on (also if late)
        if max_seen is not None and ev["t"] < max_seen - lateness:
            stats["late"] += 1
            continue
        accepted.append(ev)
        max_seen = ev["t"] if max_seen is None else max(max_seen, ev["t"])

    if not accepted:
        open(out_path, "w").close()
        _write_stats(stats_path, stats)
        return

    # ---- 3. apply in event-time order -------------------------------------
    accepted.sort(key=lambda e: (e["t"], e["arrival"]))
    adm = Admission(pipe["max_keys"])
    ratio = defaultdict(RatioSeries)   # (kpi, scope, key) -> series
    dist = defaultdict(DistSeries)
    gauge = defaultdict(GaugeSeries)
    keys = defaultdict(list)           # (kpi, scope) -> keys in admission order (incl. other)
    keyset = defaultdict(set)

    def K(kpi, scope, k):
        kk = adm.key(kpi, scope, k)
        if kk not in keyset[(kpi, scope)]:
            keyset[(kpi, scope)].add(kk)
            keys[(kpi, scope)].append(kk)
        return kk

    def rat(kpi, dims, t, num, den):
        for scope, k in dims:
            ratio[(kpi, scope, K(kpi, scope, k))].add(t, num, den)

    def dst(kpi, dims, t, v):
        for scope, k in dims:
            dist[(kpi, scope, K(kpi, scope, k))].add(t, v)

    orders = {}
    tickets = {}
    all_orders = []
    all_tickets = []

    def known_order(oid, t):
        o = orders.get(oid)
        if o is not None and o.placed <= t < o.expire:
            return o
        return None

    def known_ticket(tid, t):
        k = tickets.get(tid)
        if k is not None and k.opened <= t < k.expire:
            return k
        return None

    for ev in accepted:
        typ, t = ev["type"], ev["t"]
        if typ == "order.placed":
            if known_order(ev["order_id"], t) is not None:
                stats["duplicate.semantic"] += 1
                continue
            o = Order()
            o.oid = ev["order_id"]
            o.placed, o.expire = t, t + ttl
            o.channel, o.region, o.warehouse = ev["channel"], ev["region"], ev["warehouse"]
            o.promised = ev["promised_by"]
            o.lines = ev["lines"]
            o.shipped = o.carrier = o.delivered = o.cancelled = None
            orders[o.oid] = o
            all_orders.append(o)
            o.backlog_key_g = K("fulfillment_backlog", "global", "all")
            o.backlog_key_w = K("fulfillment_backlog", "warehouse", o.warehouse)
            margin = sum((q * (pr - c) for (_s, q, pr, c) in o.lines), Fraction(0))
            dims = [("global", "all"), ("channel", o.channel), ("region", o.region)]
            rat("contribution_margin", dims, t, margin, 1)
            rat("order_rate", dims, t, 1, 1)
        elif typ in ("fulfillment.shipped", "fulfillment.delivered", "order.cancelled"):
            o = known_order(ev["order_id"], t)
            if o is None:
                stats["unmatched"] += 1
                continue
            if typ == "fulfillment.shipped":
                if o.shipped is not None:
                    stats["duplicate.semantic"] += 1
                    continue
                o.shipped, o.carrier = t, ev["carrier"]
            elif typ == "order.cancelled":
                if o.cancelled is not None:
                    stats["duplicate.semantic"] += 1
                    continue
                o.cancelled = t
            else:
                if o.delivered is not None:
                    stats["duplicate.semantic"] += 1
                    continue
                o.delivered = t
                dims = [("global", "all"), ("warehouse", o.warehouse), ("region", o.region),
                        ("channel", o.channel)]
                if o.carrier is not None:
                    dims.append(("carrier", o.carrier))
                dst("cycle_time", dims, t, t - o.placed)
                rat("on_time_rate", dims, t, 1 if t <= o.promised else 0, 1)
                units = sum(q for (_s, q, _p, _c) in o.lines)
                rat("defect_rate", [("global", "all")], t, 0, units)
                per_sku = {}
                for (s, q, _p, _c) in o.lines:
                    per_sku[s] = per_sku.get(s, 0) + q
                for s, q in per_sku.items():     # insertion order = first line order
                    rat("defect_rate", [("sku", s)], t, 0, q)
                rat("defect_rate", [("warehouse", o.warehouse)], t, 0, units)
                d3 = [("global", "all"), ("channel", o.channel), ("region", o.region)]
                rat("refund_rate", d3, t, 0, 1)
                rat("chargeback_rate", d3, t, 0, 1)
        elif typ in ("order.refunded", "order.chargeback"):
            kpi = "refund_rate" if typ == "order.refunded" else "chargeback_rate"
            o = known_order(ev["order_id"], t)
            if o is None:
                stats["unmatched"] += 1
                rat(kpi, [("global", "all")], t, 1, 0)
            else:
                rat(kpi, [("global", "all"), ("channel", o.channel), ("region", o.region)],
                    t, 1, 0)
        elif typ == "fulfillment.defect_reported":
            o = known_order(ev["order_id"], t)
            q = ev["quantity"]
            if o is None:
                stats["unmatched"] += 1
                rat("defect_rate", [("global", "all"), ("sku", ev["sku"])], t, q, 0)
            else:
                rat("defect_rate", [("global", "all"), ("sku", ev["sku"]),
                                    ("warehouse", o.warehouse)], t, q, 0)
        elif typ == "ticket.opened":
            if known_ticket(ev["ticket_id"], t) is not None:
                stats["duplicate.semantic"] += 1
                continue
            k = Ticket()
            k.tid = ev["ticket_id"]
            k.opened, k.expire = t, t + ttl
            k.category, k.priority = ev["category"], ev["priority"]
            k.fr = k.resolved = None
            k.qkeys = [("global", K("support_queue", "global", "all")),
                       ("category", K("support_queue", "category", k.category)),
                       ("priority", K("support_queue", "priority", k.priority))]
            tickets[k.tid] = k
            all_tickets.append(k)
        elif typ == "ticket.first_response":
            k = known_ticket(ev["ticket_id"], t)
            if k is None:
                stats["unmatched"] += 1
                continue
            if k.fr is not None:
                stats["duplicate.semantic"] += 1
                continue
            k.fr = t
            dst("first_response_time", [("global", "all"), ("category", k.category),
                                        ("priority", k.priority)], t, t - k.opened)
        elif typ == "ticket.resolved":
            k = known_ticket(ev["ticket_id"], t)
            if k is None:
                stats["unmatched"] += 1
                continue
            if k.resolved is not None:
                stats["duplicate.semantic"] += 1
                continue
            k.resolved = t
        else:
            raise AssertionError(typ)

    for o in all_orders:
        closes = [x for x in (o.shipped, o.delivered, o.cancelled) if x is not None]
        end = min(o.expire, min(closes) + 1) if closes else o.expire
        gauge[("fulfillment_backlog", "global", o.backlog_key_g)].add(o.placed, end)
        gauge[("fulfillment_backlog", "warehouse", o.backlog_key_w)].add(o.placed, end)
    for k in all_tickets:
        end = min(k.expire, k.resolved + 1) if k.resolved is not None else k.expire
        for scope, kk in k.qkeys:
            gauge[("support_queue", scope, kk)].add(k.opened, end)

    # ---- 4. ticks ----------------------------------------------------------
    t_min = min(e["t"] for e in accepted)
    final_wm = max_seen
    first_tick = (t_min // tick + 1) * tick
    last_tick = (final_wm // tick) * tick

    kpi_cache = {}      # per tick
    EMPTY_DIST = {"count": 0, "mean": None, "p50": None, "p90": None, "p95": None,
                  "p99": None}

    def kpi_at(kpi, scope, key, window, T):
        """-> (samples, values dict) for the window [T-window, T) (gauge: at T).

        Values are floats obtained by ONE correctly rounded division of exact totals
        (int / int true division is correctly rounded in Python; margins are Fractions);
        gauges and counts are ints."""
        ck = (kpi, scope, key, window, T)
        res = kpi_cache.get(ck)
        if res is not None:
            return res
        kind = KPIS[kpi][0]
        if kind == "gauge":
            g = gauge.get((kpi, scope, key))
            res = (None, {"value": g.at(T) if g else 0})
        elif kind == "ratio":
            s = ratio.get((kpi, scope, key))
            num, den = s.window(T - window, T) if s else (0, 0)
            if kpi == "order_rate":
                samples = num
                val = (num * 3600 * NS) / window if num else None
            else:
                samples = den
                if not den:
                    val = None
                elif isinstance(num, Fraction):
                    val = float(num / den)
                else:
                    val = num / den
            res = (samples, {"value": val})
        else:
            s = dist.get((kpi, scope, key))
            vals = sorted(s.window(T - window, T)) if s else []
            n = len(vals)
            if n == 0:
                res = (0, EMPTY_DIST)
            else:
                d = {"count": n, "mean": sum(vals) / (n * NS)}
                for p in (50, 90, 95, 99):
                    rank = -(-(p * n) // 100)
                    d["p%d" % p] = vals[rank - 1] / NS
                res = (n, d)
        kpi_cache[ck] = res
        return res

    def fnum(v):
        return v

    # (kpi, scope, window) combos that get records
    recs = []
    seen_combo = set()
    for r in rules:
        combo = (r["kpi"], r["scope"], r["window"] if r["kind"] != "gauge" else None)
        if combo not in seen_combo:
            seen_combo.add(combo)
            recs.append((combo, r["window_str"] if r["kind"] != "gauge" else None))

    breakers = {r["name"]: {} for r in rules}   # rule -> key -> {"state", "hist"}
    gate_state = {g["name"]: "open" for g in gates}
    out = []

    def cond(c, value, base):
        ck, x = c
        v = float(value)
        if ck == "above":
            return v > x
        if ck == "below":
            return v < x
        b = float(base)
        if ck == "above_baseline_by":
            return v > b * (1.0 + x)
        return v < b * (1.0 - x)

    fout = open(out_path, "w")
    n_written = [0]

    def flush():
        for rec in out:
            fout.write(json.dumps(rec, separators=(",", ":")) + "\n")
        n_written[0] += len(out)
        out.clear()

    T = first_tick
    while T <= last_tick:
        kpi_cache.clear()
        ts = fmt_ts(T)
        # kpi records
        for (kpi, scope, window), wstr in recs:
            kind = KPIS[kpi][0]
            for key in keys.get((kpi, scope), []):
                samples, vals = kpi_at(kpi, scope, key, window, T)
                if kind == "gauge":
                    if vals["value"] > 0:
                        out.append({"kind": "kpi", "tick": ts, "kpi": kpi, "scope": scope,
                                    "key": key, "value": vals["value"]})
                    continue
                if samples > 0:
                    rec = {"kind": "kpi", "tick": ts, "kpi": kpi, "scope": scope, "key": key,
                           "window": wstr, "samples": samples}
                    for k2, v2 in vals.items():
                        rec[k2] = fnum(v2)
                    out.append(rec)
        # rules
        for r in rules:
            br = breakers[r["name"]]
            kind = r["kind"]
            for key in keys.get((r["kpi"], r["scope"]), []):
                samples, vals = kpi_at(r["kpi"], r["scope"], key, r["window"], T)
                value = vals[r["stat"]]
                if key not in br:
                    has = (vals["value"] > 0) if kind == "gauge" else (samples > 0)
                    if not has:
                        continue
                    br[key] = {"state": "green", "hist": []}
                b = br[key]
                # observed band
                band = None
                if value is None:
                    band = "insufficient"
                elif kind != "gauge" and samples < r["min_samples"]:
                    band = "insufficient"
                base = None
                if band is None and r["uses_baseline"]:
                    bw, off = r["baseline"]
                    if kind == "gauge":
                        base = kpi_at(r["kpi"], r["scope"], key, None, T - off)[1]["value"]
                    else:
                        bs, bv = kpi_at(r["kpi"], r["scope"], key, bw, T - off)
                        base = bv[r["stat"]]
                        if bs < r["min_samples"] or base is None:
                            band = "insufficient"
                if band is None:
                    band = "green"
                    if "red" in r["bands"] and cond(r["bands"]["red"], value, base):
                        band = "red"
                    elif "yellow" in r["bands"] and cond(r["bands"]["yellow"], value, base):
                        band = "yellow"
                b["hist"].append(band)
                hist = b["hist"]
                state = b["state"]
                new = state
                n, m = r["n"], r["m"]
                # escalate: worst b worse than state with last n+1 all b-or-worse
                if len(hist) >= n + 1:
                    last = hist[-(n + 1):]
                    if "insufficient" not in last:
                        w = min(BAND_RANK[x] for x in last)   # all are >= w
                        if w > BAND_RANK[state]:
                            new = ["green", "yellow", "red"][w]
                if new == state and len(hist) >= m + 1:
                    last = hist[-(m + 1):]
                    if "insufficient" not in last:
                        bst = max(BAND_RANK[x] for x in last)  # all are <= bst
                        if bst < BAND_RANK[state]:
                            new = ["green", "yellow", "red"][bst]
                if new != state:
                    out.append({"kind": "transition", "tick": ts, "rule": r["name"],
                                "scope": r["scope"], "key": key, "from": state, "to": new,
                                "value": fnum(value),
                                "samples": None if kind == "gauge" else samples})
                    b["state"] = new
        # gates
        for g in gates:
            states = []
            for rn in g["rules"]:
                b = breakers[rn].get("all")
                states.append(b["state"] if b else "green")
            ok = (sum(1 for s in states if s == "green") >= g["min_green"]
                  and all(BAND_RANK[s] <= BAND_RANK[g["worst"]] for s in states))
            new = "open" if ok else "closed"
            if new != gate_state[g["name"]]:
                out.append({"kind": "gate", "tick": ts, "gate": g["name"],
                            "from": gate_state[g["name"]], "to": new})
                gate_state[g["name"]] = new
        flush()
        T += tick
    fout.close()
    stats["ticks"] = max(0, (last_tick - first_tick) // tick + 1)
    _write_stats(stats_path, stats)


def _write_stats(path, stats):
    if path:
        with open(path, "w") as f:
            json.dump(dict(sorted(stats.items())), f, indent=1)
            f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--stats", help="also write ingest counters (JSON) here")
    a = ap.parse_args()
    try:
        run(a.events, a.config, a.out, a.stats)
    except ConfigError as e:
        print("config error: %s" % e, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
