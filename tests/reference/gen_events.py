#!/usr/bin/env python3
"""Seeded, adversarial event-log generator for the tripgate reference tests.

usage: python3 gen_events.py --seed S [--orders N] [--hours H] [--out FILE] [--edge]

Produces JSON Lines in *arrival* order over a few hours: ties in occurred_at, events on
exact tick boundaries, out-of-order arrivals within and beyond the default 2m lateness
(including exactly at the watermark), id duplicates (byte-identical and different
content), broken copies arriving before the good one, semantic duplicates, unmatched
events, events before their order's placed, re-placed orders (after a small order_ttl),
cancelled-then-delivered, delivered without shipped, shipped after delivered, tickets,
refunds/chargebacks/defects for unknown orders, malformed lines of every rejection
reason, +hh:mm offsets and fractional seconds.

--edge adds inputs whose handling the contract leaves open (lowercase 't'/'z',
more than 9 fractional digits, ticket order_id null, ...); they are kept out of the
default logs so that run.sh compares only what the contract settles.
"""
import argparse
import json
import random

NS = 10**9
MIN = 60 * NS
START = 1740816000 * NS   # 2025-03-01T08:00:00Z


class Raw:
    """A JSON number (or any token) emitted verbatim."""

    def __init__(self, s):
        self.s = s


def enc(v):
    if isinstance(v, Raw):
        return v.s
    if isinstance(v, dict):
        return "{" + ",".join(enc(k) + ":" + enc(x) for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(enc(x) for x in v) + "]"
    return json.dumps(v)


def civil(days):
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def ts(t, rng, plain=False):
    """RFC 3339 text of t (ns), with a random offset and fraction style."""
    off_min = 0
    if not plain:
        r = rng.random()
        if r < 0.12:
            off_min = rng.choice([60, 120, -300, 330, -210, 545, -720, 840])
    local = t + off_min * MIN
    secs, frac = divmod(local, NS)
    days, rem = divmod(secs, 86400)
    y, mo, d = civil(days)
    s = "%04d-%02d-%02dT%02d:%02d:%02d" % (y, mo, d, rem // 3600, rem % 3600 // 60, rem % 60)
    if frac:
        digits = "%09d" % frac
        if not plain and rng.random() < 0.3:
            s += "." + digits                     # all nine digits
        else:
            s += "." + (digits.rstrip("0") or "0")
    elif not plain and rng.random() < 0.1:
        s += rng.choice([".0", ".000", ".000000000"])
    if off_min == 0:
        s += "Z" if plain or rng.random() < 0.9 else "+00:00"
    else:
        a = abs(off_min)
        s += "%s%02d:%02d" % ("+" if off_min > 0 else "-", a // 60, a % 60)
    return s


class Gen:
    def __init__(self, seed, n_orders, hours, edge, start=None, max_delay=0):
        global START
        if start is not None:
            START = start
        self.rng = random.Random(seed)
        self.max_delay = max_delay
        self.n_orders = n_orders
        self.span = int(hours * 3600) * NS
        self.edge = edge
        self.items = []     # (arrival_ns, seq, bytes)
        self.seq = 0
        self.eid = 0

    # -- helpers -----------------------------------------------------------
    def new_id(self):
        self.eid += 1
        r = self.rng.random()
        if r < 0.02:
            return "ev:%d.x_y-z" % self.eid
        return "e%d" % self.eid

    def when(self):
        """A random occurred_at in the span: whole seconds, fractions, tick boundaries."""
        rng = self.rng
        t = START + rng.randrange(self.span)
        r = rng.random()
        if r < 0.55:
            t -= t % NS                         # whole seconds
        elif r < 0.62:
            t -= t % MIN                        # exactly on a tick boundary
        elif r < 0.75:
            t -= t % (NS // 1000)               # microseconds
        return t

    def jitter(self, t, lo, hi):
        v = t + self.rng.randrange(lo, hi)
        if self.rng.random() < 0.6:
            v -= v % NS
        if self.rng.random() < 0.05:
            v -= v % MIN
        return v

    def delay(self):
        rng = self.rng
        if self.max_delay and rng.random() < 0.3:   # heavy disorder (for a large lateness)
            return rng.randrange(0, self.max_delay) * NS
        r = rng.random()
        if r < 0.70:
            return rng.randrange(0, 20) * NS
        if r < 0.85:
            return rng.randrange(20, 121) * NS  # up to exactly the lateness
        if r < 0.92:
            return -rng.randrange(0, 60) * NS   # arrives "early" (ahead of others)
        if r < 0.97:
            return rng.randrange(121, 400) * NS  # likely late
        return rng.randrange(0, 3000) * NS // 7

    def emit(self, t, line, arrival=None):
        if isinstance(line, str):
            line = line.encode("utf-8")
        if arrival is None:
            arrival = t + self.delay()
        self.seq += 1
        self.items.append((arrival, self.rng.random(), self.seq, line))
        return arrival

    def event(self, typ, t, eid=None, **fields):
        d = {"event_id": eid or self.new_id(), "type": typ, "occurred_at": ts(t, self.rng)}
        d.update(fields)
        if self.rng.random() < 0.05:
            d["source"] = {"sys": "gen", "n": self.rng.randrange(1000), "tags": ["a", None]}
        if self.rng.random() < 0.2:      # field order does not matter
            items = list(d.items())
            self.rng.shuffle(items)
            d = dict(items)
        return d

    def put(self, typ, t, **fields):
        d = self.event(typ, t, **fields)
        line = enc(d)
        arr = self.emit(t, line)
        rng = self.rng
        r = rng.random()
        if r < 0.03:      # byte-identical id duplicate, some time later
            self.emit(t, line, arrival=arr + rng.randrange(0, 600) * NS)
        elif r < 0.04:    # same id, same time, other content
            d2 = dict(d)
            if "order_id" in d2:
                d2["order_id"] = "O-dupcontent-%d" % rng.randrange(99)
            d2["type"] = rng.choice(["order.refunded", "order.chargeback"])
            d2["amount"] = Raw("1.5")
            d2["order_id"] = d2.get("order_id", "O-x")
            self.emit(t, enc(d2), arrival=arr + rng.randrange(-30, 300) * NS)
        elif r < 0.05:    # broken copy with the same event_id arriving first
            bad = line[:-1] + ',"x":NaN}'
            self.emit(t, bad, arrival=arr - rng.randrange(1, 30) * NS)
        return d

    def money(self, lo=1, hi=200):
        rng = self.rng
        r = rng.random()
        cents = rng.randrange(lo * 100, hi * 100)
        if r < 0.6:
            return Raw("%d.%02d" % divmod(cents, 100))
        if r < 0.8:
            return Raw(str(cents // 100))
        if r < 0.9:
            return Raw("%d.5" % (cents // 100))
        if r < 0.95:
            return Raw("%de-2" % cents)
        return Raw("%d.%02d0" % divmod(cents, 100))

    def lines(self, n=None):
        rng = self.rng
        out = []
        for _ in range(n or rng.choice([1, 1, 1, 2, 2, 3, 4])):
            price = self.money(2, 150)
            pv = float(price.s)
            c = round(pv * rng.uniform(0.3, 1.3), 2)
            cost = Raw("%.2f" % c) if rng.random() < 0.8 else Raw(repr(c))
            q = rng.choice([1, 1, 1, 2, 2, 3, 5, 10])
            sku = "S%03d" % int(rng.paretovariate(1.2) * 3 % 80) if rng.random() < 0.9 \
                else "sku.%d:x" % rng.randrange(500)
            out.append({"sku": sku, "quantity": Raw(str(q)), "unit_price": price,
                        "unit_cost": cost})
        return out

    # -- the scenario -------------------------------------------------------
    def orders(self):
        rng = self.rng
        channels = ["web", "app", "store", "partner", "phone"]
        regions = ["r1", "r2", "r3", "r4", "r5", "eu-west", "us.east", "ap:south"]
        whs = ["W%d" % i for i in range(1, 13)]
        carriers = ["C1", "C2", "C3", "C4", "C5", "dhl", "ups"]
        placed_times = []
        for i in range(self.n_orders):
            oid = "O%d" % i if rng.random() < 0.95 else "ord-%d_%d" % (i, rng.randrange(9))
            t = self.when()
            if placed_times and rng.random() < 0.08:
                t = rng.choice(placed_times)    # exact tie with another event
            placed_times.append(t)
            ch = rng.choices(channels, [5, 4, 2, 1, 1])[0]
            rg = rng.choices(regions, [5, 4, 3, 2, 1, 1, 1, 1])[0]
            wh = rng.choices(whs, [8, 6, 5, 4, 3, 2, 2, 1, 1, 1, 1, 1])[0]
            promised = self.jitter(t, 20 * MIN, 180 * MIN)
            placed = dict(order_id=oid, channel=ch, region=rg, warehouse=wh,
                          promised_by=ts(promised, rng), lines=self.lines())
            if rng.random() < 0.01:
                placed["lines"] = self.lines(rng.randrange(20, 40))   # ~2-4 KB line
            self.put("order.placed", t, **placed)
            r = rng.random()
            if r < 0.02:   # shipped timed before the placed (unmatched)
                self.put("fulfillment.shipped", t - rng.randrange(1, 90) * NS, order_id=oid,
                         carrier=rng.choice(carriers))
            elif r < 0.04:  # shipped at exactly the placed instant (arrival decides)
                self.put("fulfillment.shipped", t, order_id=oid, carrier=rng.choice(carriers))
            shipped = delivered = None
            if rng.random() < 0.85:
                shipped = self.jitter(t, 1 * MIN, 40 * MIN)
                if rng.random() < 0.03:
                    shipped = t
                self.put("fulfillment.shipped", shipped, order_id=oid,
                         carrier=rng.choices(carriers, [5, 4, 3, 2, 1, 1, 1])[0])
                if rng.random() < 0.03:   # second shipped: semantic duplicate
                    self.put("fulfillment.shipped", self.jitter(shipped, 0, 20 * MIN),
                             order_id=oid, carrier=rng.choice(carriers))
                if rng.random() < 0.85:
                    delivered = self.jitter(shipped, 2 * MIN, 100 * MIN)
            elif rng.random() < 0.3:      # delivered without shipped
                delivered = self.jitter(t, 3 * MIN, 90 * MIN)
            if delivered is not None:
                self.put("fulfillment.delivered", delivered, order_id=oid)
                if rng.random() < 0.02:
                    self.put("fulfillment.delivered", self.jitter(delivered, 0, 30 * MIN),
                             order_id=oid)
                if shipped is None and rng.random() < 0.3:   # shipped after delivered
                    self.put("fulfillment.shipped", self.jitter(delivered, 0, 20 * MIN),
                             order_id=oid, carrier=rng.choice(carriers))
                for _ in range(rng.choice([0] * 12 + [1, 1, 2])):
                    self.put("order.refunded", self.jitter(delivered, 0, 60 * MIN),
                             order_id=oid, amount=self.money(0, 100))
                if rng.random() < 0.04:
                    self.put("order.chargeback", self.jitter(delivered, 0, 90 * MIN),
                             order_id=oid, amount=self.money(0, 300))
                if rng.random() < 0.08:
                    ln = rng.choice(placed["lines"])
                    sku = ln["sku"] if rng.random() < 0.8 else "S%03d" % rng.randrange(80)
                    self.put("fulfillment.defect_reported", self.jitter(delivered, 0, 60 * MIN),
                             order_id=oid, sku=sku, quantity=Raw(str(rng.choice([1, 1, 2, 3]))),
                             reason=rng.choice(["damaged", "wrong_item", "missing"]))
            elif rng.random() < 0.05:     # refund before delivery
                self.put("order.refunded", self.jitter(t, 0, 30 * MIN), order_id=oid,
                         amount=self.money(0, 50))
            if rng.random() < 0.07:
                c = self.jitter(t, 0, 30 * MIN)
                self.put("order.cancelled", c, order_id=oid)
                if rng.random() < 0.1:
                    self.put("order.cancelled", self.jitter(c, 0, 10 * MIN), order_id=oid)
                if delivered is None and rng.random() < 0.4:   # cancelled then delivered
                    self.put("fulfillment.delivered", self.jitter(c, 1 * MIN, 30 * MIN),
                             order_id=oid)
            if rng.random() < 0.02:   # second placed within ttl: semantic duplicate
                p2 = dict(placed, channel=rng.choice(channels), lines=self.lines())
                self.put("order.placed", self.jitter(t, 0, 60 * MIN), **p2)
            if rng.random() < 0.04:   # re-placed later (a new order once a small ttl passed)
                t2 = self.jitter(t, 95 * MIN, 160 * MIN)
                p2 = dict(placed, warehouse=rng.choice(whs), lines=self.lines(),
                          promised_by=ts(t2 + 60 * MIN, rng))
                self.put("order.placed", t2, **p2)
                if rng.random() < 0.7:
                    self.put("fulfillment.delivered", self.jitter(t2, 2 * MIN, 60 * MIN),
                             order_id=oid)
        # events about unknown orders
        for i in range(self.n_orders // 25):
            t = self.when()
            oid = "UNKNOWN-%d" % rng.randrange(50)
            typ = rng.choice(["order.refunded", "order.chargeback", "fulfillment.defect_reported",
                              "fulfillment.shipped", "fulfillment.delivered", "order.cancelled"])
            f = {"order_id": oid}
            if typ in ("order.refunded", "order.chargeback"):
                f["amount"] = self.money(0, 50)
            elif typ == "fulfillment.defect_reported":
                f.update(sku="S%03d" % rng.randrange(90), quantity=Raw(str(rng.randrange(1, 4))),
                         reason="damaged")
            elif typ == "fulfillment.shipped":
                f["carrier"] = "C1"
            self.put(typ, t, **f)

    def tickets(self):
        rng = self.rng
        cats = ["billing", "shipping", "product", "returns", "other", "account"]
        prios = ["low", "normal", "high", "urgent"]
        for i in range(self.n_orders // 3):
            tid = "T%d" % i
            t = self.when()
            f = dict(ticket_id=tid, category=rng.choices(cats, [5, 4, 3, 2, 1, 1])[0],
                     priority=rng.choices(prios, [3, 5, 2, 1])[0])
            if rng.random() < 0.4:
                f["order_id"] = "O%d" % rng.randrange(self.n_orders * 2)
            self.put("ticket.opened", t, **f)
            fr = None
            if rng.random() < 0.85:
                fr = self.jitter(t, 0, 40 * MIN)
                self.put("ticket.first_response", fr, ticket_id=tid)
                if rng.random() < 0.04:
                    self.put("ticket.first_response", self.jitter(fr, 0, 10 * MIN),
                             ticket_id=tid)
            if rng.random() < 0.7:
                res = self.jitter(fr or t, 1 * MIN, 120 * MIN)
                self.put("ticket.resolved", res, ticket_id=tid)
                if rng.random() < 0.04:
                    self.put("ticket.resolved", self.jitter(res, 0, 10 * MIN), ticket_id=tid)
            if rng.random() < 0.02:
                self.put("ticket.opened", self.jitter(t, 0, 30 * MIN), **f)
            if rng.random() < 0.03:   # re-opened after a small ttl
                t2 = self.jitter(t, 95 * MIN, 150 * MIN)
                self.put("ticket.opened", t2, **dict(f, priority=rng.choice(prios)))
                self.put("ticket.first_response", self.jitter(t2, 0, 20 * MIN), ticket_id=tid)
            if rng.random() < 0.02:   # first_response before opened: unmatched
                self.put("ticket.first_response", t - rng.randrange(1, 60) * NS, ticket_id=tid)
        for i in range(self.n_orders // 50):
            self.put(rng.choice(["ticket.first_response", "ticket.resolved"]), self.when(),
                     ticket_id="TX%d" % rng.randrange(40))

    def valid_edges(self):
        """Unusual but valid events (must be accepted)."""
        rng = self.rng
        for i in range(1):
            t = self.when()
            oid = "E" + "x" * 127                    # 128-character id
            self.put("order.placed", t, order_id=oid, channel="web", region="r1",
                     warehouse="W1", promised_by=ts(t + 30 * MIN, rng),
                     lines=[{"sku": "S001", "quantity": Raw("1000000"),
                             "unit_price": Raw("1e9"), "unit_cost": Raw("1000000000")},
                            {"sku": "S002", "quantity": Raw("1"),
                             "unit_price": Raw("0.0"), "unit_cost": Raw("0")}])
            self.put("order.refunded", t + 5 * NS, order_id=oid, amount=Raw("1000000000"))
            self.put("order.chargeback", t + 6 * NS, order_id=oid, amount=Raw("0"))
            self.put("fulfillment.delivered", t + 7 * MIN, order_id=oid,
                     note={"deep": [{"a": "\u00e9\ud83d\ude00"}]})
            self.put("fulfillment.defect_reported", t + 8 * MIN, order_id=oid, sku="S001",
                     quantity=Raw("1000000"), reason="r" * 128)

    def malformed(self):
        for reason, line, t in self.malformed_cases():
            self.emit(t, line)

    def malformed_cases(self):
        """-> [(expected reason, line, time)]: every case once, then random extra ones."""
        rng = self.rng
        n = 80 + self.n_orders // 40
        res = []
        good = ('{"event_id":"%s","type":"order.refunded","occurred_at":"%s",'
                '"order_id":"O1","amount":5}')
        for i in range(n):
            t = self.when()
            T = ts(t, rng, plain=True)
            eid = "bad%d" % i
            g = good % (eid, T)
            cases = [
                ("too_large", g[:-1] + ',"pad":"' + "x" * 66000 + '"}'),
                ("invalid_utf8", g.replace('"O1"', '"O\xff1"').encode("latin-1")),
                ("invalid_utf8", g.encode().replace(b'"O1"', b'"O\xed\xa0\x801"')),
                ("invalid_utf8", g.encode().replace(b'"O1"', b'"O\xc0\xaf"')),
                ("malformed_json", g[:-5]),
                ("malformed_json", g.replace("5}", "NaN}")),
                ("malformed_json", g.replace("5}", "Infinity}")),
                ("malformed_json", g.replace("5}", "-Infinity}")),
                ("malformed_json", g[:-1] + ',"x":"\\ud800"}'),
                ("malformed_json", g[:-1] + ',"x":"\\udc00\\ud800"}'),
                ("malformed_json", "\ufeff" + g),
                ("malformed_json", g[:-1] + ",}"),
                ("malformed_json", g.replace('"amount"', "amount")),
                ("malformed_json", g + "x"),
                ("malformed_json", g + g),
                ("malformed_json", g.replace("5}", "05}")),
                ("malformed_json", g.replace('"O1"', "'O1'")),
                ("malformed_json", g[:-1] + ',"order_id":"O1",}'),   # malformed beats dup
                ("not_an_object", '["order.placed"]'),
                ("not_an_object", '"hello"'),
                ("not_an_object", "42"),
                ("not_an_object", "null"),
                ("not_an_object", '[' + g[:-1] + ',"amount":1}]'),  # not_an_object beats dup
                ("duplicate_field", g[:-1] + ',"amount":5}'),
                ("duplicate_field", g[:-1] + ',"x":{"a":1,"a":1}}'),
                ("duplicate_field", g.replace('"type":"order.refunded"', '"type":"nope","type":"x"')),
                ("unknown_type", g.replace("order.refunded", "order.shipped")),
                ("unknown_type", g.replace("order.refunded", "Order.Refunded")),
                ("unknown_type", g.replace("order.refunded", "foo").replace('"order_id":"O1",', "")),
                ("missing_field", g.replace('"type":"order.refunded",', "")),
                ("missing_field", g.replace('"event_id":"%s",' % eid, "")),
                ("missing_field", g.replace('"amount":5', '"amt":5')),
                ("missing_field", g.replace('"amount":5', '"amount":"5"').replace('"order_id":"O1",', "")),
                ("invalid_field", g.replace('"type":"order.refunded"', '"type":7')),
                ("invalid_field", g.replace('"type":"order.refunded"', '"type":null')),
                ("invalid_field", g.replace(eid, "bad %d" % i)),
                ("invalid_field", g.replace(eid, "b" * 129)),
                ("invalid_field", g.replace('"O1"', '""')),
                ("invalid_field", g.replace('"O1"', '"O/1"')),
                ("invalid_field", g.replace('"O1"', '"Ö1"')),
                ("invalid_field", g.replace('"O1"', "null")),
                ("invalid_field", g.replace('"O1"', "1")),
                ("invalid_field", g.replace("5}", '"5"}')),
                ("invalid_field", g.replace("5}", "-1}")),
                ("invalid_field", g.replace("5}", "1000000000.01}")),
                ("invalid_field", g.replace("5}", "true}")),
                ("invalid_field", g.replace("5}", "null}")),
                ("invalid_field", g.replace(T, T[:-1])),            # no offset
                ("invalid_field", g.replace(T, T[:10])),
                ("invalid_field", g.replace(T, "2025-02-30T10:00:00Z")),
                ("invalid_field", g.replace(T, "2025-03-01T24:00:00Z")),
                ("invalid_field", g.replace(T, T[:-1] + "+24:00")),
                ("invalid_field", g.replace('"%s"' % T, "1740816000")),
                ("invalid_field", '{"event_id":"%s","type":"fulfillment.defect_reported",'
                 '"occurred_at":"%s","order_id":"O1","sku":"A","quantity":10.0,"reason":"r"}'
                 % (eid, T)),
                ("invalid_field", '{"event_id":"%s","type":"fulfillment.defect_reported",'
                 '"occurred_at":"%s","order_id":"O1","sku":"A","quantity":1e1,"reason":"r"}'
                 % (eid, T)),
                ("invalid_field", '{"event_id":"%s","type":"fulfillment.defect_reported",'
                 '"occurred_at":"%s","order_id":"O1","sku":"A","quantity":0,"reason":"r"}'
                 % (eid, T)),
                ("invalid_field", '{"event_id":"%s","type":"fulfillment.defect_reported",'
                 '"occurred_at":"%s","order_id":"O1","sku":"A","quantity":1000001,"reason":"r"}'
                 % (eid, T)),
                ("invalid_field", '{"event_id":"%s","type":"ticket.opened","occurred_at":"%s",'
                 '"ticket_id":"T1","category":"c","priority":"critical"}' % (eid, T)),
                ("invalid_field", '{"event_id":"%s","type":"ticket.opened","occurred_at":"%s",'
                 '"ticket_id":"T1","category":"c","priority":"low","order_id":"a b"}' % (eid, T)),
                ("missing_field", '{"event_id":"%s","type":"ticket.opened","occurred_at":"%s",'
                 '"ticket_id":"T1","category":"c"}' % (eid, T)),
            ]
            P = ('{"event_id":"%s","type":"order.placed","occurred_at":"%s","order_id":"OB%d",'
                 '"channel":"web","region":"r1","warehouse":"W1","promised_by":"%s",'
                 '"lines":%%s}' % (eid, T, i, T))
            L = '{"sku":"S001","quantity":1,"unit_price":5,"unit_cost":4}'
            cases += [
                ("invalid_field", P % "[]"),
                ("invalid_field", P % L),
                ("invalid_field", P % "[1]"),
                ("invalid_field", P % ("[" + ",".join([L] * 1001) + "]")),
                ("missing_field", P % '[{"sku":"S001","quantity":1,"unit_price":5}]'),
                ("missing_field", P % ('[{"sku":"S 1","quantity":1,"unit_price":5},' + L + ']')),
                ("duplicate_field", P % '[{"sku":"S001","sku":"S001","quantity":1,"unit_price":5,"unit_cost":4}]'),
                ("invalid_field", P % '[{"sku":"S001","quantity":"1","unit_price":5,"unit_cost":4}]'),
                ("invalid_field", P % '[{"sku":"S001","quantity":1,"unit_price":null,"unit_cost":4}]'),
                ("invalid_field", P % '[{"sku":"S001","quantity":1,"unit_price":5,"unit_cost":-0.01}]'),
                ("invalid_field", (P % ("[" + L + "]")).replace('"promised_by":"%s"' % T,
                                                               '"promised_by":"%s"' % T[:-1])),
            ]
            reason, line = cases[i] if i < len(cases) else rng.choice(cases)
            res.append((reason, line, t))
        assert n >= len(cases)
        return res

    def edge_cases(self):
        """Inputs the contract leaves open (only with --edge)."""
        rng = self.rng
        for i in range(10):
            t = self.when()
            T = ts(t, rng, plain=True)
            self.emit(t, '{"event_id":"edge-lc-%d","type":"ticket.opened","occurred_at":"%s",'
                      '"ticket_id":"TE%d","category":"edge","priority":"low"}'
                      % (i, T.replace("T", "t").replace("Z", "z"), i))
            self.emit(t, '{"event_id":"edge-f-%d","type":"ticket.opened","occurred_at":"%s",'
                      '"ticket_id":"TF%d","category":"edge","priority":"low"}'
                      % (i, T[:-1] + ".1234567891Z", i))
            self.emit(t, '{"event_id":"edge-null-%d","type":"ticket.opened","occurred_at":"%s",'
                      '"ticket_id":"TN%d","category":"edge","priority":"low","order_id":null}'
                      % (i, T, i))
            self.emit(t, '{"event_id":"edge-sp-%d","type":"ticket.opened","occurred_at":"%s",'
                      '"ticket_id":"TS%d","category":"edge","priority":"low"}'
                      % (i, T.replace("T", " "), i))

    def build(self):
        self.orders()
        self.tickets()
        self.valid_edges()
        self.malformed()
        if self.edge:
            self.edge_cases()
        self.items.sort(key=lambda x: (x[0], x[1], x[2]))
        out = bytearray()
        for _a, _r, _s, line in self.items:
            out += line + b"\n"
            if self.rng.random() < 0.002:
                out += b"\n"               # blank lines are skipped
        return bytes(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--orders", type=int, default=1200)
    ap.add_argument("--hours", type=float, default=4)
    ap.add_argument("--out", default="-")
    ap.add_argument("--edge", action="store_true")
    ap.add_argument("--max-delay", type=int, default=0,
                    help="also delay 30%% of the events by up to this many seconds")
    ap.add_argument("--start", help="first instant, e.g. 2024-02-28T00:00:00Z "
                    "(default 2025-03-01T08:00:00Z)")
    a = ap.parse_args()
    start = None
    if a.start:
        import datetime
        d = datetime.datetime.fromisoformat(a.start.replace("Z", "+00:00"))
        start = int(d.timestamp()) * NS
    data = Gen(a.seed, a.orders, a.hours, a.edge, start, a.max_delay).build()
    if a.out == "-":
        import sys
        sys.stdout.buffer.write(data)
    else:
        with open(a.out, "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
