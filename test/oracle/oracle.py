#!/usr/bin/env python3
"""Independent reference implementation of invpipe's core (SPEC.md §2-§7).

Stdlib only. Written from the SPEC and the interpretation notes in
test/oracle/README.md, never from src/. Usage:

    python3 test/oracle/oracle.py EVENTS.jsonl [--config JSON] [--batch-size N]

Prints {"final", "alerts", "rejects", "duplicates", "daily", "counts"} as JSON.
"""
import argparse
import json
import math
import re
import sys
from statistics import NormalDist

DEFAULTS = {"lead_time_days": 7, "review_period_days": 7, "service_level": 0.95,
            "alert_threshold": 0.5, "dedup_window_hours": 48}
# Interpretation added after review: quantities beyond 1e12 units overflow σ² to Infinity; rejected.
MAX_MAGNITUDE = 1e12
EVENT_TYPES = ("sale", "return", "restock", "adjustment", "stock_count")
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


class Reject(Exception):
    pass


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
    ok = q is not None and abs(q) <= MAX_MAGNITUDE and (q != 0 if et == "adjustment" else q >= 0 if et == "stock_count" else q > 0)
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
    return {"event_id": eid, "event_type": et, "sku": ev["sku"], "warehouse_id": ev["warehouse_id"],
            "quantity": q, "ts": ms, "on_hand": oh, "lead_time_days": lt}


# ------------------------------------------------------------------ state
class Item:
    def __init__(self, sku, wh):
        self.sku, self.wh = sku, wh
        self.on_hand = None
        self.lead_time = None          # None -> config default
        self.sold = {}                 # day -> units sold
        self.daily = {}                # day -> daily row (dict)
        self.first_day = None
        self.max_ts = None
        self.event_count = 0
        self.seen = {}                 # event_id -> largest ts of a non-duplicate event with that id
        self.last_alert_day = None

    def is_duplicate(self, ev, window_ms):
        t = self.seen.get(ev["event_id"])
        return t is not None and t >= self.max_ts - window_ms

    def apply(self, ev):
        q, et, day = ev["quantity"], ev["event_type"], ev["ts"] // MS_PER_DAY
        if et == "stock_count":
            self.on_hand = q
        elif self.on_hand is not None:
            self.on_hand += -q if et == "sale" else q
        if ev["on_hand"] is not None:
            self.on_hand = ev["on_hand"]
        if ev["lead_time_days"] is not None:
            self.lead_time = ev["lead_time_days"]
        row = self.daily.setdefault(day, {"sold": 0.0, "returned": 0.0, "received": 0.0,
                                          "adjusted": 0.0, "closing_on_hand": None, "stockout": False})
        col = {"sale": "sold", "return": "returned", "restock": "received", "adjustment": "adjusted"}.get(et)
        if col:
            row[col] += q
        if et == "sale":
            self.sold[day] = self.sold.get(day, 0.0) + q
        row["closing_on_hand"] = self.on_hand
        if self.on_hand is not None and self.on_hand <= 0:
            row["stockout"] = True
        self.first_day = day if self.first_day is None else min(self.first_day, day)
        self.max_ts = ev["ts"] if self.max_ts is None else max(self.max_ts, ev["ts"])
        self.event_count += 1
        self.seen[ev["event_id"]] = max(self.seen.get(ev["event_id"], ev["ts"]), ev["ts"])

    # -------------------------------------------------------------- metrics
    def metrics(self, cfg):
        D = self.max_ts // MS_PER_DAY

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
        season = 1.0 if v30 == 0 else v7 / v30
        L, b = v7, slope
        H = float(self.lead_time if self.lead_time is not None else cfg["lead_time_days"])
        R = float(cfg["review_period_days"])
        z = N.inv_cdf(cfg["service_level"])
        I = self.on_hand

        def mu(T):
            return max(0.0, T * L + b * T * (T + 1) / 2)

        muH = mu(H)
        ss = z * sigma * math.sqrt(H)
        rop = muH + ss
        if I is None:
            risk = cover = rq = None
        else:
            if I <= 0:
                risk = 1.0
            elif sigma == 0:
                risk = 1.0 if muH >= I else 0.0
            else:
                risk = N.cdf(-(I - muH) / (sigma * math.sqrt(H)))
            cover = 0.0 if I <= 0 else None if L == 0 else I / L
            if I <= rop:
                rq = float(max(0, math.ceil(mu(H + R) + z * sigma * math.sqrt(H + R) - I - 1e-9)))
            else:
                rq = 0.0
        level = ("unknown" if risk is None else "critical" if risk >= 0.8 else "high" if risk >= 0.5
                 else "medium" if risk >= 0.2 else "low")
        return {"sku": self.sku, "warehouse_id": self.wh, "as_of_date": date_str(D),
                "last_event_at": iso_ms(self.max_ts), "event_count": self.event_count,
                "on_hand": I, "velocity_7d": v7, "velocity_30d": v30, "volatility": sigma,
                "trend": slope, "seasonality_index": season, "days_of_history": D - self.first_day + 1,
                "lead_time_days": H, "expected_demand_lead_time": muH, "stockout_risk": risk,
                "risk_level": level, "days_of_cover": cover, "safety_stock": ss,
                "reorder_point": rop, "reorder_quantity": rq}


ALERT_FIELDS = ("stockout_risk", "risk_level", "on_hand", "lead_time_days", "expected_demand_lead_time",
                "days_of_cover", "reorder_point", "reorder_quantity", "velocity_7d", "velocity_30d")


def run(raw_lines, cfg):
    items, alerts, rejects, dups = {}, [], [], []
    counts = {"read": 0, "accepted": 0, "rejected": 0, "duplicates": 0}
    window_ms = cfg["dedup_window_hours"] * 3_600_000
    for lineno, line in enumerate(raw_lines, 1):
        if not line.strip(JS_WS):
            continue
        counts["read"] += 1
        try:
            ev = validate(line)
        except Reject as r:
            counts["rejected"] += 1
            rejects.append({"line": lineno, "code": str(r)})
            continue
        counts["accepted"] += 1
        key = (ev["sku"], ev["warehouse_id"])
        item = items.get(key) or items.setdefault(key, Item(*key))
        if item.event_count and item.is_duplicate(ev, window_ms):
            counts["duplicates"] += 1
            dups.append(lineno)
            continue
        item.apply(ev)
        m = item.metrics(cfg)
        D = item.max_ts // MS_PER_DAY
        if m["stockout_risk"] is not None and m["stockout_risk"] >= cfg["alert_threshold"] \
                and item.last_alert_day != D:
            item.last_alert_day = D
            alert = {"alert_id": f"{item.sku}:{item.wh}:{m['as_of_date']}", "sku": item.sku,
                     "warehouse_id": item.wh, "as_of_date": m["as_of_date"],
                     "event_id": ev["event_id"], "event_timestamp": iso_ms(ev["ts"])}
            alert.update({k: m[k] for k in ALERT_FIELDS})
            alerts.append(alert)
    final = [items[k].metrics(cfg) for k in sorted(items)]
    daily = [dict(sku=k[0], warehouse_id=k[1], date=date_str(d), **items[k].daily[d])
             for k in sorted(items) for d in sorted(items[k].daily)]
    return {"final": final, "alerts": alerts, "rejects": rejects, "duplicates": dups,
            "daily": daily, "counts": counts}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("--config", default="{}", help="JSON object overriding the defaults")
    ap.add_argument("--batch-size", type=int, default=100, help="accepted and ignored")
    a = ap.parse_args()
    cfg = dict(DEFAULTS, **json.loads(a.config))
    with open(a.events, "rb") as fh:
        text = fh.read().decode("utf-8", errors="replace")
    json.dump(run(text.split("\n"), cfg), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
