#!/usr/bin/env python3
"""Independent reference implementation of invpipe's core (SPEC.md §2-§7, risk version 2).

Written from SPEC.md and README.md ("How the numbers are computed", "The risk, in a planner's
words (risk version 2)", "Choices where the spec is silent") and the interpretation notes in
test/oracle/README.md, never by porting src/. Python 3 with scipy (the negative binomial tail).

    python3 test/oracle/oracle.py EVENTS.jsonl [--config JSON] [--as-engine NAME,...]
    python3 test/oracle/oracle.py --self-test

Prints {"final", "alerts", "rejects", "duplicates", "daily", "counts"} as JSON. Alert messages
carry every field of SPEC §6 except the free-text `reason` and the wall-clock `generated_at`.

`--as-engine` switches on, by name, a known difference of the TypeScript engine from the spec
(see ENGINE_DEVIATIONS and test/oracle/README.md): the random comparisons use it so that a known,
reported difference does not hide every other one; without it the oracle follows the spec.
"""
import argparse
import json
import math
import re
import sys
from fractions import Fraction
from statistics import NormalDist

import numpy as np
from scipy.special import betainc
from scipy.stats import nbinom

DEFAULTS = {"lead_time_days": 7, "review_period_days": 7, "service_level": 0.95,
            "alert_threshold": 0.5, "alert_resolve_threshold": 0.2, "alert_repeat_days": 7,
            "dedup_window_hours": 48}
# Interpretation added after review: quantities beyond 1e12 units overflow σ² to Infinity; rejected.
MAX_MAGNITUDE = 1e12
EVENT_TYPES = ("sale", "return", "restock", "adjustment", "stock_count", "purchase_order")
REQUIRED = ("event_id", "event_type", "sku", "warehouse_id", "quantity", "timestamp")
ID_RE = re.compile(r"[A-Za-z0-9._\-/]{1,64}")
TS_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
                   r"(?:([Zz])|([+-])(\d{2}):(\d{2}))", re.ASCII)
MS_PER_DAY = 86_400_000
MIN_MS = 946_684_800_000          # 2000-01-01T00:00:00.000Z
MAX_MS = 4_102_444_799_999        # 2099-12-31T23:59:59.999Z
# What JavaScript's String.prototype.trim() removes (a line of only these is blank).
JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
        "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
N = NormalDist()

# SPEC §3: an order with nothing open is forgotten 90 days after its expected day.
FORGET_AFTER_DAYS = 90
# README, risk version 2 (the constants are the README's words, in numbers).
HALF_LIFE_DAYS = 14               # "a day's weight halves every 14 days back"
PRIOR_UNITS, PRIOR_DAYS = 0.25, 1  # "a weak prior of a quarter of a unit over one day"
LONG_RUN_UNITS, LONG_RUN_DAYS = 3, 30  # "… by the days 3 units of it take, at most 30 and at most the days less their weights"
WEEKDAY_MIN_DAYS = 14             # "once 14 in-stock days are known"
WEEKDAY_PSEUDO_DAYS = 4           # "4 pseudo-days pull the factor towards 1"
WEEKDAY_PSEUDO_UNITS = 30         # "... or as many as 30 units of the mean take, if more"
DISPERSION_PRIOR, DISPERSION_PSEUDO_DAYS = 2, 3   # "pulled towards 2 by 3 pseudo-days"
LEVEL_DRIFT_PER_DAY = 0.02        # "the level itself drifts: θ = 0.02 of M² a day ahead"
RECENT_HALF_LIFE_DAYS = 3         # "the recent level: weights that halve every 3 days"
MEMORY_DAYS = 120                 # "from the item's own last 120 days"
DELIVERY_RECORD = 8               # "the item's own last 8 deliveries"
UNPLANNED_RECORD = 8              # "each of their last 8 receipts that no order accounted for"
# (days late, share of the open units that arrive, weight); None = never comes.
PSEUDO_DELIVERIES = ((0, Fraction(1), 2.0), (1, Fraction(1), 0.3), (2, Fraction(1), 0.3),
                     (5, Fraction(7, 10), 0.3), (10, Fraction(1), 0.2), (None, Fraction(0), 0.3))
PSEUDO_RECEIPT_COVER_DAYS = 2     # "one pseudo-receipt (at 2 days of stock, ...)"
NOTHING_COMES_WEIGHT = 1.0        # "one scenario with weight 1 says nothing comes this time"
PASSED_LEVEL_WEIGHT = 0.5         # README: an unannounced receipt's level passed two days ago, nothing came
PAR_SHARE = 0.5                   # "half of each scenario's weight goes to top-ups to the par level"
PAR_MIN_RECEIPTS = 3              # "at least 3 receipts with a known level"
REORDER_GAPS = 8                  # "the gaps between its last 9 placing days"
TRIGGERED_SHARE = 0.5             # "half of each remembered order's scenario: orders placed as the demand draws the position down"
RESTOCK_RECORD = 8                # "its last 8 restock days"
REORDER_RECORD = 8                # "each of its last 8 orders received"
STALL_CHANCE = 0.05               # "a silence its demand model gives at most a 5 % chance"
STILL_SELLING_PRIOR = 0.9         # "one in ten items whose sales went silent has stopped selling"
STALL_PRIOR_OUTS = 2              # "stalls / (stalls + outs + 2)"
PACK_DAYS = 5                    # "on each of at least 5 days of its 120 days' sales, a whole multiple of one size g > 1"
COUNT_RECORD = 8                  # "its last 8 count days"
MAX_CHAINED_RECEIPTS = 8          # "at most 8 receipts a scenario"
SHRINK_PRIOR_UNITS, SHRINK_PRIOR_DAYS = 0.5, 30   # "(units missing + ½) / (the days its counts covered + 30)"
REVEAL_PRIOR_DAYS = 30            # "1 − e^(−k·h / (the days its counts covered + 30))"
SUDDEN_LOSS = 0.006               # "0.6 % a day for a single unit, over I for I units"
RECEIPT_SHARE_PSEUDO_UNITS = 3    # "3 units more in the days' units"
STOCKOUT_DATE_DAYS = 365
LEVELS = ("unknown", "low", "medium", "high", "critical")

# Known differences of the TypeScript engine from the spec, reproduced on request (--as-engine).
# None at present (the first-passage sum's ten-standard-deviation cut and the tie by first entry
# were both fixed in the engine).
ENGINE_DEVIATIONS = set()
# Where the engine approximates by design, a stream is flagged instead (`beyond_exact` in the answer)
# and the random comparisons leave it out: a first-passage sum over more than this many values of
# the earlier demand, which the engine takes on a grid.
ENGINE_EXACT_SUM_VALUES = 512
BEYOND_EXACT = [False]



def books_after(before, et, q):
    """SPEC §3's arithmetic on the decimal quantities: the books after a movement, and a result within
    a billionth of the operands' size of a whole number is that number (README: binary dust of
    fractional quantities, e.g. 2.35 sold in parts from 2.35, would otherwise never read 0)."""
    if et == "purchase_order":
        return before
    books = before - q if et == "sale" else before + q
    whole = round(books)
    return float(whole) if abs(books - whole) <= 1e-9 * max(1.0, abs(before), abs(q)) else books

class Reject(Exception):
    pass


class TopUp(list):
    """Receipts (day, par level) that top the stock up to the level instead of adding units."""



# ---------------------------------------------------------------- calendar
def days_from_civil(y, m, d):
    """Days since 1970-01-01 of the proleptic Gregorian date y-m-d (H. Hinnant)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def days_in_month(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def date_str(day):
    y, m, d = civil_from_days(day)
    return f"{y:04d}-{m:02d}-{d:02d}"


def iso_ms(ms):
    day, rem = divmod(ms, MS_PER_DAY)
    h, rem = divmod(rem, 3_600_000)
    mi, rem = divmod(rem, 60_000)
    s, milli = divmod(rem, 1000)
    return f"{date_str(day)}T{h:02d}:{mi:02d}:{s:02d}.{milli:03d}Z"


# -------------------------------------------------------------- validation
def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def finite(x):
    """JSON number -> float as JavaScript would hold it, or None if not finite."""
    if not is_num(x):
        return None
    try:
        f = float(x)
    except OverflowError:          # huge integer literal: Infinity in JS
        return None
    return f if math.isfinite(f) else None


def parse_timestamp(ts):
    if is_num(ts):
        f = finite(ts)
        if f is None or not f.is_integer():
            raise Reject("invalid_timestamp")
        ms = int(f)
    elif isinstance(ts, str):
        m = TS_RE.fullmatch(ts)
        if not m:
            raise Reject("invalid_timestamp")
        y, mo, d, h, mi = (int(m.group(i)) for i in range(1, 6))
        s = int(m.group(6) or 0)
        frac = ((m.group(7) or "") + "000")[:3]        # truncate to milliseconds
        if not (1 <= mo <= 12 and 1 <= d <= days_in_month(y, mo) and h <= 23 and mi <= 59 and s <= 59):
            raise Reject("invalid_timestamp")
        off = 0
        if m.group(9):
            oh, om = int(m.group(10)), int(m.group(11))
            if oh > 23 or om > 59:
                raise Reject("invalid_timestamp")
            off = (oh * 60 + om) * 60_000 * (1 if m.group(9) == "+" else -1)
        ms = (days_from_civil(y, mo, d) * MS_PER_DAY + ((h * 60 + mi) * 60 + s) * 1000
              + int(frac) - off)
    else:
        raise Reject("invalid_timestamp")
    if ms < MIN_MS or ms > MAX_MS:
        raise Reject("timestamp_out_of_range")
    return ms


def _no_constants(name):
    raise ValueError(name)            # NaN / Infinity are not JSON


def validate(line):
    try:
        ev = json.loads(line, parse_constant=_no_constants)
    except ValueError:
        raise Reject("invalid_json")
    if not isinstance(ev, dict):
        raise Reject("not_an_object")
    for f in REQUIRED:
        if ev.get(f) is None:
            raise Reject("missing_field")
    sv = ev.get("schema_version")
    if sv is not None and not (is_num(sv) and sv == 1):
        raise Reject("unsupported_schema_version")
    eid = ev["event_id"]
    if not isinstance(eid, str) or not 1 <= len(eid) <= 128:
        raise Reject("invalid_event_id")
    et = ev["event_type"]
    if et not in EVENT_TYPES:           # also rejects non-strings
        raise Reject("invalid_event_type")
    for f in ("sku", "warehouse_id"):
        if not isinstance(ev[f], str) or not ID_RE.fullmatch(ev[f]):
            raise Reject("invalid_" + f)
    q = finite(ev["quantity"])
    ok = q is not None and abs(q) <= MAX_MAGNITUDE and (q != 0 if et == "adjustment"
                                                         else q >= 0 if et in ("stock_count", "purchase_order")
                                                         else q > 0)
    if not ok:
        raise Reject("invalid_quantity")
    ms = parse_timestamp(ev["timestamp"])
    oh = ev.get("on_hand")
    if oh is not None:
        oh = finite(oh)
        if oh is None or oh < 0 or oh > MAX_MAGNITUDE:
            raise Reject("invalid_on_hand")
    lt = ev.get("lead_time_days")
    if lt is not None:
        lt = finite(lt)
        if lt is None or not 0 < lt <= 365:
            raise Reject("invalid_lead_time")
    # order_id: required on purchase_order, optional on restock (null = absent), ignored elsewhere.
    order_id = None
    if et in ("purchase_order", "restock"):
        oid = ev.get("order_id")
        if oid is None:
            if et == "purchase_order":
                raise Reject("invalid_order_id")
        elif not isinstance(oid, str) or not 1 <= len(oid) <= 128:
            raise Reject("invalid_order_id")
        else:
            order_id = oid
    # expected_at: optional on purchase_order (same forms and range as timestamp), ignored elsewhere.
    expected_at = None
    if et == "purchase_order" and ev.get("expected_at") is not None:
        try:
            expected_at = parse_timestamp(ev["expected_at"])
        except Reject:
            raise Reject("invalid_expected_at")
    return {"event_id": eid, "event_type": et, "sku": ev["sku"], "warehouse_id": ev["warehouse_id"],
            "quantity": q, "ts": ms, "on_hand": oh, "lead_time_days": lt, "order_id": order_id,
            "expected_at": expected_at}


# ------------------------------------------------------ negative binomial
def without_dust(x):
    """README risk §3: a level (or a number of days) within 1e-12 (relative) of a whole number is that number."""
    whole = round(x)
    return Fraction(whole) if abs(x - whole) <= 1e-12 * max(1, abs(x)) else x


def sudden_loss_risk(I, h):
    """README step 3½: a one-off loss of the whole stock of I units within h days, at 0.006 / I a day:
    1 − e^(−0.006·h / I)."""
    return 1 - math.exp(-SUDDEN_LOSS * h / I)


def nb_at_least(s, m, v):
    """P(X ≥ s) for X negative binomial with mean m and variance v > m (demand counts, whole units).

    X ≥ s ⇔ X ≥ ⌈s⌉. Computed by scipy: with size r = m²/(v − m) and p = r/(r + m),
    P(X ≥ u) = nbinom.sf(u − 1, r, p) = I_{1−p}(u, r) (scipy.special.betainc, Boost's ibeta).
    """
    if s <= 0:
        return 1.0
    if m <= 0:
        return 0.0
    u = math.ceil(s)
    r = m * m / (v - m)
    return float(betainc(u, r, m / (r + m)))


def nb_at_least_by_pmf(u, m, v):
    """The same tail by direct summation of the pmf (log-gamma), for the self-test only."""
    r = m * m / (v - m)
    p = r / (r + m)
    below = 0.0
    for k in range(u):
        below += math.exp(math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1)
                          + r * math.log(p) + k * math.log1p(-p))
    return 1.0 - below


def censored_mean(s, m, v):
    """E[X | X >= s] for X negative binomial (mean m, variance v > m): the demand of a day that ran out
    after selling s. By direct summation of scipy's nbinom.pmf from ceil(s) upwards, far past the mean
    (not the engine's recurrence), so that a tiny tail keeps its relative precision."""
    u = math.ceil(s)
    r = m * m / (v - m)
    p = r / (r + m)
    # Far enough that the terms' ratio, about 1 - p past the mean, has brought them below 1e-26.
    xs = np.arange(u, u + 200 + int(m) + int(60 / -math.log1p(-p)))
    pmf = nbinom.pmf(xs, r, p)
    mass = math.fsum(pmf)
    if not mass > 0:
        return s
    return max(s, math.fsum(xs * pmf) / mass)


def smallest_level(tail, m, v):
    """The smallest whole s ≥ 1 with P(X ≥ s) ≤ tail (s = 0 is always out of stock: risk 1)."""
    if m <= 0:
        return 1
    lo, hi = 0, 1                 # invariant: lo fails (or is 0), hi is the candidate
    while nb_at_least(hi, m, v) > tail:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if nb_at_least(mid, m, v) <= tail:
            hi = mid
        else:
            lo = mid
    return hi


def steadier_level(pairs):
    """README: the mean level after (before + units) of the (before, units) pairs when its variance is
    below that of the units, with at least 3 pairs; else None. Plain sums in record order (as the engine)."""
    n = len(pairs)
    if n < PAR_MIN_RECEIPTS:
        return None
    after = after_sq = u_sum = u_sq = 0.0
    for before, units in pairs:
        after += before + units
        after_sq += (before + units) ** 2
        u_sum += units
        u_sq += units * units
    level = after / n
    if not level > 0 or after_sq / n - level * level >= u_sq / n - (u_sum / n) ** 2:
        return None
    return level


def self_test():
    worst = 0.0
    for m in (0.05, 0.5, 1.3, 4.0, 17.5, 60.0, 250.0):
        for ratio in (1.01, 1.5, 2.0, 7.0):
            v = m * ratio
            r = m * m / (v - m)
            p = r / (r + m)
            for u in range(1, int(m * 3) + 25, max(1, int(m / 10))):
                a = nb_at_least(u, m, v)
                b = nb_at_least_by_pmf(u, m, v)
                c = float(nbinom.sf(u - 1, r, p))
                worst = max(worst, abs(a - b), abs(a - c))
    print(json.dumps({"max_abs_difference": worst}))
    sys.exit(0 if worst < 1e-9 else 1)


# ------------------------------------------------------------------ state
class Order:
    """One order_id of an item (SPEC §3)."""

    def __init__(self, oid, entered):
        self.oid = oid
        self.ordered = None          # units of the latest purchase_order; None: only receipts so far
        self.expected = None         # expected UTC day
        self.received = 0.0
        self.entered = entered       # arrival number of the first event that named the id
        self.seen = None             # arrival number of its first purchase_order ("seen first")
        self.last_day = None         # day of its latest event (forgets receipt-only entries)
        self.recorded = False        # first receipt entered in the delivery record
        self.placed_day = None       # day of its first purchase_order
        self.placed_position = None  # on hand + on order just before that purchase_order (None: unknown)
        self.undated = False         # its expected day came from LEAD_TIME_DAYS alone

    def open(self):
        # README: less than 1e-9 units open is floating-point dust, not an open order.
        if self.ordered is None:
            return 0.0
        left = self.ordered - self.received
        return left if left > 1e-9 else 0.0


class Item:
    def __init__(self, sku, wh, deviations=frozenset()):
        self.sku, self.wh = sku, wh
        self.dev = deviations
        self.on_hand = None
        self.lead_time = None          # None -> config default
        self.sold = {}                 # day -> units sold
        self.written_off = []          # (day, units) of each write-off (negative adjustment)
        self.daily = {}                # day -> daily row (dict)
        self.out = set()               # days that were (partly) out of stock: censored demand
        self.first_day = None
        self.max_ts = None
        self.event_count = 0
        self.seen = {}                 # event_id -> largest ts of a non-duplicate event with that id
        self.orders = {}               # order_id -> Order, in the order the ids were entered
        self.deliveries = []           # (days late, fill share) of the latest deliveries, oldest first
        self.unplanned = []            # [day, units, on-hand before or None, days out before], by day
        self.restocks = []             # (day, "out" | "stall" | None, units sold that day before it): what each restock found
        self.counts = []               # [day, days covered, units missing, found the shelf empty]: each count day
        self.reorders = []             # (position when placed, days to its first receipt, units ordered)
        self.arrivals = 0
        self.episode = None            # latest alert episode (dict, open or resolved) or None

    @property
    def D(self):
        return self.max_ts // MS_PER_DAY

    def is_duplicate(self, ev, window_ms):
        t = self.seen.get(ev["event_id"])
        return t is not None and t >= self.max_ts - window_ms

    # ----------------------------------------------------------- events
    def apply(self, ev, cfg):
        q, et, day = ev["quantity"], ev["event_type"], ev["ts"] // MS_PER_DAY
        self.arrivals += 1
        if self.max_ts is None or day > self.D:
            if self.max_ts is not None:
                # A day without events while the stock stood at or below 0 was out of stock all day.
                if self.on_hand is not None and self.on_hand <= 0:
                    self.out.update(range(self.D + 1, day))
                self.forget(day)
        self.first_day = day if self.first_day is None else min(self.first_day, day)
        self.max_ts = ev["ts"] if self.max_ts is None else max(self.max_ts, ev["ts"])
        self.event_count += 1
        self.seen[ev["event_id"]] = max(self.seen.get(ev["event_id"], ev["ts"]), ev["ts"])
        if ev["lead_time_days"] is not None:
            self.lead_time = ev["lead_time_days"]
        before = self.on_hand
        if et == "purchase_order":
            self.place(ev, day, cfg)
        elif et == "restock":
            self.note_restock(day)
            self.receive(ev, day, before)
        if et == "stock_count":
            self.on_hand = q
        elif self.on_hand is not None:
            self.on_hand = books_after(self.on_hand, et, q)
        if ev["on_hand"] is not None:
            self.on_hand = ev["on_hand"]
        if before is not None and (et == "stock_count" or ev["on_hand"] is not None):
            books = before if et == "stock_count" else books_after(before, et, q)
            # README step 3½: an on_hand that agrees with the books is no count.
            if et == "stock_count" or abs(books - self.on_hand) > 1e-9 * max(1.0, abs(self.on_hand)):
                self.note_count(day, books, self.on_hand)
        row = self.daily.setdefault(day, {"sold": 0.0, "returned": 0.0, "received": 0.0,
                                          "adjusted": 0.0, "closing_on_hand": None, "stockout": False})
        col = {"sale": "sold", "return": "returned", "restock": "received", "adjustment": "adjusted"}.get(et)
        if col:
            row[col] += q
        if et == "sale":
            self.sold[day] = self.sold.get(day, 0.0) + q

        if et == "adjustment" and q < 0:
            self.written_off.append((day, -q))
        row["closing_on_hand"] = self.on_hand
        if self.on_hand is not None and self.on_hand <= 0:
            row["stockout"] = True
            self.out.add(day)

    def lead(self, cfg):
        return float(self.lead_time if self.lead_time is not None else cfg["lead_time_days"])

    def place(self, ev, day, cfg):
        """A purchase_order places, changes (same id again) or cancels (quantity 0) an order."""
        o = self.orders.get(ev["order_id"])
        if o is None:
            o = self.orders[ev["order_id"]] = Order(ev["order_id"], self.arrivals)
            if self.on_hand is not None:
                o.placed_position = self.on_hand + self.on_order()   # the new order is not open yet
        if o.seen is None:
            o.seen = self.arrivals
        if o.placed_day is None:
            o.placed_day = day
        at = ev["expected_at"] if ev["expected_at"] is not None else ev["ts"] + self.lead(cfg) * MS_PER_DAY
        o.ordered = ev["quantity"]
        o.expected = int(at // MS_PER_DAY)
        o.undated = ev["expected_at"] is None and self.lead_time is None
        o.last_day = day if o.last_day is None else max(o.last_day, day)

    def tie_key(self, o):
        return o.seen

    def earliest_open(self):
        candidates = [o for o in self.orders.values() if o.open() > 0]
        return min(candidates, key=lambda o: (o.expected, self.tie_key(o)), default=None)

    def receive(self, ev, day, before):
        q = ev["quantity"]
        if ev["order_id"] is not None:
            o = self.orders.get(ev["order_id"])
            if o is None:            # before its order: remembered, nets against it when it comes
                o = self.orders[ev["order_id"]] = Order(ev["order_id"], self.arrivals)
                # README: a receipt for an order not (yet) seen is also an unannounced receipt.
                self.record_unplanned(day, q, before)
            self.receive_against(o, q, day)
            return
        rest = q
        while rest > 1e-9:
            o = self.earliest_open()
            if o is None:
                break
            taken = min(rest, o.open())
            # README: taken by an order overdue by more than its own lead time (its first order's day to
            # its expected day, at least 1), a receipt naming no order is not entered in the records.
            if day - self.awaited(o) > max(1, o.expected - o.placed_day):
                o.recorded = True
            self.receive_against(o, taken, day)
            rest -= taken
        if rest == q:                # no open order: an unplanned receipt
            self.record_unplanned(day, q, before)

    def note_restock(self, day):
        """README step 3½: what a restock found, noted before its units are added. Only restocks on the
        item's latest day D, with the stock known, one a day: 'out' (stock ≤ 0 now or on a day since the
        restock before, of the last 120), 'stall' (g whole days since the last sale or day out, that day
        within the last 120, with P(no sale in g days) ≤ 5 % under the demand model as of that day, from
        the last 120 days' days), else None."""
        previous = self.restocks[-1][0] if self.restocks else None
        if self.on_hand is None or day < self.D or (previous is not None and day <= previous):
            return
        outs = [d for d in self.out if day - MEMORY_DAYS + 1 <= d <= day]   # the last 120 days
        last_out = max(outs) if outs else None
        if self.on_hand <= 0 or (last_out is not None and (previous is None or last_out > previous)):
            found = "out"
        else:
            sold = [d for d, units in self.sold.items() if units > 0 and d <= day]
            before = max(max(sold) if sold else self.first_day - 1, last_out if last_out is not None else -10**9)
            quiet = day - before - 1
            found = None
            if quiet > 0 and before >= max(self.first_day, day - MEMORY_DAYS + 1):
                model = self.demand(before, since=day - MEMORY_DAYS + 1)
                m = model["rate"] * quiet
                if 1 - nb_at_least(1, m, self.var_of(model, m, quiet)) <= STALL_CHANCE:
                    found = "stall"
        self.restocks.append((day, found, self.sold.get(day, 0.0)))
        del self.restocks[:-RESTOCK_RECORD]

    def note_count(self, day, books, counted):
        """README step 3½: a count (a stock_count, or any event carrying on_hand, with the stock known
        before it) notes the units it found missing from the books (what they said just before it,
        less what it set; negative when it found more), the days since the count before (the first: since
        the item's first day) and whether it found the shelf empty (≤ 0) while the books showed stock.
        A second count of the day, or a late one, adds to the latest entry; the last 8 are kept."""
        missing = books - counted
        empty = books > 0 and counted <= 0
        if self.counts and day <= self.counts[-1][0]:
            self.counts[-1][2] += missing
            self.counts[-1][3] = self.counts[-1][3] or empty
            return
        since = self.counts[-1][0] if self.counts else self.first_day
        self.counts.append([day, max(0, day - since), missing, empty])
        del self.counts[:-COUNT_RECORD]

    def stuck_books_scale(self, D, sales):
        """README step 3½: risk × (q + (1 − q)·c). q = e^(−r·τ) · (1 − stalls / (stalls + outs + 2)),
        r = (max(0, the net units missing) + ½) / (days covered + 30) of the noted counts, τ = days since the last
        count (before any: since the item's first day); c = (counts that found the shelf empty + 1) / (those + stalls + 2).
        A silence under way: g = whole days before D since the last sale or day out (of the memory), restock noted
        or count (the item's first day − 1 before any); when P(no sale in g days) under the sales' model (the demand
        model, before returns and write-offs) ≤ 5 %,
        q ← q·P / (q·P + 1 − q). Still selling: the days since the last sale or day out alone, when longer
        than g, multiply the scale by 0.9·P / (0.9·P + 0.1), P(no sale in those days) under the sales' model as
        of that last day (from D's window; none when the window holds no day before the silence)."""
        stalls = sum(1 for _, found, _ in self.restocks if found == "stall")
        outs = sum(1 for _, found, _ in self.restocks if found == "out")
        missing = max(0.0, math.fsum(c[2] for c in self.counts))
        covered = sum(c[1] for c in self.counts)
        tau = max(0, D - (self.counts[-1][0] if self.counts else self.first_day))
        empties = sum(1 for c in self.counts if c[3])
        if self.pack_leftover() > 0:
            return (empties + 1) / (empties + stalls + 2)   # README: stuck for certain
        q = math.exp(-(missing + SHRINK_PRIOR_UNITS) / (covered + SHRINK_PRIOR_DAYS) * tau) * (1 - stalls / (stalls + outs + STALL_PRIOR_OUTS))
        oldest = self.D - MEMORY_DAYS + 1
        sold = [d for d, units in self.sold.items() if units > 0 and d >= oldest]
        outs_kept = [d for d in self.out if d >= oldest]
        since = max([max(sold) if sold else self.first_day - 1]
                    + ([max(outs_kept)] if outs_kept else [])
                    + ([self.restocks[-1][0]] if self.restocks else [])
                    + ([self.counts[-1][0]] if self.counts else []))
        quiet = D - since - 1
        if quiet > 0:
            m = sales["rate"] * quiet
            chance = 1 - nb_at_least(1, m, self.var_of(sales, m, quiet))
            if chance <= STALL_CHANCE:
                q = q * chance / (q * chance + 1 - q)
        scale = q + (1 - q) * (empties + 1) / (empties + stalls + 2)
        # Still selling at all: the sales' own silence (since the last sale or day out; counts and restocks
        # do not end it), weighed when longer than the stall's: 0.9·P / (0.9·P + 0.1), P judged by the
        # sales before the silence (none when the window holds none of them).
        last = max([max(sold) if sold else self.first_day - 1] + ([max(outs_kept)] if outs_kept else []))
        sales_quiet = D - last - 1
        window = D - MEMORY_DAYS + 1   # the close's window, as the model of D reads it
        if sales_quiet > max(0, quiet) and last >= max(self.first_day, window):
            judge = self.demand(last, since=window)
            m = judge["rate"] * sales_quiet
            chance = 1 - nb_at_least(1, m, self.var_of(judge, m, sales_quiet))
            scale *= STILL_SELLING_PRIOR * chance / (STILL_SELLING_PRIOR * chance + 1 - STILL_SELLING_PRIOR)
        return scale

    def reveal_risk(self, I, h):
        """README step 3½: a count finding the shelf empty takes the books to 0 whatever the demand. Its
        precedents: the noted counts that found the shelf empty while the books showed at least I/2; k of
        them over the days the counts covered: 1 − e^(−k·h / (days + 30)); 0 when k = 0."""
        k = sum(1 for c in self.counts if c[3] and c[2] >= I / 2)
        if k == 0:
            return 0.0
        return 1 - math.exp(-k * h / (sum(c[1] for c in self.counts) + REVEAL_PRIOR_DAYS))

    def pack_leftover(self):
        """README step 3½: an item sold only in packs of g (every day's sales of its last 120 with
        sales, at least 5 of them, a whole multiple of g > 1) cannot sell on hand mod g."""
        days = [u for d, u in self.sold.items() if self.D - MEMORY_DAYS + 1 <= d <= self.D and u > 0]
        if len(days) < PACK_DAYS or not self.on_hand > 0 or not all(float(u).is_integer() for u in days):
            return 0.0
        g = 0
        for u in days:
            g = math.gcd(g, int(u))
        return math.fmod(self.on_hand, g) if g > 1 else 0.0

    def receive_against(self, o, q, day):
        if not o.recorded and o.ordered is not None and o.open() > 0:
            o.recorded = True
            # README: an undated order's lateness counts from the day the risk awaited it.
            self.deliveries.append((day - self.awaited(o), min(Fraction(1), Fraction(q) / Fraction(o.open()))))
            del self.deliveries[:-DELIVERY_RECORD]
            if o.placed_position is not None:
                self.reorders.append((o.placed_position, max(0, day - o.placed_day), o.ordered))
                del self.reorders[:-REORDER_RECORD]
        o.received += q
        o.last_day = day if o.last_day is None else max(o.last_day, day)

    def record_unplanned(self, day, q, before):
        for rec in self.unplanned:
            if rec[0] == day:        # several unplanned receipts of one day are one receipt
                rec[1] += q
                return
        # README: a receipt that found the shelf empty remembers the whole days it had stood out
        # before it (those of the last 120 days the item still remembers).
        waited = 0
        if before is not None and before <= 0:
            while day - 1 - waited in self.out and day - 1 - waited >= self.D - MEMORY_DAYS + 1:
                waited += 1
        self.unplanned.append([day, q, before, waited])
        self.unplanned.sort(key=lambda rec: rec[0])
        del self.unplanned[:-UNPLANNED_RECORD]

    def forget(self, new_day):
        """SPEC §3 bounded memory, as of the new day D: settled orders 90 days after their expected day."""
        for oid in list(self.orders):
            o = self.orders[oid]
            if o.ordered is None:
                gone = new_day - o.last_day > FORGET_AFTER_DAYS
            else:
                gone = o.open() <= 0 and new_day - o.expected > FORGET_AFTER_DAYS
            if gone:
                del self.orders[oid]

    def on_order(self):
        return math.fsum(o.open() for o in self.orders.values())

    def awaited(self, o):
        """README: an undated order is awaited by its placing day plus the item's usual days to a first
        receipt (the lower median of its reorder record), when that is sooner than its expected day."""
        if not o.undated or not self.reorders or o.placed_day is None:
            return o.expected
        leads = sorted(lead for _, lead, _ in self.reorders)
        return min(o.expected, o.placed_day + leads[(len(leads) - 1) // 2])

    def orders_by(self, last_day):
        """Open orders expected (or overdue) by last_day, earliest expected first."""
        chosen = [o for o in self.orders.values() if o.open() > 0 and o.expected <= last_day]
        return sorted(chosen, key=lambda o: (o.expected, self.tie_key(o)))

    # ---------------------------------------------------------- §4 metrics
    def metrics(self, D):
        def window(n):
            return [self.sold.get(d, 0.0) for d in range(max(D - n + 1, self.first_day), D + 1)]

        w7, w30 = window(7), window(30)
        v7 = math.fsum(w7) / len(w7)
        v30 = math.fsum(w30) / len(w30)
        n = len(w30)
        if n < 2:
            sigma = slope = 0.0
        else:
            sigma = math.sqrt(math.fsum((y - v30) ** 2 for y in w30) / (n - 1))
            xbar = (n - 1) / 2
            slope = (math.fsum((x - xbar) * (y - v30) for x, y in enumerate(w30))
                     / math.fsum((x - xbar) ** 2 for x in range(n)))
        return {"velocity_7d": v7, "velocity_30d": v30, "volatility": sigma, "trend": slope,
                "seasonality_index": 1.0 if v30 == 0 else v7 / v30, "days_of_history": D - self.first_day + 1}

    # ------------------------------------------------------ demand model
    def demand(self, D, since=None):
        """README risk v2 §1: the demand model as of day D (from days on or after `since` only)."""
        start = max(D - MEMORY_DAYS + 1, self.first_day, since if since is not None else self.first_day)
        window = range(start, D + 1)
        days = [d for d in window if d not in self.out]
        y = {d: self.sold.get(d, 0.0) for d in window}
        if not days:
            # README: every day of the window out of stock: its sales, a floor of the demand, are used.
            return self.fit(list(window), y, D)
        model = self.fit(days, y, D)
        # README: the first day of each run out of stock (the day before it not out, or before the
        # window) sold what was left: it counts with E[X | X >= its sales] under the in-stock model.
        censored = [d for d in window if d in self.out and y[d] > 0 and not (d - 1 in self.out and d - 1 >= start)]
        if not censored:
            return model
        for d in censored:
            m = model["rate"] * model["f"][d % 7]
            y[d] = censored_mean(y[d], m, model["phi"] * m)
        return self.fit(sorted(days + censored), y, D)

    @staticmethod
    def fit(days, y, D):
        w = {d: 0.5 ** ((D - d) / HALF_LIFE_DAYS) for d in days}
        sw = math.fsum(w.values())
        swy = math.fsum(w[d] * y[d] for d in days)
        mean = swy / sw                                   # λ̄, without the prior
        # README: pulled towards the plain mean of the window's days by the days LONG_RUN_UNITS of
        # it take, at most LONG_RUN_DAYS and at most the days less their weights.
        long_run = math.fsum(y[d] for d in days) / len(days)
        pull = min(LONG_RUN_DAYS, len(days) - sw, math.inf if long_run == 0 else LONG_RUN_UNITS / long_run)
        rate = (swy + PRIOR_UNITS + pull * long_run) / (sw + PRIOR_DAYS + pull)     # λ
        n, phi = Item.spread(w, days, y)
        f = [1.0] * 7
        if mean > 0 and len(days) >= WEEKDAY_MIN_DAYS:
            sales = [0.0] * 7
            count = [0] * 7
            for d in days:
                sales[d % 7] += y[d]
                count[d % 7] += 1
            pseudo = max(WEEKDAY_PSEUDO_DAYS, WEEKDAY_PSEUDO_UNITS / mean)
            raw = [(sales[k] + pseudo * mean) / ((count[k] + pseudo) * mean) for k in range(7)]
            avg = math.fsum(raw) / 7
            f = [x / avg for x in raw]
        # README: the fall to the recent level. What the rate expects of the recent days: λ times the
        # weekday factors mixed by the recent weights of ages 0–119; the part of the gap to the
        # recent mean beyond its noise φ_r·expected/n_r comes off, only downwards.
        r = {d: 0.5 ** ((D - d) / RECENT_HALF_LIFE_DAYS) for d in days}
        recent = math.fsum(r[d] * y[d] for d in days) / math.fsum(r.values())
        n_r, phi_r = Item.spread(r, days, y)
        ages = [0.5 ** (a / RECENT_HALF_LIFE_DAYS) for a in range(MEMORY_DAYS)]
        expected = rate * math.fsum(ages[a] * f[(D - a) % 7] for a in range(MEMORY_DAYS)) / math.fsum(ages)
        gap = expected - recent
        # README: "only when the in-stock days weigh at least half a day under the recent weights".
        if gap > 0 and math.fsum(r.values()) >= 0.5:
            rate *= 1 - gap / expected * max(0.0, 1 - phi_r * expected / n_r / (gap * gap))
        return {"rate": rate, "phi": phi, "n": n, "f": f, "D": D, "drift": LEVEL_DRIFT_PER_DAY}

    @staticmethod
    def spread(w, days, y):
        """The effective days n of weights w and the dispersion φ of the days' units under them."""
        sw = math.fsum(w.values())
        mean = math.fsum(w[d] * y[d] for d in days) / sw
        n = sw * sw / math.fsum(x * x for x in w.values())
        # Weighted variance about the mean with the effective-days correction n/(n − 1) (n ≤ 2: no
        # correction beyond dividing by 1, as the engine does).
        var = math.fsum(w[d] * (y[d] - mean) ** 2 for d in days) / sw * (n / max(n - 1, 1))
        phi_obs = max(1.0, var / mean) if mean > 0 else 1.0
        return n, (DISPERSION_PSEUDO_DAYS * DISPERSION_PRIOR + (n - 1) * phi_obs) / (DISPERSION_PSEUDO_DAYS + n - 1)

    def books(self, model, D):
        """README risk v2 §1, returns and write-offs: the books fall by the share k = max(0.5, 1 − (ρ − ω)/λ)
        of the units sold, ρ the units returned a day and ω the units written off a day (negative
        adjustments), each weighted 0.5^(age/14) over the weights of the window's days; the books' model
        has mean k·M and the demand's variance V plus the write-offs' (a compound flow: Σ units² a day,
        weighted the same): λ·k, max(1, (φ·λ + Σw·u²/Σw)/(λ·k)), θ/k²."""
        start = max(D - MEMORY_DAYS + 1, self.first_day)
        weights = math.fsum(0.5 ** ((D - d) / HALF_LIFE_DAYS) for d in range(start, D + 1))
        returned = math.fsum(row["returned"] * 0.5 ** ((D - d) / HALF_LIFE_DAYS)
                             for d, row in self.daily.items() if d <= D and row["returned"] > 0)
        written_off = math.fsum(units * 0.5 ** ((D - d) / HALF_LIFE_DAYS)
                                for d, units in self.written_off if d <= D)
        # A compound flow: each write-off a jump of its units, so a day's variance is Σ units², weighted.
        variance = math.fsum(units * units * 0.5 ** ((D - d) / HALF_LIFE_DAYS)
                             for d, units in self.written_off if d <= D) / weights
        k = max(0.5, 1 - (returned - written_off) / weights / model["rate"])
        phi = max(1.0, (model["phi"] * model["rate"] + variance) / (model["rate"] * k))
        return dict(model, rate=model["rate"] * k, phi=phi, drift=model["drift"] / (k * k))

    @staticmethod
    def mean_between(model, a, b):
        """Mean demand of days D+a+1 … D+b."""
        return math.fsum(model["rate"] * model["f"][(model["D"] + k) % 7] for k in range(a + 1, b + 1))

    @staticmethod
    def var_of(model, m, k):
        return model["phi"] * m * (1 + k / max(model["n"], 1.0)) + model["drift"] * k * m * m

    # -------------------------------------------------------------- risk
    def scenarios(self, model, D, h, cycle):
        """[(weight, [(day 1…, units)])]: how replenishment may arrive within the horizon."""
        orders = sorted((o for o in self.orders.values() if o.open() > 0 and self.awaited(o) <= D + h),
                        key=lambda o: (self.awaited(o), self.tie_key(o)))
        if orders:
            table = list(PSEUDO_DELIVERIES) + [(late, fill, 1.0) for late, fill in self.deliveries]
            out = []
            for late, fill, weight in table:
                if late is not None and all(self.awaited(o) + late <= D for o in orders):
                    continue     # README: every open order is already past this lateness: ruled out
                receipts = []
                for o in orders:
                    if late is None:
                        continue
                    if self.awaited(o) + late <= D:
                        continue         # README: already later than this scenario: not within it
                    day = self.awaited(o) + late
                    receipts.append((day - D, Fraction(o.open()) * fill))
                if not self.reorders:
                    out.append((weight, receipts))
                    continue
                # README: beside the open orders, the item's own reorder rule may bring its next order;
                # its scenarios share this one's weight.
                reordered = self.reorder_scenarios(model, D, h)
                total = math.fsum(w for w, _ in reordered)
                out.extend((weight * w / total, receipts + r) for w, r in reordered)
            return out
        announces = self.deliveries or any(o.ordered is not None for o in self.orders.values())
        if announces and self.unplanned:
            # README: an item more of whose receipts came unannounced than against orders since the
            # oldest unannounced one it remembers (a tie: whose latest receipt came unannounced) is read
            # as one that never announces.
            got = [o.last_day for o in self.orders.values()
                   if o.ordered is not None and o.received > 0 and o.last_day >= self.unplanned[0][0]]
            if len(got) != len(self.unplanned):
                announces = len(got) > len(self.unplanned)
            else:
                announces = any(d >= self.unplanned[-1][0] for d in got)
        if not announces and model["rate"] > 0:
            # Never announces its orders, or not most of them of late: the rhythm of its unplanned
            # receipts stands in for them.
            lam = model["rate"]
            levels = [PSEUDO_RECEIPT_COVER_DAYS * lam]
            sizes = [lam * cycle]
            waits = [0]
            for _, units, before, waited in self.unplanned:
                sizes.append(units)
                if before is not None:
                    # README: a receipt at an empty shelf came `waited` days after it emptied.
                    levels.append(max(before, 0))
                    waits.append(waited if before <= 0 else 0)
            size = math.fsum(sizes) / len(sizes)
            # README: the stock at the close of the day before yesterday, by the sales since.
            two_days_ago = self.on_hand + self.sold.get(D - 1, 0.0) + self.sold.get(D, 0.0)
            par = self.par_level()
            firsts = []                          # (day of the first receipt, weight)
            answering = []                       # (day of the first refill, weight, its level)
            for rho, waited in zip(levels, waits):
                rho = math.floor(without_dust(rho))   # README: whole units: at 2.6 left only once at 2
                day = 1 if rho >= self.on_hand else math.ceil(without_dust((self.on_hand - rho) / lam))
                passed = rho > 0 and two_days_ago <= rho
                if rho > 0 and not passed:
                    # README: a supplier answers the stock: half of the
                    # scenario's refills come on the day the stock falls to ρ (beyond h: none comes).
                    firsts.append((day, 1 - TRIGGERED_SHARE))
                    if day <= h:
                        answering.append((day, TRIGGERED_SHARE, rho))
                    else:
                        firsts.append((day, TRIGGERED_SHARE))
                else:
                    # README: a level the stock passed two days ago or more, with nothing received, keeps half.
                    firsts.append((day + waited, PASSED_LEVEL_WEIGHT if passed else 1.0))
            # README: each gap between its receipts longer than the days since the last one says when.
            if self.unplanned:
                since = D - self.unplanned[-1][0]
                days = [rec[0] for rec in self.unplanned]
                firsts.extend((gap - since, 1.0) for gap in (b - a for a, b in zip(days, days[1:])) if gap > since)
            # README: after the next receipt, one more each time the mean receipt has sold, arriving
            # on the day whose demand would take the stock back to its level (as the first one).
            every = max(1, math.ceil(without_dust(size / lam)) - 1)
            fixed = [(NOTHING_COMES_WEIGHT, [])] + [
                (weight, [(d, size) for d in range(first, max(first, h) + 1, every)][:MAX_CHAINED_RECEIPTS])
                for first, weight in firsts] + [
                (weight, [(d, size, 0, rho) for d in range(first, h + 1, every)][:MAX_CHAINED_RECEIPTS])
                for first, weight, rho in answering]
            if par is None:
                return fixed
            # README: a record that reads as a par level gives half of each scenario's weight to top-ups
            # to it, one scenario per gap between the remembered receipts.
            level, gaps = par
            topped = [(NOTHING_COMES_WEIGHT * PAR_SHARE, TopUp())]
            for first, weight in firsts + [(first, weight) for first, weight, _ in answering]:
                for gap in gaps:
                    topped.append((weight * PAR_SHARE / len(gaps), TopUp((d, level) for d in range(first, h + 1, gap))))
            return [(w * (1 - PAR_SHARE), r) for w, r in fixed] + topped
        if self.reorders:
            return self.reorder_scenarios(model, D, h)
        return []

    def par_level(self):
        """README: (the mean level after the unplanned receipts with a known level, the days between
        consecutive remembered receipts, each at least 1) when those levels' variance is below that of
        their units, with at least 3 known levels; else None. Plain sums in record order (as the engine)."""
        level = steadier_level([(before, units) for _, units, before, _ in self.unplanned if before is not None])
        if level is None:
            return None
        days = [rec[0] for rec in self.unplanned]
        return level, [max(1, b - a) for a, b in zip(days, days[1:])]

    def passage(self, model, receipts, h):
        if isinstance(receipts, TopUp):
            return self.top_up_passage(model, receipts, h)
        if any(len(r) == 4 for r in receipts):
            return self.triggered_passage(model, receipts, h)
        if any(len(r) == 3 for r in receipts):
            return self.up_to_passage(model, receipts, h)
        return self.first_passage(model, receipts, h)

    def top_up_passage(self, model, receipts, h):
        """README: receipts that top the stock up to a par level: P(stock ≤ 0 on some day 1 … h) =
        1 − P(the demand before the first receipt < on hand) · Π over the stretches between receipts
        (and the last to h) of P(its demand < the level), the stretches independent."""
        survive, level, last = 1.0, self.on_hand, 0
        for day, par in sorted(receipts) + [(h + 1, None)]:
            if day > h + 1:
                break
            if day - 1 > last:
                m = self.mean_between(model, last, day - 1)
                survive *= 1 - nb_at_least(level, m, self.var_of(model, m, day - 1 - last))
                last = day - 1
            if par is not None:
                level = par
        return 1 - survive

    def reorder_scenarios(self, model, D, h):
        """README: an announcing item's own reorder rule may bring orders within the horizon (placed
        when the position, on hand plus the orders not yet overdue, falls to ρ; tomorrow at the earliest;
        each later one when the position plus the orders placed since falls to ρ again); or, when its
        record reads as an order-up-to rule, by the calendar, each topping the position up to S: such a
        receipt is (day, S, lead)."""
        rhythm = self.review_rhythm(D)
        up_to = None if rhythm is None else self.order_up_to_level()
        lam = model["rate"]
        position = self.on_hand + math.fsum(o.open() for o in self.orders.values() if o.expected is not None and self.awaited(o) >= D)
        size = math.fsum(units for _, _, units in self.reorders) / len(self.reorders)
        none = NOTHING_COMES_WEIGHT
        out = []
        for rho, lead, _ in self.reorders:
            receipts = []
            if up_to is not None:
                nxt, gap = rhythm
                receipts = [(p + lead, up_to, lead) for p in range(nxt, h - lead + 1, gap)]
            else:
                placed = 1 if rho >= position else max(1, math.ceil(without_dust((position - rho) / lam)))
                # README: the rule goes on: the k-th order after this one is placed once the position plus
                # k orders has fallen to ρ again (a day after the one before at the earliest).
                k = 0
                while placed + lead <= h and len(receipts) < MAX_CHAINED_RECEIPTS:
                    receipts.append((placed + lead, size))
                    k += 1
                    placed = max(placed + 1, math.ceil(without_dust((position + k * size - rho) / lam)))
            if not receipts:
                none += 1.0
            elif up_to is not None:
                out.append((1.0, receipts))
            else:
                # README: half placed at the mean rate, half as the demand draws the position down to ρ:
                # such a receipt is (day, units, lead, ρ).
                out.append((1 - TRIGGERED_SHARE, receipts))
                out.append((TRIGGERED_SHARE, [(day, units, lead, rho) for day, units in receipts]))
        return [(none, [])] + out

    def review_rhythm(self, D):
        """README: (days to the next placing, at least 1; the lower median gap between the last 9
        distinct placing days) with at least 3 placing days; else None."""
        days = sorted(o.placed_day for o in self.orders.values() if o.placed_day is not None)
        gaps = []
        i = len(days) - 1
        while i > 0 and len(gaps) < REORDER_GAPS:
            if days[i] > days[i - 1]:
                gaps.append(days[i] - days[i - 1])
            i -= 1
        if len(gaps) < PAR_MIN_RECEIPTS - 1:
            return None
        gap = sorted(gaps)[(len(gaps) - 1) // 2]
        return max(1, days[-1] + gap - D), gap

    def order_up_to_level(self):
        """README: the mean position after the remembered orders (placed at + units) when its variance
        is below that of their units, with at least 3 orders; else None. Plain sums in record order."""
        return steadier_level([(position, units) for position, _, units in self.reorders])

    def triggered_passage(self, model, receipts, h):
        """README: orders placed the day the position falls to ρ: P(stock ≤ 0 on some day 1 … h) = 1 −
        (1 − the first passage of the stock and the other receipts until the day before the first is
        placed) · Π over the orders of P(the demand of the days between its placing and its arrival <
        ρ less the earlier orders not yet arrived by its placing; 1 or 0 by that stock's sign when no
        day lies between) · P(the demand from the last one's placing to h < that stock + its units),
        the stretches independent."""
        orders = sorted((r for r in receipts if len(r) == 4), key=lambda r: r[0])
        placed_first = orders[0][0] - orders[0][2]
        before = [r for r in receipts if len(r) == 2 and r[0] < placed_first]
        survive = 1 - self.first_passage(model, before, placed_first - 1) if placed_first > 1 else 1.0

        def outlasts(stock, a, b):
            if b <= a:
                return 1.0 if stock > 0 else 0.0
            m = self.mean_between(model, a, b)
            return 1 - nb_at_least(stock, m, self.var_of(model, m, b - a))

        for k, (day, units, lead, rho) in enumerate(orders):
            placed = day - lead
            stock = rho
            for earlier in orders[:k]:
                if earlier[0] > placed:
                    stock -= earlier[1]
            survive *= outlasts(stock, placed, day - 1)
            if k == len(orders) - 1 and h >= day:
                survive *= outlasts(stock + units, placed, h)
        return 1 - survive

    def up_to_passage(self, model, receipts, h):
        """README: orders topping the position up to S: P(stock ≤ 0 on some day 1 … h) = 1 − (1 − the
        first passage of the stock and the other receipts until the day before the first of them) ·
        Π over those orders of P(the demand from the day after its placing to the day before the
        next one arrives, or to h, < S), the stretches independent."""
        ups = sorted(r for r in receipts if len(r) == 3)
        first = ups[0][0]
        before = [r for r in receipts if len(r) == 2 and r[0] < first]
        survive = 1 - self.first_passage(model, before, first - 1) if first > 1 else 1.0
        for k, (day, level, lead) in enumerate(ups):
            end = ups[k + 1][0] - 1 if k + 1 < len(ups) else h
            if end < day:
                continue
            placed = day - lead
            m = self.mean_between(model, placed, end)
            survive *= 1 - nb_at_least(level, m, self.var_of(model, m, end - placed))
        return 1 - survive

    def first_passage(self, model, receipts, h):
        """P(stock ≤ 0 on some day 1 … h) with these receipts (README risk v2 §3, as the engine's
        commit e96cc16 refined it): the demand before each receipt and by the horizon's end are the
        checkpoints c₁ < c₂ < … with levels L₁ ≤ L₂ ≤ … (stock plus the receipts before). P(A₁) is
        exact; each later checkpoint adds P(X(cⱼ₋₁) < Lⱼ₋₁, X(cⱼ) ≥ Lⱼ), summed over every value of
        X(cⱼ₋₁) with the demand between the checkpoints independent of it; capped at 1."""
        arrivals = {}
        for day, units in receipts:
            if day <= h and units > 0:
                arrivals.setdefault(day, []).append(units)
        # README: a receipt is on the shelf only for the part of its day's demand after it: the share s
        # of the days' units its noted restock days sold before their receipt.
        s = self.receipt_share(model["D"])
        stock = Fraction(self.on_hand)     # exact: ⌈stock + receipts⌉ must not see floating-point dust
        checkpoints = []                   # (days of demand before the next receipt, stock before it, that receipt's day)
        for day in sorted(arrivals):
            checkpoints.append((day - 1 + s, stock, day))
            for units in arrivals[day]:
                stock = stock + units
            stock = without_dust(stock)
        checkpoints.append((h, stock, None))
        risk, prev = None, None
        for cp, level, receipt_day in checkpoints:
            if cp <= (prev[0] if prev else 0):
                continue                    # a receipt tomorrow, before any of its demand: nothing to check before it
            if receipt_day is None:
                m = self.mean_between(model, 0, cp)
            else:
                m = (self.mean_between(model, 0, receipt_day - 1)
                     + s * model["rate"] * model["f"][(model["D"] + receipt_day) % 7])
            v = self.var_of(model, m, cp)
            if prev is None:
                risk = nb_at_least(level, m, v)
            else:
                risk += self.crosses_only_later(model, prev, (cp, level, m, v))
            prev = (cp, level, m, v)
        return min(1.0, risk)

    def receipt_share(self, D):
        """README, a receipt's own day: over the noted restock days before D whose day's sales are still
        held (the last 120 days), Σ units sold before the receipt / (Σ the day's units + 3)."""
        held = [(b, self.sold.get(d, 0.0)) for d, _, b in self.restocks
                if d < D and d >= self.D - MEMORY_DAYS + 1]
        held = [(b, units) for b, units in held if units > 0]
        return math.fsum(b for b, _ in held) / (math.fsum(u for _, u in held) + RECEIPT_SHARE_PSEUDO_UNITS)

    def crosses_only_later(self, model, earlier, later):
        """P(X₁ < L₁ and X₁ + Y ≥ L₂): Σ over x = 0 … ⌈L₁⌉ − 1 of P(X₁ = x)·P(Y ≥ L₂ − x)."""
        c1, l1, m1, v1 = earlier
        c2, l2, m2, v2 = later
        top = math.ceil(l1)
        if top <= 0:
            return 0.0
        # The engine sums this range exactly up to 512 values of X₁ above ten standard deviations under
        # its mean, on a grid beyond: such a stream is out of the comparisons' reach (see below).
        if top - 1 - max(0, math.floor(m1 - 10 * math.sqrt(v1))) > ENGINE_EXACT_SUM_VALUES:
            BEYOND_EXACT[0] = True
        xs = np.arange(top, dtype=float)
        r1 = m1 * m1 / (v1 - m1)
        pmf = nbinom.pmf(xs, r1, r1 / (r1 + m1))
        mb = m2 - m1
        vb = self.var_of(model, mb, c2 - c1)
        need = math.ceil(l2) - xs            # whole units: ⌈L₂ − x⌉ = ⌈L₂⌉ − x
        rb = mb * mb / (vb - mb)
        tail = np.where(need <= 0, 1.0, betainc(np.maximum(need, 1.0), rb, mb / (rb + mb)))
        return float(math.fsum(pmf * tail))

    def assess(self, cfg, D=None):
        """Everything of SPEC §5 as of day D (the item's own D, or a later day for a carried close)."""
        D = self.D if D is None else D
        model = self.demand(D)
        books = self.books(model, D)       # README: the risk and the levels read the books' model
        H = self.lead(cfg)
        h = math.ceil(H)
        cycle = math.ceil(H + cfg["review_period_days"])
        tail = 1 - cfg["service_level"]
        m_h = self.mean_between(model, 0, h)
        b_h = self.mean_between(books, 0, h)
        b_c = self.mean_between(books, 0, cycle)
        rop = smallest_level(tail, b_h, self.var_of(books, b_h, h))
        up_to = smallest_level(tail, b_c, self.var_of(books, b_c, cycle))
        I = self.on_hand
        on_order = self.on_order()
        position = None if I is None else I + on_order
        risk = None
        if I is not None:
            if I <= 0:
                risk = 1.0
            else:
                alone = nb_at_least(I, b_h, self.var_of(books, b_h, h))
                sc = self.scenarios(books, D, h, cycle) if alone > 0 else []
                if alone == 0 or not sc:
                    risk = alone
                else:
                    total = math.fsum(w for w, _ in sc)
                    risk = math.fsum(w * min(alone, self.passage(books, rc, h)) for w, rc in sc) / total
                risk *= self.stuck_books_scale(D, model)
                risk = 1 - (1 - risk) * (1 - self.reveal_risk(I, h)) * (1 - sudden_loss_risk(I, h))
        if position is None:
            rq = None
        elif position <= rop:
            rq = float(max(0, math.ceil(up_to - position - 1e-9)))
        else:
            rq = 0.0
        lam = model["rate"]
        return {"lead_time_days": H, "expected_demand_lead_time": m_h, "stockout_risk": risk,
                "risk_level": level_of(risk),
                "days_of_cover": None if I is None else 0.0 if I <= 0 else None if lam == 0 else I / lam,
                "safety_stock": up_to - b_c, "reorder_point": float(rop), "reorder_quantity": rq,
                "on_order": on_order, "inventory_position": position,
                "expected_stockout_date": None if I is None else self.stockout_date(model, D)}

    def stockout_date(self, model, D):
        """SPEC §5: the first day D+k (k ≤ 365) on which on_hand − the mean demand of days 1 … k + the
        open orders expected by D+k is ≤ 0 (an overdue order counts from day 1). README: a projected
        stock within 1e-12 of the units summed (the on-hand, at least 1, and the receipts) of 0 is 0."""
        coming = self.orders_by(D + STOCKOUT_DATE_DAYS)
        demand = 0.0
        for k in range(1, STOCKOUT_DATE_DAYS + 1):
            demand += model["rate"] * model["f"][(D + k) % 7]
            arrived = math.fsum(o.open() for o in coming if o.expected <= D + k)
            if self.on_hand + arrived - demand <= 1e-12 * (max(1.0, self.on_hand) + arrived):
                return date_str(D + k)
        return None

    def row(self, cfg):
        D = self.D
        out = {"sku": self.sku, "warehouse_id": self.wh, "as_of_date": date_str(D),
               "last_event_at": iso_ms(self.max_ts), "event_count": self.event_count, "on_hand": self.on_hand}
        out.update(self.metrics(D))
        out.update(self.assess(cfg))
        return out


def level_of(risk):
    return ("unknown" if risk is None else "critical" if risk >= 0.8 else "high" if risk >= 0.5
            else "medium" if risk >= 0.2 else "low")


# ---------------------------------------------------------------- alerts
ALERT_ROW_FIELDS = ("stockout_risk", "risk_level", "on_hand", "on_order", "inventory_position",
                    "lead_time_days", "expected_demand_lead_time", "expected_stockout_date",
                    "days_of_cover", "reorder_point", "reorder_quantity", "velocity_7d", "velocity_30d")


def episode_step(item, ev, cfg):
    """SPEC §6 after one applied event: the message it calls for, if any (reason and generated_at left out)."""
    if item.on_hand is None:
        return None                        # risk unknown: no episode opens and none moves
    row = item.row(cfg)
    risk, D = row["stockout_risk"], item.D
    level = LEVELS.index(row["risk_level"])
    ep = item.episode
    if ep is None or not ep["open"]:
        if risk < cfg["alert_threshold"]:
            return None
        # A new episode opening on the as-of day the previous one opened would repeat its alert_id;
        # it continues that episode's message numbers (README, choices where the spec is silent).
        n = ep["n"] if ep is not None and ep["opened"] == D else 0
        ep = item.episode = {"open": True, "opened": D, "n": n, "highest": level, "last": D}
        status = "raised"
    elif risk < cfg["alert_resolve_threshold"]:
        ep["open"] = False
        status = "resolved"
    elif level > ep["highest"]:
        ep["highest"] = level
        status = "escalated"
    elif cfg["alert_repeat_days"] > 0 and D - ep["last"] >= cfg["alert_repeat_days"]:
        status = "reminder"
    else:
        return None
    ep["n"] += 1
    ep["last"] = D
    alert_id = f"{item.sku}:{item.wh}:{date_str(ep['opened'])}"
    msg = {"alert_id": alert_id, "message_id": f"{alert_id}:{ep['n']}", "status": status,
           "sku": item.sku, "warehouse_id": item.wh, "as_of_date": date_str(D),
           "event_id": ev["event_id"], "event_timestamp": iso_ms(ev["ts"])}
    msg.update({k: row[k] for k in ALERT_ROW_FIELDS})
    msg["open_orders"] = [{"order_id": o.oid, "open_quantity": o.open(), "expected_date": date_str(o.expected)}
                          for o in item.orders_by(D + math.ceil(item.lead(cfg)))]
    return msg


# ------------------------------------------------------------------- run
def accepted_events(raw_lines):
    """(line number, event or None, reject code or None) for each non-blank line."""
    for lineno, line in enumerate(raw_lines, 1):
        if not line.strip(JS_WS):
            continue
        try:
            yield lineno, validate(line), None
        except Reject as r:
            yield lineno, None, str(r)


def run(raw_lines, cfg, deviations=frozenset()):
    BEYOND_EXACT[0] = False
    items, alerts, rejects, dups = {}, [], [], []
    counts = {"read": 0, "accepted": 0, "rejected": 0, "duplicates": 0}
    window_ms = cfg["dedup_window_hours"] * 3_600_000
    for lineno, ev, code in accepted_events(raw_lines):
        counts["read"] += 1
        if ev is None:
            counts["rejected"] += 1
            rejects.append({"line": lineno, "code": code})
            continue
        counts["accepted"] += 1
        key = (ev["sku"], ev["warehouse_id"])
        item = items.get(key) or items.setdefault(key, Item(*key, deviations))
        if item.event_count and item.is_duplicate(ev, window_ms):
            counts["duplicates"] += 1
            dups.append(lineno)
            continue
        item.apply(ev, cfg)
        msg = episode_step(item, ev, cfg)
        if msg is not None:
            alerts.append(msg)
    final = [items[k].row(cfg) for k in sorted(items)]
    daily = [dict(sku=k[0], warehouse_id=k[1], date=date_str(d), **items[k].daily[d])
             for k in sorted(items) for d in sorted(items[k].daily)]
    return {"final": final, "alerts": alerts, "rejects": rejects, "duplicates": dups,
            "daily": daily, "counts": counts}


def item_at_close(raw_lines, cfg, sku, wh, day, deviations=frozenset()):
    """The item (sku, wh) at the close of `day` (fixtures/backtest/README.md): its state just before
    the first arriving event of the item dated after `day`, or at the end of the input; None if it
    has no event yet. Its risk as of that day: item.assess(cfg, day)["stockout_risk"]."""
    window_ms = cfg["dedup_window_hours"] * 3_600_000
    item = None
    for _, ev, _ in accepted_events(raw_lines):
        if ev is None or (ev["sku"], ev["warehouse_id"]) != (sku, wh):
            continue
        if ev["ts"] // MS_PER_DAY > day:
            break
        if item is None:
            item = Item(sku, wh, deviations)
        elif item.is_duplicate(ev, window_ms):
            continue
        item.apply(ev, cfg)
    return item


def serve():
    """One request a line on stdin, {"lines": [...], "config": {...}, "as_engine": [...]}; one answer
    a line on stdout (the tests keep one oracle process for many random streams)."""
    for request in sys.stdin:
        if not request.strip():
            continue
        req = json.loads(request)
        cfg = dict(DEFAULTS, **req.get("config", {}))
        deviations = frozenset(req.get("as_engine", []))
        try:
            if deviations - ENGINE_DEVIATIONS:
                raise ValueError(f"unknown as_engine {sorted(deviations - ENGINE_DEVIATIONS)}")
            answer = run(req["lines"], cfg, deviations)
            answer["beyond_exact"] = BEYOND_EXACT[0]
        except Exception as error:   # the client shows it; the server keeps serving
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events", nargs="?")
    ap.add_argument("--config", default="{}", help="JSON object overriding the defaults")
    ap.add_argument("--batch-size", type=int, default=100, help="accepted and ignored")
    ap.add_argument("--as-engine", default="", help="comma-separated ENGINE_DEVIATIONS to reproduce")
    ap.add_argument("--self-test", action="store_true", help="check the tail against pmf sums and nbinom.sf")
    ap.add_argument("--serve", action="store_true", help="answer JSON requests on stdin, one a line")
    a = ap.parse_args()
    if a.self_test:
        self_test()
    if a.serve:
        return serve()
    deviations = frozenset(x for x in a.as_engine.split(",") if x)
    unknown = deviations - ENGINE_DEVIATIONS
    if unknown:
        ap.error(f"unknown --as-engine {sorted(unknown)}")
    cfg = dict(DEFAULTS, **json.loads(a.config))
    with open(a.events, "rb") as fh:
        text = fh.read().decode("utf-8", errors="replace")
    json.dump(run(text.split("\n"), cfg, deviations), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
