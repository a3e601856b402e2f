#!/usr/bin/env bash
# Local service stack for invpipe: Kafka (single KRaft node), PostgreSQL, Redis.
#
#   bash scripts/stack/stack.sh up [kafka|postgres|redis ...]   start what does not answer yet, prepare the DB
#   bash scripts/stack/stack.sh status                           one line per service (exit 3 if any is down)
#   bash scripts/stack/stack.sh down [kafka|postgres|redis ...]  stop only what this script started
#   bash scripts/stack/stack.sh kafka-up | kafka-down            Kafka only
#   bash scripts/stack/stack.sh clean                            down, then delete .stack/ state (keeps Kafka jars)
#
# Addresses come from the variables of SPEC §8 (KAFKA_BOOTSTRAP_SERVERS, POSTGRES_*, REDIS_*).
# A service that already answers at its address is used as it is; otherwise, when the address is
# local, the script starts one with its state under .stack/ (repo root) and records that it did.
# Extra knobs: STACK_DIR, KAFKA_HEAP (-Xmx512m), KAFKA_CONTROLLER_PORT (9093), KAFKA_START_TIMEOUT (90),
# STACK_NO_INSTALL=1 (never apt-get install a missing redis-server/postgresql/maven),
# KAFKA_SASL_PORT (9094: a SASL_PLAINTEXT listener with SCRAM-SHA-256/512 for the security tests),
# KAFKA_SSL_PORT (9095: the same over TLS, SASL_SSL, with a self-signed certificate for 127.0.0.1
# and localhost made by keytool; clients trust it through .stack/kafka/tls/ca.pem),
# KAFKA_SCRAM_USER / KAFKA_SCRAM_PASSWORD (invpipe / invpipe-test-secret: the SCRAM user it knows).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
STACK_DIR="${STACK_DIR:-$ROOT/.stack}"

KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-localhost:9092}"
KAFKA_HEAP="${KAFKA_HEAP:-${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-9094}"
KAFKA_SSL_PORT="${KAFKA_SSL_PORT:-9095}"
KAFKA_SCRAM_USER="${KAFKA_SCRAM_USER:-invpipe}"
KAFKA_SCRAM_PASSWORD="${KAFKA_SCRAM_PASSWORD:-invpipe-test-secret}"
POSTGRES_HOST="${POSTGRES_HOST:-localhost}"
POSTGRES_PORT="${POSTGRES_PORT:-5432}"
POSTGRES_DB="${POSTGRES_DB:-inventory}"
POSTGRES_TEST_DB="${POSTGRES_TEST_DB:-inventory_test}"
POSTGRES_USER="${POSTGRES_USER:-inventory_user}"
POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-}"
REDIS_HOST="${REDIS_HOST:-localhost}"
REDIS_PORT="${REDIS_PORT:-6379}"
REDIS_PASSWORD="${REDIS_PASSWORD:-}"

KAFKA_DIR="$STACK_DIR/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_TLS_DIR="$KAFKA_DIR/tls"
# guards only a throwaway development certificate
KAFKA_KEYSTORE_PASSWORD="invpipe-dev-keystore"
KAFKA_POM="$SCRIPT_DIR/kafka/pom.xml"
PG_DIR="$STACK_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
REDIS_DIR="$STACK_DIR/redis"
REDIS_PID="$REDIS_DIR/redis.pid"

# ---------------------------------------------------------------- helpers
say() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: ERROR: %s\n' "$*" >&2; exit 1; }
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

is_local_host() {
  case "$1" in localhost | 127.* | ::1 | "[::1]" | "" | 0.0.0.0) return 0 ;; *) return 1 ;; esac
}

check_port() { # name value
  [[ "$2" =~ ^[0-9]+$ ]] && ((10#$2 >= 1 && 10#$2 <= 65535)) || die "$1 must be a TCP port (1-65535), got '$2'"
}

tcp_open() { # host port: something accepts TCP connections
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

pid_alive() { # pidfile [cmdline-substring]
  local pid
  [[ -s "$1" ]] || return 1
  pid="$(head -n1 "$1" | tr -dc '0-9')"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  if [[ -n "${2:-}" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
  fi
  echo "$pid"
}

stop_pid() { # name pid timeout-seconds
  local name="$1" pid="$2" t="$3" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < t * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  say "$name (pid $pid) still running after ${t}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 25; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  die "$name (pid $pid) did not exit"
}

APT_UPDATED=0
ensure_cmd() { # command debian-package
  command -v "$1" >/dev/null 2>&1 && return 0
  if [[ "${STACK_NO_INSTALL:-0}" != 1 && $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "$1 not found: installing Debian package $2"
    if ((APT_UPDATED == 0)); then apt-get update -qq >/dev/null 2>&1 || true; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 || die "apt-get install $2 failed"
    command -v "$1" >/dev/null 2>&1 && return 0
  fi
  return 1
}

# Serialises concurrent runs. Every daemon we start gets "9>&-" so that it does not keep the lock.
lock_stack() {
  mkdir -p "$STACK_DIR"
  exec 9>"$STACK_DIR/.lock"
  flock -w 300 9 || die "another stack.sh is still running (lock $STACK_DIR/.lock)"
}

# ---------------------------------------------------------------- kafka
kafka_addr() {
  local first="${KAFKA_BOOTSTRAP_SERVERS%%,*}"
  first="${first#*://}"
  KAFKA_HOST="${first%:*}"
  KAFKA_PORT="${first##*:}"
  [[ "$first" == *:* && -n "$KAFKA_HOST" ]] || die "KAFKA_BOOTSTRAP_SERVERS must be host:port[,host:port...], got '$KAFKA_BOOTSTRAP_SERVERS'"
  check_port KAFKA_BOOTSTRAP_SERVERS "$KAFKA_PORT"
  check_port KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
  check_port KAFKA_SASL_PORT "$KAFKA_SASL_PORT"
  check_port KAFKA_SSL_PORT "$KAFKA_SSL_PORT"
  [[ "$KAFKA_SCRAM_USER" =~ ^[A-Za-z0-9._-]+$ ]] || die "KAFKA_SCRAM_USER must be letters, digits, '.', '_' or '-', got '$KAFKA_SCRAM_USER'"
  [[ -n "$KAFKA_SCRAM_PASSWORD" && "$KAFKA_SCRAM_PASSWORD" != *[],=[]* ]] || die "KAFKA_SCRAM_PASSWORD must be non-empty without ',', '=', '[' or ']'"
}

# A Kafka broker answers an ApiVersions v0 request with our correlation id (no JVM needed).
kafka_answers() { # host port
  local out
  out="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    # size=15 | api_key=18 ApiVersions | version=0 | correlation_id=0x1badcafe | client_id="stack"
    printf "\x00\x00\x00\x0f\x00\x12\x00\x00\x1b\xad\xca\xfe\x00\x05stack" >&3
    head -c 10 <&3 | od -An -tx1 | tr -d " \n"' "$1" "$2" 2>/dev/null)" || return 1
  # bytes 4..7 = correlation id, 8..9 = error code 0
  [[ "${out:8:12}" == "1badcafe0000" ]]
}

kafka_fetch_libs() {
  local want have t0
  want="$(sha256sum "$KAFKA_POM" | cut -c1-64)"
  have="$(cat "$KAFKA_LIBS/.pom.sha256" 2>/dev/null || true)"
  [[ "$want" == "$have" ]] && return 0
  ensure_cmd java openjdk-17-jre-headless || die "java (17+) not found"
  ensure_cmd mvn maven || die "mvn not found (needed once to fetch the Kafka jars)"
  t0="$(now)"
  say "kafka: fetching broker jars with Maven ($(grep -o '<kafka.version>[^<]*' "$KAFKA_POM" | cut -d'>' -f2))..."
  rm -rf "$KAFKA_LIBS.tmp"
  mkdir -p "$KAFKA_DIR"
  if ! mvn -B -q -f "$KAFKA_POM" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_LIBS.tmp" >"$KAFKA_DIR/mvn.log" 2>&1; then
    tail -n 30 "$KAFKA_DIR/mvn.log" >&2
    die "kafka: Maven could not fetch the jars (full log: $KAFKA_DIR/mvn.log)"
  fi
  echo "$want" >"$KAFKA_LIBS.tmp/.pom.sha256"
  rm -rf "$KAFKA_LIBS"
  mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
  say "kafka: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $KAFKA_LIBS ($(since "$t0"))"
}

# A self-signed certificate for the SASL_SSL listener, valid for 127.0.0.1 and localhost; its PEM
# is the CA file clients trust (KAFKA_SSL_CA_FILE). Made once, kept with the broker's state.
kafka_make_certificate() {
  [[ -s "$KAFKA_TLS_DIR/broker.p12" && -s "$KAFKA_TLS_DIR/ca.pem" ]] && return 0
  ensure_cmd keytool openjdk-17-jre-headless || die "keytool (from Java) not found"
  mkdir -p "$KAFKA_TLS_DIR"
  rm -f "$KAFKA_TLS_DIR/broker.p12" "$KAFKA_TLS_DIR/ca.pem"
  keytool -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 3650 -dname "CN=localhost" \
    -ext "SAN=dns:localhost,ip:127.0.0.1" -keystore "$KAFKA_TLS_DIR/broker.p12" -storetype PKCS12 \
    -storepass "$KAFKA_KEYSTORE_PASSWORD" -keypass "$KAFKA_KEYSTORE_PASSWORD" >"$KAFKA_TLS_DIR/keytool.log" 2>&1 ||
    { cat "$KAFKA_TLS_DIR/keytool.log" >&2; die "kafka: keytool could not make the TLS certificate"; }
  chmod 600 "$KAFKA_TLS_DIR/broker.p12"
  keytool -exportcert -rfc -alias broker -keystore "$KAFKA_TLS_DIR/broker.p12" \
    -storepass "$KAFKA_KEYSTORE_PASSWORD" -file "$KAFKA_TLS_DIR/ca.pem" >>"$KAFKA_TLS_DIR/keytool.log" 2>&1 ||
    { cat "$KAFKA_TLS_DIR/keytool.log" >&2; die "kafka: keytool could not export the certificate"; }
  say "kafka: made a TLS certificate for 127.0.0.1/localhost ($KAFKA_TLS_DIR/ca.pem)"
}

kafka_write_config() {
  mkdir -p "$KAFKA_DIR/data"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# generated by scripts/stack/stack.sh: single-node KRaft (combined broker + controller) for dev/tests
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT,SASL_SSL://127.0.0.1:$KAFKA_SSL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT,SASL_SSL://127.0.0.1:$KAFKA_SSL_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
# SASL/SCRAM on listeners of their own (the security tests), in clear and over TLS; the users live
# in the KRaft metadata
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$KAFKA_TLS_DIR/broker.p12
ssl.keystore.password=$KAFKA_KEYSTORE_PASSWORD
log.dirs=$KAFKA_DIR/data
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# after a kill -9 the restarted broker waits for its old registration to expire: keep that short
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
log.retention.hours=24
log.segment.bytes=67108864
EOF
  cat >"$KAFKA_DIR/log4j2.properties" <<'EOF'
# generated by scripts/stack/stack.sh
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = WARN
logger.coordinator.name = org.apache.kafka.coordinator
logger.coordinator.level = WARN
logger.clientconfig.name = org.apache.kafka.common.config.AbstractConfig
logger.clientconfig.level = WARN
EOF
}

kafka_up() {
  local t0 pid i
  t0="$(now)"
  kafka_addr
  if pid="$(pid_alive "$KAFKA_PID" kafka.Kafka)"; then
    local started_port
    started_port="$(cat "$KAFKA_DIR/kafka.port" 2>/dev/null || true)"
    if [[ "$started_port" != "$KAFKA_PORT" ]] || ! is_local_host "$KAFKA_HOST"; then
      die "kafka: the broker started by stack.sh (pid $pid) listens on 127.0.0.1:${started_port:-?}, not at $KAFKA_HOST:$KAFKA_PORT; run '$0 kafka-down' first"
    fi
    if ! grep -Eq "^listeners=.*SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT,SASL_SSL://127.0.0.1:$KAFKA_SSL_PORT(,|\$)" "$KAFKA_DIR/server.properties" 2>/dev/null; then
      # started by an older stack.sh, without the SASL/SCRAM listeners: restart it with the new
      # config, once what the new one needs is known to be there (a working broker is not stopped
      # only to fail on a taken port or a missing keytool)
      tcp_open 127.0.0.1 "$KAFKA_SSL_PORT" && die "kafka: SASL_SSL port $KAFKA_SSL_PORT is taken (set KAFKA_SSL_PORT); the running broker (pid $pid) is left as it is"
      kafka_make_certificate
      say "kafka: our broker (pid $pid) lacks the SASL listeners on $KAFKA_SASL_PORT and $KAFKA_SSL_PORT, restarting it"
      kafka_down
      pid=""
    elif kafka_answers "$KAFKA_HOST" "$KAFKA_PORT"; then
      say "kafka: already running (pid $pid) at $KAFKA_HOST:$KAFKA_PORT"
      kafka_ensure_scram_user
      return 0
    else
      say "kafka: our broker (pid $pid) does not answer yet, waiting"
    fi
  fi
  if [[ -n "$pid" ]]; then
    :
  elif kafka_answers "$KAFKA_HOST" "$KAFKA_PORT"; then
    say "kafka: a broker already answers at $KAFKA_HOST:$KAFKA_PORT, using it"
    kafka_answers 127.0.0.1 "$KAFKA_SASL_PORT" ||
      say "kafka: note: nothing answers at 127.0.0.1:$KAFKA_SASL_PORT, so the SASL/SCRAM test will fail (that broker is not ours)"
    return 0
  else
    rm -f "$KAFKA_PID"
    is_local_host "$KAFKA_HOST" || die "kafka: nothing answers at $KAFKA_HOST:$KAFKA_PORT and it is not a local address; not starting a broker"
    tcp_open 127.0.0.1 "$KAFKA_PORT" && die "kafka: port $KAFKA_PORT is taken by something that is not a Kafka broker"
    tcp_open 127.0.0.1 "$KAFKA_CONTROLLER_PORT" && die "kafka: controller port $KAFKA_CONTROLLER_PORT is taken (set KAFKA_CONTROLLER_PORT)"
    tcp_open 127.0.0.1 "$KAFKA_SASL_PORT" && die "kafka: SASL port $KAFKA_SASL_PORT is taken (set KAFKA_SASL_PORT)"
    tcp_open 127.0.0.1 "$KAFKA_SSL_PORT" && die "kafka: SASL_SSL port $KAFKA_SSL_PORT is taken (set KAFKA_SSL_PORT)"
    ensure_cmd java openjdk-17-jre-headless || die "java (17+) not found"
    kafka_fetch_libs
    kafka_make_certificate
    kafka_write_config
    local cp="$KAFKA_LIBS/*"
    if [[ ! -s "$KAFKA_DIR/data/meta.properties" ]]; then
      local cid
      cid="$(cat "$KAFKA_DIR/cluster-id" 2>/dev/null || true)"
      if [[ -z "$cid" ]]; then
        cid="$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
        [[ -n "$cid" ]] || die "kafka: could not generate a cluster id"
        echo "$cid" >"$KAFKA_DIR/cluster-id"
      fi
      # the SCRAM user goes into the initial metadata (no admin call needed on a fresh node)
      if ! java -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -cp "$cp" kafka.tools.StorageTool format \
        --config "$KAFKA_DIR/server.properties" --cluster-id "$cid" --ignore-formatted \
        --add-scram "SCRAM-SHA-256=[name=$KAFKA_SCRAM_USER,password=$KAFKA_SCRAM_PASSWORD]" \
        --add-scram "SCRAM-SHA-512=[name=$KAFKA_SCRAM_USER,password=$KAFKA_SCRAM_PASSWORD]" >"$KAFKA_DIR/format.log" 2>&1; then
        cat "$KAFKA_DIR/format.log" >&2
        die "kafka: formatting the storage failed"
      fi
      scram_mark >"$KAFKA_DIR/scram-user"
      say "kafka: formatted storage in $KAFKA_DIR/data (cluster id $cid, SCRAM user $KAFKA_SCRAM_USER)"
    fi
    [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
    # shellcheck disable=SC2086 # KAFKA_HEAP holds several JVM options
    setsid java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
      -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
      -cp "$cp" kafka.Kafka "$KAFKA_DIR/server.properties" >"$KAFKA_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$KAFKA_PID"
    echo "$KAFKA_PORT" >"$KAFKA_DIR/kafka.port"
    say "kafka: starting broker (pid $pid) on 127.0.0.1:$KAFKA_PORT, log $KAFKA_LOG"
  fi
  for ((i = 0; i < KAFKA_START_TIMEOUT * 4; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$KAFKA_LOG" >&2 || true
      rm -f "$KAFKA_PID"
      die "kafka: broker exited during startup (log above, full log $KAFKA_LOG)"
    fi
    if grep -q 'Kafka Server started' "$KAFKA_LOG" 2>/dev/null && kafka_answers 127.0.0.1 "$KAFKA_PORT"; then
      kafka_ensure_scram_user
      say "kafka: up at 127.0.0.1:$KAFKA_PORT, SASL/SCRAM at 127.0.0.1:$KAFKA_SASL_PORT, SASL_SSL at 127.0.0.1:$KAFKA_SSL_PORT (pid $pid, $(since "$t0"))"
      return 0
    fi
    sleep 0.25
  done
  tail -n 40 "$KAFKA_LOG" >&2 || true
  die "kafka: broker (pid $pid) did not answer within ${KAFKA_START_TIMEOUT}s (log above; still running, stop it with: $0 kafka-down)"
}

# What the SCRAM user was made with (the password only as a hash), to skip the admin call next time.
scram_mark() { printf '%s %s\n' "$KAFKA_SCRAM_USER" "$(printf '%s' "$KAFKA_SCRAM_PASSWORD" | sha256sum | cut -c1-64)"; }

# A node formatted before the SASL listener existed (or with another user/password) gets the SCRAM
# user through the admin API (kafka-configs), idempotently.
kafka_ensure_scram_user() {
  [[ "$(cat "$KAFKA_DIR/scram-user" 2>/dev/null)" == "$(scram_mark)" ]] && return 0
  local mechanism out
  : >"$KAFKA_DIR/scram.log"
  # one mechanism per call: Kafka refuses to alter one user's credentials twice in a request
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
    if ! java -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -cp "$KAFKA_LIBS/*" kafka.admin.ConfigCommand \
      --bootstrap-server "127.0.0.1:$KAFKA_PORT" --alter --entity-type users --entity-name "$KAFKA_SCRAM_USER" \
      --add-config "$mechanism=[password=$KAFKA_SCRAM_PASSWORD]" >>"$KAFKA_DIR/scram.log" 2>&1; then
      out="$(grep -v ' INFO ' "$KAFKA_DIR/scram.log" | tail -n 20)"
      printf '%s\n' "${out//"$KAFKA_SCRAM_PASSWORD"/***}" >&2
      die "kafka: creating the SCRAM user $KAFKA_SCRAM_USER ($mechanism) failed"
    fi
  done
  scram_mark >"$KAFKA_DIR/scram-user"
  say "kafka: SCRAM user $KAFKA_SCRAM_USER created through the admin API"
}

kafka_down() {
  local pid
  if pid="$(pid_alive "$KAFKA_PID" kafka.Kafka)"; then
    local t0
    t0="$(now)"
    stop_pid kafka "$pid" 45
    say "kafka: stopped (pid $pid, $(since "$t0"))"
  else
    say "kafka: not started by this script, nothing to stop"
  fi
  rm -f "$KAFKA_PID" "$KAFKA_DIR/kafka.port"
}

kafka_status() {
  kafka_addr
  local pid who=external
  pid="$(pid_alive "$KAFKA_PID" kafka.Kafka)" && who="started by stack.sh, pid $pid"
  if kafka_answers 127.0.0.1 "$KAFKA_SASL_PORT"; then who="$who; SASL/SCRAM at 127.0.0.1:$KAFKA_SASL_PORT"; fi
  if tcp_open 127.0.0.1 "$KAFKA_SSL_PORT"; then who="$who; SASL_SSL at 127.0.0.1:$KAFKA_SSL_PORT"; fi
  if kafka_answers "$KAFKA_HOST" "$KAFKA_PORT"; then
    printf '%-9s up    %s (%s)\n' kafka "$KAFKA_HOST:$KAFKA_PORT" "$who"
  else
    printf '%-9s down  %s%s\n' kafka "$KAFKA_HOST:$KAFKA_PORT" "${pid:+ (our broker pid $pid is running but does not answer)}"
    return 1
  fi
}

# ---------------------------------------------------------------- postgres
pg_bin() { # tool: from PATH, else the newest /usr/lib/postgresql/*/bin
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
  if [[ -n "$d" && -x "$d/$1" ]]; then echo "$d/$1"; return 0; fi
  command -v "$1" 2>/dev/null
}

pg_answers() {
  local isready
  isready="$(pg_bin pg_isready)" || { tcp_open "$POSTGRES_HOST" "$POSTGRES_PORT"; return; }
  "$isready" -q -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -t 3
}

# run "$@" as the postgres OS user when we are root (initdb/pg_ctl refuse to run as root)
as_pg_owner() {
  if [[ $EUID -ne 0 ]]; then "$@"; return; fi
  if ! id -u postgres >/dev/null 2>&1; then
    say "postgres: creating the system user 'postgres' to run the server"
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@"; else su postgres -s /bin/bash -c "$(printf '%q ' "$@")"; fi
}

pg_server_start() {
  is_local_host "$POSTGRES_HOST" || die "postgres: nothing answers at $POSTGRES_HOST:$POSTGRES_PORT and it is not a local address; not starting a server"
  if [[ -z "$(pg_bin initdb || true)" ]]; then
    ensure_cmd pg_ctlcluster postgresql >/dev/null 2>&1 || true
    [[ -n "$(pg_bin initdb || true)" ]] || die "postgres: no PostgreSQL server binaries (initdb) found; apt-get install postgresql"
    # installing the package may have started the distribution's cluster on this port
    pg_answers && { say "postgres: the freshly installed cluster answers at $POSTGRES_HOST:$POSTGRES_PORT"; return 0; }
  fi
  local initdb pg_ctl
  initdb="$(pg_bin initdb)"
  pg_ctl="$(pg_bin pg_ctl)"
  mkdir -p "$PG_DIR"
  [[ $EUID -eq 0 ]] && { id -u postgres >/dev/null 2>&1 || as_pg_owner true; chown postgres: "$PG_DIR"; }
  if [[ ! -s "$PG_DATA/PG_VERSION" ]]; then
    rm -rf "$PG_DATA"
    as_pg_owner "$initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 ||
      as_pg_owner "$initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 ||
      { cat "$PG_DIR/initdb.log" >&2; die "postgres: initdb failed"; }
    say "postgres: initialised $PG_DATA"
  fi
  # test settings: no durability needed, local TCP only
  if ! as_pg_owner "$pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start \
    -o "-p $POSTGRES_PORT -c listen_addresses=127.0.0.1 -k /tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >"$PG_DIR/pg_ctl.log" 2>&1 </dev/null 9>&-; then
    tail -n 30 "$PG_LOG" >&2 || true
    die "postgres: server did not start (log $PG_LOG)"
  fi
  say "postgres: started local server from $initdb (data $PG_DATA)"
}

# superuser psql: sets PSQL_SU to a command prefix that works, or fails
PSQL_SU=()
pg_find_superuser() {
  local psql u q='select 1 from pg_roles where rolname = current_user and rolsuper'
  psql="$(pg_bin psql)" || die "postgres: psql not found"
  for u in root postgres; do
    if [[ "$(PGCONNECT_TIMEOUT=3 "$psql" -w -X -qtA -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$u" -d postgres -c "$q" 2>/dev/null)" == 1 ]]; then
      PSQL_SU=("$psql" -w -X -q -v ON_ERROR_STOP=1 -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$u" -d postgres)
      return 0
    fi
  done
  if [[ $EUID -eq 0 ]] && id -u postgres >/dev/null 2>&1 && is_local_host "$POSTGRES_HOST"; then
    # peer authentication over the distribution's Unix socket
    local sock
    for sock in /var/run/postgresql /tmp; do
      if [[ "$(as_pg_owner env PGCONNECT_TIMEOUT=3 "$psql" -w -X -qtA -h "$sock" -p "$POSTGRES_PORT" -d postgres -c "$q" 2>/dev/null)" == 1 ]]; then
        PSQL_SU=(as_pg_owner "$psql" -w -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$POSTGRES_PORT" -d postgres)
        return 0
      fi
    done
  fi
  return 1
}

sql_lit() { local s="${1//\'/\'\'}"; printf "'%s'" "$s"; }

pg_prepare() {
  pg_find_superuser || die "postgres: cannot connect as a superuser (tried roles root, postgres and the postgres OS user) to create role $POSTGRES_USER"
  local u db
  u="$(sql_lit "$POSTGRES_USER")"
  {
    echo "SELECT format('CREATE ROLE %I LOGIN', $u) WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $u) \\gexec"
    # CREATEDB: the integration tests give each scenario a database of its own.
    echo "SELECT format('ALTER ROLE %I LOGIN CREATEDB', $u) \\gexec"
    if [[ -n "$POSTGRES_PASSWORD" ]]; then
      echo "SELECT format('ALTER ROLE %I PASSWORD %L', $u, $(sql_lit "$POSTGRES_PASSWORD")) \\gexec"
    fi
    for db in "$POSTGRES_DB" "$POSTGRES_TEST_DB"; do
      db="$(sql_lit "$db")"
      echo "SELECT format('CREATE DATABASE %I OWNER %I', $db, $u) WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = $db) \\gexec"
      echo "SELECT format('ALTER DATABASE %I OWNER TO %I', $db, $u) \\gexec"
    done
  } | "${PSQL_SU[@]}" -f - >"$STACK_DIR/postgres-prepare.log" 2>&1 ||
    { sed 's/PASSWORD .*/PASSWORD ***/' "$STACK_DIR/postgres-prepare.log" >&2; die "postgres: creating role/databases failed"; }
  # the application role must be able to log in
  if ! PGPASSWORD="$POSTGRES_PASSWORD" PGCONNECT_TIMEOUT=3 "$(pg_bin psql)" -w -X -qtA -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" \
    -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c 'select 1' >/dev/null 2>&1; then
    die "postgres: role $POSTGRES_USER cannot log in to $POSTGRES_DB at $POSTGRES_HOST:$POSTGRES_PORT (check pg_hba.conf / POSTGRES_PASSWORD)"
  fi
}

pg_ours() { [[ -s "$PG_DATA/postmaster.pid" ]] && pid_alive "$PG_DATA/postmaster.pid" postgres; }

postgres_up() {
  local t0 how
  t0="$(now)"
  check_port POSTGRES_PORT "$POSTGRES_PORT"
  if pg_answers; then
    how="already running"
    pg_ours >/dev/null && how="already running (started by stack.sh)"
  else
    local pid
    if pid="$(pg_ours)"; then
      die "postgres: the server started by stack.sh (pid $pid, data $PG_DATA) does not answer at $POSTGRES_HOST:$POSTGRES_PORT (started for another port? run '$0 down postgres' first)"
    fi
    pg_server_start
    how="started"
  fi
  pg_prepare
  say "postgres: up at $POSTGRES_HOST:$POSTGRES_PORT, $how; role $POSTGRES_USER owns $POSTGRES_DB, $POSTGRES_TEST_DB ($(since "$t0"))"
}

postgres_down() {
  local pid
  if pid="$(pg_ours)"; then
    local t0
    t0="$(now)"
    as_pg_owner "$(pg_bin pg_ctl)" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || stop_pid postgres "$pid" 20
    say "postgres: stopped (pid $pid, $(since "$t0"))"
  else
    say "postgres: not started by this script, nothing to stop"
  fi
}

postgres_status() {
  local who=external
  pg_ours >/dev/null && who="started by stack.sh, data $PG_DATA"
  if pg_answers; then
    printf '%-9s up    %s (%s)\n' postgres "$POSTGRES_HOST:$POSTGRES_PORT" "$who"
  else
    printf '%-9s down  %s\n' postgres "$POSTGRES_HOST:$POSTGRES_PORT"
    return 1
  fi
}

# ---------------------------------------------------------------- redis
redis_reply() {
  command -v redis-cli >/dev/null 2>&1 || { tcp_open "$REDIS_HOST" "$REDIS_PORT" && echo PONG; return; }
  REDISCLI_AUTH="$REDIS_PASSWORD" timeout 3 redis-cli --no-auth-warning -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>&1 || true
}

redis_answers() {
  case "$(redis_reply)" in
    *PONG*) return 0 ;;
    *NOAUTH* | *WRONGPASS* | *"invalid password"*) say "redis: $REDIS_HOST:$REDIS_PORT answers but wants a password (REDIS_PASSWORD missing or wrong)" >&2; return 0 ;;
    *) return 1 ;;
  esac
}

redis_up() {
  local t0 pid i
  t0="$(now)"
  check_port REDIS_PORT "$REDIS_PORT"
  if redis_answers; then
    if pid="$(pid_alive "$REDIS_PID" redis-server)"; then
      say "redis: already running (pid $pid) at $REDIS_HOST:$REDIS_PORT"
    else
      say "redis: already answers at $REDIS_HOST:$REDIS_PORT, using it"
    fi
    return 0
  fi
  if pid="$(pid_alive "$REDIS_PID" redis-server)"; then
    die "redis: the server started by stack.sh (pid $pid) does not answer at $REDIS_HOST:$REDIS_PORT (started for another port? run '$0 down redis' first)"
  fi
  is_local_host "$REDIS_HOST" || die "redis: nothing answers at $REDIS_HOST:$REDIS_PORT and it is not a local address; not starting a server"
  ensure_cmd redis-server redis-server || die "redis: redis-server not found (apt-get install redis-server)"
  mkdir -p "$REDIS_DIR"
  rm -f "$REDIS_PID"
  (
    umask 077
    cat >"$REDIS_DIR/redis.conf" <<EOF
# generated by scripts/stack/stack.sh
bind 127.0.0.1
port $REDIS_PORT
daemonize yes
pidfile $REDIS_PID
logfile $REDIS_DIR/redis.log
dir $REDIS_DIR
save ""
appendonly no
EOF
    [[ -n "$REDIS_PASSWORD" ]] && printf 'requirepass "%s"\n' "${REDIS_PASSWORD//\"/\\\"}" >>"$REDIS_DIR/redis.conf"
    true
  )
  redis-server "$REDIS_DIR/redis.conf" >/dev/null 2>&1 </dev/null 9>&- || { tail -n 20 "$REDIS_DIR/redis.log" >&2 || true; die "redis: redis-server failed to start"; }
  for ((i = 0; i < 100; i++)); do
    if redis_answers; then
      say "redis: up at $REDIS_HOST:$REDIS_PORT (pid $(cat "$REDIS_PID" 2>/dev/null), $(since "$t0"))"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$REDIS_DIR/redis.log" >&2 || true
  die "redis: server did not answer within 10s (log $REDIS_DIR/redis.log)"
}

redis_down() {
  local pid
  if pid="$(pid_alive "$REDIS_PID" redis-server)"; then
    stop_pid redis "$pid" 10
    say "redis: stopped (pid $pid)"
  else
    say "redis: not started by this script, nothing to stop"
  fi
  rm -f "$REDIS_PID"
}

redis_status() {
  local pid who=external
  pid="$(pid_alive "$REDIS_PID" redis-server)" && who="started by stack.sh, pid $pid"
  if redis_answers; then
    printf '%-9s up    %s (%s)\n' redis "$REDIS_HOST:$REDIS_PORT" "$who"
  else
    printf '%-9s down  %s\n' redis "$REDIS_HOST:$REDIS_PORT"
    return 1
  fi
}

# ---------------------------------------------------------------- main
services() { # validate the service list (default: all)
  local s
  if (($# == 0)); then echo "postgres redis kafka"; return; fi
  for s in "$@"; do
    case "$s" in kafka | postgres | redis) ;; *) die "unknown service '$s' (kafka, postgres, redis)" ;; esac
  done
  echo "$*"
}

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

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
