#!/usr/bin/env python3
"""Run oracle.py on every fixtures/golden/<case>/ and compare with expected.json (numbers to 1e-9).

Usage: python3 test/oracle/check_golden.py [CASE ...]      exit status 1 on any mismatch.
"""
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "..", "fixtures", "golden")
TOL = 1e-9


def diff(a, b, path="$"):
    """Yield a description of every difference between expected a and actual b."""
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool):
        if not math.isclose(a, b, rel_tol=TOL, abs_tol=TOL):
            yield f"{path}: expected {a!r}, got {b!r}"
    elif isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                yield f"{path}.{k}: {'missing' if k not in b else 'unexpected'}"
            else:
                yield from diff(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{path}: expected {len(a)} elements, got {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            yield from diff(x, y, f"{path}[{i}]")
    elif a != b or type(a) is not type(b):
        yield f"{path}: expected {a!r}, got {b!r}"


def main():
    cases = sys.argv[1:] or sorted(c for c in os.listdir(GOLDEN) if os.path.isdir(os.path.join(GOLDEN, c)))
    bad = 0
    for case in cases:
        d = os.path.join(GOLDEN, case)
        cfg = os.path.join(d, "config.json")
        cmd = [sys.executable, os.path.join(HERE, "oracle.py"), os.path.join(d, "events.jsonl")]
        if os.path.exists(cfg):
            cmd += ["--config", open(cfg).read()]
        got = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        problems = list(diff(json.load(open(os.path.join(d, "expected.json"))), got))
        bad += bool(problems)
        print(("FAIL " if problems else "ok   ") + case)
        for p in problems[:20]:
            print("     " + p)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
