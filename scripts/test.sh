#!/usr/bin/env bash
# The whole test suite on a fresh machine: Bun and dependencies, the local stack (Apache Kafka,
# PostgreSQL, Redis; started when nothing answers), type check, lint, then every test.
# Ends with a plain "N passed, N failed" line. Services this run started are stopped at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. scripts/bootstrap.sh

echo "== stack"
before=$(bash scripts/stack/stack.sh status 2>/dev/null || true)
bash scripts/stack/stack.sh up
stop_started() {
  # Stop only what was not already running before this run.
  local services=()
  for s in kafka postgres redis; do
    if ! grep -Eq "^$s +up" <<<"$before"; then services+=("$s"); fi
  done
  if [ ${#services[@]} -gt 0 ]; then bash scripts/stack/stack.sh down "${services[@]}" || true; fi
}

log=$(mktemp)
trap 'stop_started; rm -f "$log"' EXIT

echo "== browser"
# Installed here, outside any test timeout: the backtest HTML test renders its page in Chromium.
bash scripts/ensure-chromium.sh

echo "== typecheck"; bun run typecheck
echo "== lint"; bun run lint

echo "== tests"
set +e
bun test --timeout 120000 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo '^ *[0-9]+ pass$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
failed=$(grep -Eo '^ *[0-9]+ fail$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
if [ "$failed" != 0 ]; then
  # Each failure's report again at the end, where a CI log cut to its tail still shows it (a random
  # test's seed and counterexample among it): the 40 lines before each "(fail)", each cut at 400 characters.
  echo "== failures, again"
  awk '/^ *[0-9]+ tests? failed:/ { exit } { keep[NR % 40] = $0 } /^\(fail\)/ { for (i = NR - 39; i <= NR; i++) if (i > 0) print substr(keep[i % 40], 1, 400); print "--" }' "$log" | tail -n 400
fi
echo "tests: $passed passed, $failed failed"
exit "$status"
