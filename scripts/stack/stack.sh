#!/usr/bin/env bash
# Local service stack for invpipe: Kafka (single KRaft node), PostgreSQL, Redis.
#
#   bash scripts/stack/stack.sh up [kafka|postgres|redis ...]   start what does not answer yet, prepare the DB
#   bash scripts/stack/stack.sh status                           one line per service (exit 3 if any is down)
#   bash scripts/stack/stack.sh down [kafka|postgres|redis ...]  stop only what this script started
#   bash scripts/stack/stack.sh kafka-up | kafka-down            Kafka only
#   bash scripts/stack/stack.sh clean                            down, then delete .stack/ state (keeps Kafka jars)
#
# Addresses come from the variables of the Configuration table (README) (KAFKA_BOOTSTRAP_SERVERS, POSTGRES_*, REDIS_*).
# A service that already answers at its address is used as it is; otherwise, when the address is
# local, the script starts one with its state under .stack/ (repo root) and records that it did.
# Extra knobs: STACK_DIR, KAFKA_HEAP (-Xmx512m), KAFKA_CONTROLLER_PORT (9093), KAFKA_START_TIMEOUT (90),
# STACK_NO_INSTALL=1 (never apt-get install a missing redis-server/postgresql/maven),
# KAFKA_SASL_PORT (9094: a SASL_PLAINTEXT listener with SCRAM-SHA-256/512 for the security tests),
# KAFKA_SSL_PORT (9095: the same over TLS, SASL_SSL, with a self-signed certificate for 127.0.0.1
# and localhost made by keytool; clients trust it through .stack/kafka/tls/ca.pem),
# KAFKA_SCRAM_USER / KAFKA_SCRAM_PASSWORD (invpipe / invpipe-test-secret: the SCRAM user it knows).
set -euo pipefail

# The services live in files of their own beside this one (settings, then <service>_up, _down and
# _status), with the helpers they share in common.sh and Kafka's configuration files in kafka/.
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/stack/common.sh
source "$SCRIPT_DIR/common.sh"
# shellcheck source=scripts/stack/kafka.sh
source "$SCRIPT_DIR/kafka.sh"
# shellcheck source=scripts/stack/postgres.sh
source "$SCRIPT_DIR/postgres.sh"
# shellcheck source=scripts/stack/redis.sh
source "$SCRIPT_DIR/redis.sh"

services() { # validate the service list (default: all)
  local s
  if (($# == 0)); then echo "postgres redis kafka"; return; fi
  for s in "$@"; do
    case "$s" in kafka | postgres | redis) ;; *) die "unknown service '$s' (kafka, postgres, redis)" ;; esac
  done
  echo "$*"
}

usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

main() {
  local cmd="${1:-help}" s t0 rc=0
  shift || true
  case "$cmd" in
    up)
      services "$@" >/dev/null
      lock_stack
      t0="$(now)"
      for s in $(services "$@"); do "${s}_up"; done
      say "up: done in $(since "$t0")"
      ;;
    down)
      services "$@" >/dev/null
      lock_stack
      local list
      list="$(services "$@")"
      for s in kafka redis postgres; do [[ " $list " == *" $s "* ]] && "${s}_down"; done
      true
      ;;
    status)
      for s in postgres redis kafka; do "${s}_status" || rc=3; done
      return "$rc"
      ;;
    kafka-up) main up kafka ;;
    kafka-down) main down kafka ;;
    clean)
      main down
      local keep
      keep="$(mktemp -d "$STACK_DIR/.keep.XXXXXX")"
      [[ -d "$KAFKA_LIBS" ]] && mv "$KAFKA_LIBS" "$keep/libs"
      rm -rf "$KAFKA_DIR" "$PG_DIR" "$REDIS_DIR" "$STACK_DIR/postgres-prepare.log"
      [[ -d "$keep/libs" ]] && { mkdir -p "$KAFKA_DIR"; mv "$keep/libs" "$KAFKA_LIBS"; }
      rmdir "$keep"
      say "clean: removed service state under $STACK_DIR (kept Kafka jars)"
      ;;
    help | -h | --help) usage ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
  esac
}

main "$@"
