#!/usr/bin/env bash
# The whole test suite on a fresh machine: Bun and dependencies, type check, lint, then every test.
# Ends with a plain "N passed, N failed" line.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. scripts/bootstrap.sh

echo "== typecheck"; bun run typecheck
echo "== lint"; bun run lint

echo "== tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
bun test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo '^ *[0-9]+ pass$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
failed=$(grep -Eo '^ *[0-9]+ fail$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
echo "tests: $passed passed, $failed failed"
exit "$status"
