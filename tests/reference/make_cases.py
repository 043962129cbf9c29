#!/usr/bin/env python3
"""Writes the hand-made micro scenarios under cases/ (each: events.jsonl + config.toml).

usage: python3 make_cases.py

Each case pins one contract sentence (quoted in the case's config.toml).  Cases whose
name starts with `ambig_` exercise readings the contract leaves open; run.sh runs them
but reports their differences as warnings only.
"""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")
D = "2025-01-01T"


def t(hms):
    return D + hms + ("" if hms.endswith("Z") or "+" in hms else "Z")


def ev(eid, typ, at, **f):
    d = {"event_id": eid, "type": typ, "occurred_at": t(at)}
    d.update(f)
    return json.dumps(d, separators=(",", ":"))


def placed(eid, oid, at, ch="web", rg="r1", wh="W1", promised="10:30:00",
           lines=(("A", 1, 10, 4),)):
    return ev(eid, "order.placed", at, order_id=oid, channel=ch, region=rg, warehouse=wh,
              promised_by=t(promised),
              lines=[{"sku": s, "quantity": q, "unit_price": p, "unit_cost": c}
                     for (s, q, p, c) in lines])


def shipped(eid, oid, at, carrier="C1"):
    return ev(eid, "fulfillment.shipped", at, order_id=oid, carrier=carrier)


def delivered(eid, oid, at):
    return ev(eid, "fulfillment.delivered", at, order_id=oid)


def refund(eid, oid, at, amount=1):
    return ev(eid, "order.refunded", at, order_id=oid, amount=amount)


def defect(eid, oid, at, sku="A", q=1):
    return ev(eid, "fulfillment.defect_reported", at, order_id=oid, sku=sku, quantity=q,
              reason="damaged")


def opened(eid, tid, at, cat="billing", prio="low"):
    return ev(eid, "ticket.opened", at, ticket_id=tid, category=cat, priority=prio)


def tkt(eid, typ, tid, at):
    return ev(eid, "ticket." + typ, at, ticket_id=tid)


def tail(eid, at):
    """An unrelated event that only moves the watermark."""
    return ev(eid, "ticket.resolved", at, ticket_id="NOPE")


CASES = {}


def case(name, config, lines):
    CASES[name] = (config.strip() + "\n", [l if isinstance(l, bytes) else l.encode()
                                           for l in (lines or [])])


# ---------------------------------------------------------------------------------------
case("watermark_sources", '''
# "Every accepted event moves the watermark, including semantic duplicates and unmatched
#  events; repeated ids and late events do not."  A rejected event changes nothing.
# e2 repeats e1's id with a later time, bad1 is rejected with a later time, e4 is late:
# none of them may move the watermark, so e5 (10:05) is not late and is counted.
# e7 is an unmatched event at 10:12: it does move the watermark, so e8 (10:09:59) is late.
# e11, a second placed for O1 (semantic duplicate) at 10:20, moves it to 10:18: e12 is
# late, e13 (exactly at the watermark) is not.
[[rule]]
name = "orders"
kpi = "order_rate"
window = "20m"
yellow = { below = 1 }
''', [
    placed("e1", "O1", "10:00:00"),
    refund("e1", "O1", "10:30:00"),
    '{"event_id":"bad1","type":"order.refunded","occurred_at":"2025-01-01T10:40:00Z","order_id":"O1","amount":-1}',
    placed("e4", "O4", "09:00:00"),
    placed("e5", "O5", "10:05:00"),
    refund("e7", "UNKNOWN", "10:12:00"),
    placed("e8", "O8", "10:09:59"),
    placed("e9", "O9", "10:10:00"),
    placed("e11", "O1", "10:20:00"),
    placed("e12", "O12", "10:17:59.999"),
    placed("e13", "O13", "10:18:00"),
    tail("e10", "10:25:00"),
])

case("ttl_boundaries", '''
# "an order (or ticket, which also uses order_ttl) is known while placed <= t < placed +
#  order_ttl; after that a new order.placed for the same id starts a new order."
# O1 placed 10:00:00, ttl 10m: delivered at 10:10:00 is unmatched; O3's delivery at
# 10:10:59.999999999 (placed 10:01) is matched.  O1 re-placed at 10:10:00 is a new order
# (not a duplicate) and its shipped at 10:10:00 (arriving after) matches it.  T1's
# first_response at 10:10:00 is unmatched.  Gauges at 10:10: O2 (placed 10:00:00) and T1
# are no longer counted ("An order or ticket stops counting once it is forgotten").
[pipeline]
order_ttl = "10m"

[[rule]]
name = "backlog"
kpi = "fulfillment_backlog"
yellow = { above = 0 }

[[rule]]
name = "backlog-wh"
kpi = "fulfillment_backlog"
scope = "warehouse"
yellow = { above = 1 }

[[rule]]
name = "queue"
kpi = "support_queue"
yellow = { above = 0 }

[[rule]]
name = "cyc"
kpi = "cycle_time"
stat = "count"
window = "5m"
yellow = { above = 0 }

[[rule]]
name = "frt"
kpi = "first_response_time"
stat = "count"
window = "15m"
yellow = { above = 0 }
''', [
    placed("e1", "O1", "10:00:00"),
    placed("e2", "O2", "10:00:00", wh="W2"),
    opened("e3", "T1", "10:00:00"),
    placed("e4", "O3", "10:01:00"),
    delivered("e5", "O1", "10:10:00"),
    placed("e6", "O1", "10:10:00", wh="W3"),
    shipped("e7", "O1", "10:10:00"),
    delivered("e8", "O3", "10:10:59.999999999"),
    tkt("e9", "first_response", "T1", "10:10:00"),
    placed("e10", "O4", "10:11:00", wh="W3"),
    tail("e11", "10:25:00"),
])

case("event_time_order", '''
# "accepted events take effect in occurred_at order (ties in arrival order) ... of two
#  order.placed for one order the earlier in event time is the order; a delivery's carrier
#  is that of the first shipped before it in event time."
# O1: the app placement (10:00:10) arrives after the web one (10:00:30) but is earlier in
# event time, so O1 is an app order.  O2: shipped and delivered share 10:03:00 and the
# shipped arrives first, so the delivery has carrier C2.  O3: same, but the shipped arrives
# after the delivery: no carrier.  The refund for O4 is timed before O4's placed: unmatched,
# global only.  O5 is placed and delivered at the same instant (cycle time 0).
[[rule]]
name = "margin-ch"
kpi = "contribution_margin"
scope = "channel"
window = "10m"
yellow = { below = 0 }

[[rule]]
name = "ontime-carrier"
kpi = "on_time_rate"
scope = "carrier"
window = "10m"
yellow = { below = 0.5 }

[[rule]]
name = "cyc-channel"
kpi = "cycle_time"
stat = "mean"
scope = "channel"
window = "10m"
yellow = { above = 100 }

[[rule]]
name = "refund-region"
kpi = "refund_rate"
scope = "region"
window = "10m"
yellow = { above = 0.5 }

[[rule]]
name = "refund-global"
kpi = "refund_rate"
window = "10m"
yellow = { above = 0.5 }
''', [
    placed("e1", "O1", "10:00:30", ch="web", lines=(("A", 1, 10, 1),)),
    placed("e2", "O1", "10:00:10", ch="app", lines=(("A", 1, 10, 5),)),
    placed("e3", "O2", "10:00:20", ch="web"),
    placed("e4", "O3", "10:00:40", ch="web"),
    shipped("e5", "O2", "10:03:00", carrier="C2"),
    delivered("e6", "O2", "10:03:00"),
    delivered("e7", "O3", "10:03:00"),
    shipped("e8", "O3", "10:03:00", carrier="C3"),
    delivered("e9", "O1", "10:03:30"),
    refund("e10", "O4", "10:04:00"),
    placed("e11", "O4", "10:04:10", rg="r9"),
    delivered("e12", "O4", "10:05:00"),
    placed("e13", "O5", "10:05:30", ch="store"),
    delivered("e14", "O5", "10:05:30"),
    tail("e15", "10:15:00"),
])

case("tick_boundaries", '''
# "A window of length W ending at tick T holds the events with T - W <= occurred_at < T";
# "the first tick is the first tick strictly after the smallest accepted occurred_at; the
#  last is the largest tick <= the final watermark"; on time means delivered <= promised_by;
# "a gauge at T reflects exactly the events with occurred_at < T".
[[rule]]
name = "orders"
kpi = "order_rate"
window = "2m"
yellow = { below = 1 }

[[rule]]
name = "ontime"
kpi = "on_time_rate"
window = "2m"
yellow = { below = 1 }

[[rule]]
name = "backlog"
kpi = "fulfillment_backlog"
yellow = { above = 1 }
''', [
    placed("e1", "O1", "10:00:00", promised="10:02:00"),
    placed("e2", "O2", "10:01:00", promised="10:02:00+00:00"),
    delivered("e3", "O1", "10:02:00"),
    delivered("e4", "O2", "10:02:00.000000001"),
    placed("e5", "O3", "10:02:59.999999999"),
    shipped("e6", "O3", "10:04:00"),
    placed("e7", "O6", "11:05:00+01:00"),
])

case("max_keys_order", '''
# "max_keys admits keys per (KPI, scope) in order of first contribution in event time;
#  an admitted key stays; later keys fold into __other__."
# W3's order arrives first but is latest in event time; W1 and W2 are admitted, W3 folds.
# For sku: the defect for unknown order sku Z (10:00:05) is the first contribution; the
# delivered order's lines [S9, S1] come next (S9 admitted, S1 folded).
[pipeline]
max_keys = 2

[[rule]]
name = "backlog-wh"
kpi = "fulfillment_backlog"
scope = "warehouse"
yellow = { above = 5 }

[[rule]]
name = "orders-region"
kpi = "order_rate"
scope = "region"
window = "10m"
yellow = { below = 1 }

[[rule]]
name = "defect-sku"
kpi = "defect_rate"
scope = "sku"
window = "10m"
yellow = { above = 0.5 }
''', [
    placed("e1", "O3", "10:00:50", wh="W3", rg="r3"),
    placed("e2", "O1", "10:00:10", wh="W1", rg="r1", lines=(("S9", 1, 5, 1), ("S1", 2, 5, 1))),
    defect("e3", "UNKNOWN", "10:00:05", sku="Z", q=1),
    placed("e4", "O2", "10:00:20", wh="W2", rg="r2"),
    placed("e5", "O4", "10:00:20", wh="W4", rg="r4"),
    delivered("e6", "O1", "10:01:10"),
    defect("e7", "O1", "10:02:00", sku="S1", q=1),
    placed("e8", "O5", "10:03:00", wh="W1", rg="r5"),
    tail("e9", "10:09:00"),
])

case("json_edges", '''
# Decoding edges the contract settles, seen through order_rate (one placed per line;
# comments in make_cases.py say which must be accepted).
[[rule]]
name = "orders"
kpi = "order_rate"
window = "1h"
yellow = { below = 1 }

[[rule]]
name = "orders-ch"
kpi = "order_rate"
scope = "channel"
window = "1h"
yellow = { below = 1 }
''', None)  # filled below

case("money_cancel", '''
# "money may be held as decimal or as double (results agree within the tolerances)".
# Three orders whose margins are 0.1, 0.2 and -0.3: the exact mean is 0 and `below = 0`
# must not hold; a double sum gives 5.55e-17 (or -5.55e-17 in another order).
[[rule]]
name = "margin"
kpi = "contribution_margin"
window = "5m"
red = { below = 0 }
yellow = { above = 0 }
''', [
    placed("e1", "O1", "10:00:10", lines=(("A", 1, 0.3, 0.2),)),
    placed("e2", "O2", "10:00:20", lines=(("A", 1, 0.7, 0.5),)),
    placed("e3", "O3", "10:00:30", lines=(("A", 1, 0.1, 0.4),)),
    tail("e4", "10:03:00"),
])

case("money_precision", '''
# "Money is a JSON number, finite, 0 to 1e9"; "money may be held as decimal or as double
# (results agree within the tolerances)".  Amounts with more than 9 decimals, multiplied
# by large quantities: exact margins 4e-10, 0.0015 and 2.7e-9. (tripgate holds money in
# pico-units, so an amount like 1e-300 reads as 0: see ambig_money_subpico.)
[[rule]]
name = "margin"
kpi = "contribution_margin"
scope = "channel"
window = "5m"
yellow = { below = 0.000000001 }
''', [
    placed("e1", "O1", "10:00:10", ch="a", lines=(("A", 1, "X1", 0),)).replace('"X1"', '0.0000000004'),
    placed("e2", "O2", "10:00:20", ch="b", lines=(("A", 1000000, "X2", 0),)).replace('"X2"', '0.0000000015'),
    placed("e3", "O3", "10:00:30", ch="c", lines=(("A", 3, "X3", "Y3"),)).replace('"X3"', '0.1234567894').replace('"Y3"', '0.1234567885'),
    tail("e5", "10:05:00"),
])

case("ambig_money_subpico", '''
# Money below 1e-12: a double keeps 1e-300, tripgate's pico-unit decimal reads 0.
[[rule]]
name = "margin"
kpi = "contribution_margin"
scope = "channel"
window = "5m"
yellow = { below = 0.000000001 }
''', [
    placed("e4", "O4", "10:00:40", ch="d", lines=(("A", 1, "X4", 0),)).replace('"X4"', '1e-300'),
    tail("e5", "10:05:00"),
])

case("gap", '''
# "Ticks are evaluated from the first tick after the first event, every tick, to the last
# closed tick": a 3-hour gap without events (windows empty -> insufficient; gauges keep
# their value; the 1h order_ttl forgets the open orders and tickets during the gap).
[pipeline]
tick = "5m"
order_ttl = "1h"

[[rule]]
name = "backlog"
kpi = "fulfillment_backlog"
yellow = { above = 1 }
recover_for = "10m"

[[rule]]
name = "queue"
kpi = "support_queue"
scope = "priority"
yellow = { above = 0 }

[[rule]]
name = "ontime"
kpi = "on_time_rate"
window = "15m"
yellow = { below = 1 }
recover_for = "10m"

[[gate]]
name = "g"
rules = ["backlog", "ontime"]
worst = "green"
''', [
    placed("e1", "O1", "10:00:10", promised="10:01:00"),
    placed("e2", "O2", "10:00:20"),
    placed("e3", "O3", "10:00:30"),
    opened("e4", "T1", "10:01:00", prio="high"),
    delivered("e5", "O1", "10:02:00"),
    placed("e6", "O6", "13:00:00"),
    delivered("e7", "O2", "13:01:00"),
    delivered("e8", "O6", "13:02:00"),
    tail("e9", "13:20:00"),
])

case("gates_first_tick", '''
# "a member rule whose all breaker does not exist yet counts as green; if the condition
#  fails at the first tick, an open->closed record is written at that tick; min_green
#  defaults to the number of rules and worst to red."
[[rule]]
name = "orders"
kpi = "order_rate"
window = "5m"
yellow = { below = 100 }
red = { below = 70 }

[[rule]]
name = "never"
kpi = "chargeback_rate"
window = "5m"
red = { above = 0 }

[[gate]]
name = "both-green"
rules = ["orders", "never"]
min_green = 2
worst = "green"

[[gate]]
name = "default"
rules = ["orders", "never"]

[[gate]]
name = "green-only"
rules = ["never"]
worst = "green"
min_green = 0

[[gate]]
name = "red-ok"
rules = ["orders"]
min_green = 0
''', [
    placed("e1", "O1", "10:00:10"),
    placed("e2", "O2", "10:01:10"),
    placed("e3", "O3", "10:01:20"),
    placed("e4", "O4", "10:02:20"),
    tail("e5", "10:06:00"),
])

case("gauge_rule_options", '''
# "A gauge ... has no window and no samples, and min_samples does not apply to it";
# `window` is "ignored for gauges".  A gauge baseline "is the gauge at T - offset and is
# never insufficient" (0 before anything happened).
[[rule]]
name = "backlog"
kpi = "fulfillment_backlog"
window = "90s"
min_samples = 1000
yellow = { above = 1 }

[[rule]]
name = "backlog-base"
kpi = "fulfillment_backlog"
min_samples = 1000
yellow = { above_baseline_by = 0.5 }
red = { above_baseline_by = 2 }
baseline = { offset = "3m" }

[[rule]]
name = "queue-base"
kpi = "support_queue"
scope = "priority"
yellow = { below_baseline_by = 0.5 }
baseline = { window = "7d", offset = "2m" }
''', [
    placed("e1", "O1", "10:00:10"),
    placed("e2", "O2", "10:01:10"),
    placed("e3", "O3", "10:03:20"),
    opened("e4", "T1", "10:00:30", prio="high"),
    opened("e5", "T2", "10:00:40", prio="high"),
    tkt("e6", "resolved", "T1", "10:02:30"),
    tkt("e7", "resolved", "T2", "10:04:30"),
    shipped("e8", "O1", "10:05:00"),
    tail("e9", "10:09:00"),
])

case("breaker_runs", '''
# for / recover_for runs, insufficient ticks breaking runs, ticks before the breaker exists
# belonging to no run, direct green->red and red->green moves.
[[rule]]
name = "orders"
kpi = "order_rate"
window = "1m"
min_samples = 2
yellow = { below = 150 }
red = { below = 110 }
for = "2m"
recover_for = "1m"

[[rule]]
name = "orders-fast"
kpi = "order_rate"
window = "1m"
yellow = { below = 150 }
red = { below = 110 }
''', [l for i, n in enumerate([1, 0, 3, 2, 1, 1, 1, 2, 3, 3, 3, 0, 1, 1, 1, 2, 2, 3, 3, 1, 1, 1])
      for l in [placed("e%d_%d" % (i, k), "O%d_%d" % (i, k), "10:%02d:%02d" % (i, 5 + 10 * k))
                for k in range(n)]] + [tail("end", "10:23:00")])


case("json_depth", '''
# Valid JSON nested deeper than 128 levels inside an unknown field.  Section 1: "Unknown
# fields are ignored"; nothing in the contract limits nesting, so both events are valid.
[[rule]]
name = "orders"
kpi = "order_rate"
window = "1h"
yellow = { below = 1 }
''', [
    placed("e1", "O1", "10:01:00")[:-1] + ',"deep":' + "[" * 200 + "]" * 200 + "}",
    placed("e2", "O2", "10:02:00")[:-1] + ',"meta":' + '{"a":' * 150 + "1" + "}" * 150 + "}",
    tail("e3", "10:09:00"),
])

case("watermark_exact", '''
# "An event exactly at the watermark is not late; tick T closes when the watermark is >= T."
# After e2 (10:03) tick 10:01 is closed; e3 at exactly 10:01:00 is still accepted and
# belongs to the windows ending 10:02 on (and to the backlog from 10:02 on).
[[rule]]
name = "orders"
kpi = "order_rate"
window = "1m"
yellow = { below = 100 }

[[rule]]
name = "backlog"
kpi = "fulfillment_backlog"
yellow = { above = 1 }
''', [
    placed("e1", "O1", "10:00:00"),
    placed("e2", "O2", "10:03:00"),
    placed("e3", "O3", "10:01:00"),
    shipped("e4", "O1", "10:01:00"),
    placed("e5", "O5", "10:00:59.999999999"),
    tail("e6", "10:06:00"),
])

case("month_boundary", '''
# Ticks across a leap day and a month end, offsets that change the date.
[pipeline]
tick = "30m"
allowed_lateness = "1h"

[[rule]]
name = "orders"
kpi = "order_rate"
scope = "region"
window = "1h"
yellow = { below = 2 }

[[rule]]
name = "cyc"
kpi = "cycle_time"
stat = "p50"
window = "2h"
yellow = { above = 3600 }
''', [
    placed("e1", "O1", "10:00:00").replace("2025-01-01T10:00:00Z", "2024-02-28T22:40:00Z"),
    placed("e2", "O2", "10:00:00").replace("2025-01-01T10:00:00Z", "2024-02-29T00:10:00+01:00"),
    placed("e3", "O3", "10:00:00", rg="r2").replace("2025-01-01T10:00:00Z", "2024-02-28T19:20:00-05:00"),
    delivered("e4", "O1", "10:00:00").replace("2025-01-01T10:00:00Z", "2024-02-29T01:10:00+01:00"),
    delivered("e5", "O3", "10:00:00").replace("2025-01-01T10:00:00Z", "2024-02-29T02:00:00+02:00"),
    placed("e6", "O6", "10:00:00").replace("2025-01-01T10:00:00Z", "2024-02-29T23:50:00Z"),
    placed("e7", "O7", "10:00:00").replace("2025-01-01T10:00:00Z", "2024-03-01T00:20:00Z"),
    delivered("e8", "O6", "10:00:00").replace("2025-01-01T10:00:00Z", "2024-02-29T19:30:00-05:00"),
    tail("e9", "10:00:00").replace("2025-01-01T10:00:00Z", "2024-03-01T02:00:00Z"),
])


def json_edges():
    out = []
    n = [0]

    def P(line_fmt=None, ok=True, **kw):
        # a placed event per line; channel = "ok" / "bad" tells what we expect
        n[0] += 1
        i = n[0]
        d = {"event_id": "j%d" % i, "type": "order.placed",
             "occurred_at": "2025-01-01T10:%02d:00Z" % (i % 50 + 1),
             "order_id": "J%d" % i, "channel": "ok" if ok else "bad", "region": "r1",
             "warehouse": "W1", "promised_by": "2025-01-01T11:00:00Z",
             "lines": [{"sku": "A", "quantity": 1, "unit_price": 10, "unit_cost": 4}]}
        d.update(kw)
        s = json.dumps(d, separators=(",", ":"))
        if line_fmt:
            s = line_fmt(s)
        out.append(s.encode() if isinstance(s, str) else s)

    # accepted
    P(lambda s: s.replace('"order_id":"J1"', '"order_id":"J\\u0031x"'))        # escaped id
    P(lambda s: s + "\r")                                                      # CRLF
    P(lambda s: " \t" + s + "  ")                                              # whitespace
    P(lambda s: s[:-1] + ',"deep":' + "[" * 100 + "]" * 100 + "}")              # depth 100
    P(lambda s: s.replace('"unit_price":10', '"unit_price":1E1'))               # 1E1 money
    P(lambda s: s.replace('"unit_cost":4', '"unit_cost":-0'))                   # -0 money
    P(lambda s: s.replace('"unit_cost":4', '"unit_cost":-0.0'))                 # -0.0 money
    P(lambda s: s.replace('"unit_cost":4', '"unit_cost":4.000000000000000000001'))
    P(lambda s: s[:-1] + ',"x":"\\ud83d\\ude00\\u0000\\"\\/"}')                  # escapes
    P(lambda s: s.replace('"quantity":1', '"quantity":1000000'))
    P(lambda s: s.replace('10:', '10:', 1).replace('Z","order_id', '+00:00","order_id'))
    P(lambda s: s.replace(':00Z","order_id', ':00.5-00:01","order_id'))
    P(lambda s: s.replace(':00Z","order_id', ':00.000000001+00:01","order_id'))
    P(lambda s: s[:-1] + ',"lines2":' + "[" + ",".join(['{"q":1}'] * 10) + "]}")
    # rejected
    P(lambda s: s.replace('"quantity":1', '"quantity":1E0'), ok=False)
    P(lambda s: s.replace('"quantity":1', '"quantity":1.0'), ok=False)
    P(lambda s: s.replace('"quantity":1', '"quantity":100000000000000000000000'), ok=False)
    P(lambda s: s.replace('"unit_cost":4', '"unit_cost":1000000000.0000001'), ok=False)
    P(lambda s: s.replace('"unit_cost":4', '"unit_cost":-1e-300'), ok=False)
    P(lambda s: s.replace(':00Z","order_id', ':00+0100","order_id'), ok=False)
    P(lambda s: s.replace(':00Z","order_id', ':00.Z","order_id'), ok=False)
    P(lambda s: s.replace(':00Z","order_id', ':00+01","order_id'), ok=False)
    P(lambda s: s.replace(':00Z","order_id', ':00 Z","order_id'), ok=False)
    P(lambda s: s.replace("2025-01-01T10", "2025-1-01T10", 1), ok=False)
    P(lambda s: s.replace("2025-01-01T10", "2025-01-01T1", 1), ok=False)
    P(lambda s: s.replace('"lines":[', '"lines":[{"sku":"A","quantity":1,"unit_price":1,"unit_cost":1,"unit_cost":1},'), ok=False)
    P(lambda s: s.replace('"channel":"bad"', '"channel":"b\tad"'), ok=False)     # raw TAB
    P(lambda s: s.replace('"channel":"bad"', '"channel":"ba\\u0064 "'), ok=False)
    P(lambda s: s.replace('"channel":"bad"', '"channel":"' + "b" * 129 + '"'), ok=False)
    P(lambda s: s.replace('"channel":"bad"', '"channel":"bad","extra":"\\ud800x"'), ok=False)
    P(lambda s: s.replace('"channel":"bad"', '"channel":"bad","extra":"\\uDFFF"'), ok=False)
    P(lambda s: s.replace('"channel":"bad"', '"channel":"bad","extra":"\\x41"'), ok=False)
    P(lambda s: s.replace('"channel":"bad"', '"channel":"bad","extra":tru'), ok=False)
    P(lambda s: s.replace('"type":"order.placed"', '"type":"order.placed\\u0000"'), ok=False)
    P(lambda s: s.replace('"type":"order.placed"', '"type":["order.placed"]'), ok=False)
    P(lambda s: s.replace('"promised_by":"2025-01-01T11:00:00Z"', '"promised_by":null'), ok=False)
    P(lambda s: s.replace('"lines":[{', '"lines":[null,{'), ok=False)
    P(lambda s: s.replace('"warehouse":"W1"', '"warehouse":"W1","warehouse":"W1"'), ok=False)
    P(lambda s: "\ufeff" + s, ok=False)
    P(lambda s: (s + "x" * 0), ok=False, pad="y" * 65536)                      # too_large
    # exactly max_event_bytes bytes is accepted, one more is not
    base = json.dumps({"event_id": "size1", "type": "order.placed",
                       "occurred_at": "2025-01-01T10:30:00Z", "order_id": "SZ1",
                       "channel": "ok", "region": "r1", "warehouse": "W1",
                       "promised_by": "2025-01-01T11:00:00Z",
                       "lines": [{"sku": "A", "quantity": 1, "unit_price": 10,
                                  "unit_cost": 4}], "pad": ""}, separators=(",", ":"))
    out.append(base.replace('"pad":""', '"pad":"' + "p" * (65536 - len(base)) + '"').encode())
    b2 = base.replace("size1", "size2").replace("SZ1", "SZ2").replace('"ok"', '"bad"')
    out.append(b2.replace('"pad":""', '"pad":"' + "p" * (65537 - len(b2)) + '"').encode())
    out.append(tail("end", "10:59:00").encode())
    return out


CASES["json_edges"] = (CASES["json_edges"][0], json_edges())

# ---------------------------------------------------------------------------------------
# readings the contract leaves open
case("ambig_late_id", '''
# Is the event_id of a *late* event remembered?  ("A repeated event_id is checked before
# lateness" suggests yes; the contract does not say.)  e3 is late; a second e3 (other
# content, not late) follows.  Reference: remembered, so the second e3 is a duplicate.
[[rule]]
name = "orders"
kpi = "order_rate"
window = "20m"
yellow = { below = 1 }
''', [
    placed("e1", "O1", "10:05:00"),
    placed("e3", "O3", "10:00:00"),
    placed("e3", "O4", "10:06:00"),
    tail("e9", "10:20:00"),
])

case("ambig_timestamps", '''
# RFC 3339 allows lowercase t/z; more than 9 fractional digits have no nanosecond
# representation; an optional field may be null; RFC 3339 section 5.6 allows a space only
# "for readability" (not in the grammar).  Reference: lowercase accepted, >9 digits
# accepted (truncated), ticket order_id null = absent, space separator rejected.
[[rule]]
name = "orders"
kpi = "order_rate"
scope = "channel"
window = "1h"
yellow = { below = 1 }

[[rule]]
name = "queue"
kpi = "support_queue"
scope = "category"
yellow = { above = 0 }
''', [
    placed("a1", "A1", "10:01:00", ch="lower").replace("2025-01-01T10:01:00Z", "2025-01-01t10:01:00z"),
    placed("a3", "A3", "10:03:00", ch="frac10").replace("10:03:00Z", "10:03:00.1234567891Z"),
    placed("a4", "A4", "10:04:00", ch="space").replace("2025-01-01T10:04:00Z", "2025-01-01 10:04:00Z"),
    ev("a5", "ticket.opened", "10:05:00", ticket_id="T5", category="nullorder", priority="low",
       order_id=None),
    ev("a6", "ticket.opened", "10:06:00", ticket_id="T6", category="intorder", priority="low",
       order_id=7),
    tail("end", "10:59:00"),
])

case("ambig_defaults", '''
# A distribution rule without `stat` ("stat defaults to value", which is not a
# distribution stat): the reference rejects the config.  This case only records what
# tripgate does.
[[rule]]
name = "cyc"
kpi = "cycle_time"
window = "5m"
yellow = { above = 1 }
''', [placed("e1", "O1", "10:00:00"), delivered("e2", "O1", "10:01:00"), tail("e3", "10:09:00")])

case("ambig_baseline_offset", '''
# A baseline offset that is not a multiple of tick (the contract requires multiples only
# for window, for and recover_for).  Reference: allowed; the baseline window ends at
# T - 90s.
[[rule]]
name = "orders-base"
kpi = "order_rate"
window = "2m"
yellow = { below_baseline_by = 0.3 }
baseline = { offset = "90s" }
''', [placed("e%d" % i, "O%d" % i, "10:%02d:%02d" % (i // 2, 15 + 30 * (i % 2)))
      for i in range(16) if i % 5] + [tail("end", "10:12:00")])

case("ambig_dedup_horizon", '''
# "ids are remembered for at least dedup_horizon": an id repeated after more than the
# horizon (event time) may or may not be a duplicate.  Reference: remembered forever, so
# the second e1 (a placed for O2, 2h later) is a duplicate.
[pipeline]
dedup_horizon = "1h"

[[rule]]
name = "orders"
kpi = "order_rate"
window = "3h"
yellow = { below = 1 }
''', [placed("e1", "O1", "10:00:00")] + [tail("t%d" % i, "%02d:%02d:00" % (10 + i // 4, 15 * (i % 4)))
                                          for i in range(1, 9)]
       + [placed("e1", "O2", "12:00:30"), tail("end", "12:10:00")])

case("ambig_leap_second", '''
# "10:07:60Z" / "23:59:60Z": RFC 3339 allows second 60 only for a real leap second (none
# on these dates).  Reference: invalid_field.
[[rule]]
name = "orders"
kpi = "order_rate"
window = "1m"
yellow = { below = 1 }
''', [placed("a", "A", "10:07:00").replace("10:07:00Z", "10:07:60Z"),
      placed("b", "B", "10:07:30"), tail("c", "10:12:00")])

case("ambig_other_key_slot", '''
# Does __other__ take one of the max_keys slots?  Reference: no (max_keys real keys plus
# __other__).
[pipeline]
max_keys = 1

[[rule]]
name = "orders-ch"
kpi = "order_rate"
scope = "channel"
window = "5m"
yellow = { below = 1 }
''', [placed("e1", "O1", "10:00:10", ch="a"), placed("e2", "O2", "10:00:20", ch="b"),
      placed("e3", "O3", "10:00:30", ch="c"), tail("e4", "10:04:00")])


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for name, (cfg, lines) in CASES.items():
        d = os.path.join(OUT, name)
        os.makedirs(d)
        with open(os.path.join(d, "config.toml"), "w") as f:
            f.write(cfg)
        with open(os.path.join(d, "events.jsonl"), "wb") as f:
            for l in lines:
                f.write(l + b"\n")
    print("wrote %d cases under %s" % (len(CASES), OUT))


if __name__ == "__main__":
    main()
