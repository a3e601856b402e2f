#!/usr/bin/env bash
# Makes a fresh checkout runnable: Bun (from the npm registry, into .tools/, unless the pinned
# version is already on PATH) and the locked dependencies. Idempotent and quiet when done before.
# Source it to get `bun` on PATH:  . scripts/bootstrap.sh
set -euo pipefail
BUN_VERSION=1.4.4
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# One set-up at a time: several commands started at once on a fresh clone would each run npm into the
# same .tools/ and delete each other's half-installed Bun (flock, where the system has it).
mkdir -p "$ROOT/.tools"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$ROOT/.tools/.bootstrap.lock"
  flock 9
fi

if ! command -v bun >/dev/null 2>&1 || [ "$(bun --version 2>/dev/null)" != "$BUN_VERSION" ]; then
  export PATH="$ROOT/.tools/node_modules/.bin:$PATH"
  if [ "$(bun --version 2>/dev/null)" != "$BUN_VERSION" ]; then
    command -v npm >/dev/null 2>&1 || { echo "bootstrap: npm is needed to install Bun $BUN_VERSION" >&2; exit 1; }
    echo "bootstrap: installing Bun $BUN_VERSION into .tools/ (npm registry)" >&2
    npm install --silent --no-save --no-audit --no-fund --prefix "$ROOT/.tools" "bun@$BUN_VERSION" >&2
  fi
fi

# Skip the install when node_modules already matches the lockfile and the dependency patches.
stamp="$ROOT/node_modules/.bootstrap-lock"
if [ ! -f "$stamp" ] || ! cat "$ROOT/bun.lock" "$ROOT"/scripts/patches/* | cmp -s - "$stamp"; then
  (cd "$ROOT" && bun install --frozen-lockfile >&2)
  cat "$ROOT/bun.lock" "$ROOT"/scripts/patches/* > "$stamp"
fi

if command -v flock >/dev/null 2>&1; then
  flock -u 9
  exec 9>&-
fi
