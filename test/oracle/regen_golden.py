#!/usr/bin/env python3
"""Writes the risk (SPEC §5) columns and the alerts (§6) of fixtures/golden/*/expected.json from the
oracle, and checks that everything else in them, worked out by hand, is what the oracle computes.

Risk version 2 (a negative binomial demand model, scenarios of late and short deliveries, first
passage over the receipts) cannot be worked out by hand case by case as version 1 was, so these
fields are the oracle's, an independent computation (never the TypeScript engine's):

    expected_demand_lead_time, stockout_risk, risk_level, days_of_cover, safety_stock,
    reorder_point, reorder_quantity, expected_stockout_date, and every alert message

The hand-worked parts are never rewritten: the §3–§4 columns of the final rows, on_order and
inventory_position (§3; a case without purchase orders gets on_order 0 and inventory_position =
on_hand, which is the rule, not a computation), the daily rows, rejects, duplicates and counts.
If any of them disagrees with the oracle by more than 1e-9, nothing is written for that case.

Usage: python3 test/oracle/regen_golden.py [CASE ...]        (exit status 1 on any disagreement)
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import oracle  # noqa: E402
from check_golden import GOLDEN, diff  # noqa: E402

FROM_ORACLE = ("expected_demand_lead_time", "stockout_risk", "risk_level", "days_of_cover", "safety_stock",
               "reorder_point", "reorder_quantity", "expected_stockout_date")


def regenerate(case):
    d = os.path.join(GOLDEN, case)
    cfg_path = os.path.join(d, "config.json")
    cfg = dict(oracle.DEFAULTS, **(json.load(open(cfg_path)) if os.path.exists(cfg_path) else {}))
    text = open(os.path.join(d, "events.jsonl"), "rb").read().decode("utf-8", errors="replace")
    got = oracle.run(text.split("\n"), cfg)
    expected = json.load(open(os.path.join(d, "expected.json")))
    has_orders = any('"purchase_order"' in line for line in text.split("\n"))
    final = []
    for hand, computed in zip(expected["final"], got["final"]):
        hand = dict(hand)
        if "on_order" not in hand:
            if has_orders:
                return [f"{case}: {hand['sku']}: on_order and inventory_position must be worked out by hand"]
            hand["on_order"] = 0.0
            hand["inventory_position"] = hand["on_hand"]
        row = {}
        for key, value in computed.items():
            row[key] = value if key in FROM_ORACLE else hand.get(key, "<missing>")
        final.append(row)
    problems = list(diff({k: expected[k] for k in ("rejects", "duplicates", "daily", "counts")},
                         {k: got[k] for k in ("rejects", "duplicates", "daily", "counts")}, f"{case}"))
    if len(expected["final"]) != len(got["final"]):
        problems.append(f"{case}: {len(expected['final'])} final rows, the oracle has {len(got['final'])}")
    problems += list(diff(final, got["final"], f"{case}.final"))
    if problems:
        return problems
    out = {"final": final, "alerts": got["alerts"], "rejects": expected["rejects"],
           "duplicates": expected["duplicates"], "daily": expected["daily"], "counts": expected["counts"]}
    with open(os.path.join(d, "expected.json"), "w") as fh:
        json.dump(out, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    return []


def main():
    cases = sys.argv[1:] or sorted(c for c in os.listdir(GOLDEN) if os.path.isdir(os.path.join(GOLDEN, c)))
    bad = 0
    for case in cases:
        problems = regenerate(case)
        bad += bool(problems)
        print(("FAIL " if problems else "ok   ") + case)
        for p in problems[:20]:
            print("     " + p)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
