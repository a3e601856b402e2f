# shellcheck shell=bash
# Kafka for stack.sh (sourced, not run): one KRaft node (broker and controller) from the jars that
# Maven fetches into .stack/kafka/libs, with PLAINTEXT, SASL_PLAINTEXT and SASL_SSL listeners.

KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-localhost:9092}"
KAFKA_HEAP="${KAFKA_HEAP:-${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-9094}"
KAFKA_SSL_PORT="${KAFKA_SSL_PORT:-9095}"
KAFKA_SCRAM_USER="${KAFKA_SCRAM_USER:-invpipe}"
KAFKA_SCRAM_PASSWORD="${KAFKA_SCRAM_PASSWORD:-invpipe-test-secret}"

KAFKA_DIR="$STACK_DIR/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_TLS_DIR="$KAFKA_DIR/tls"
# guards only a throwaway development certificate
KAFKA_KEYSTORE_PASSWORD="invpipe-dev-keystore"
KAFKA_POM="$SCRIPT_DIR/kafka/pom.xml"
KAFKA_CONFIG_TEMPLATE="$SCRIPT_DIR/kafka/server.properties.template"
KAFKA_LOG4J_CONFIG="$SCRIPT_DIR/kafka/log4j2.properties"

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
  render_template "$KAFKA_CONFIG_TEMPLATE" "$KAFKA_DIR/server.properties" \
    KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_SASL_PORT KAFKA_SSL_PORT KAFKA_TLS_DIR KAFKA_KEYSTORE_PASSWORD KAFKA_DIR
  # a copy next to server.properties: the tests' own brokers (test/support/servers.ts) use it too
  cat "$KAFKA_LOG4J_CONFIG" >"$KAFKA_DIR/log4j2.properties"
}

kafka_up() {
  local t0 pid
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
  if [[ -z "$pid" ]]; then
    if kafka_answers "$KAFKA_HOST" "$KAFKA_PORT"; then
      say "kafka: a broker already answers at $KAFKA_HOST:$KAFKA_PORT, using it"
      kafka_answers 127.0.0.1 "$KAFKA_SASL_PORT" ||
        say "kafka: note: nothing answers at 127.0.0.1:$KAFKA_SASL_PORT, so the SASL/SCRAM test will fail (that broker is not ours)"
      return 0
    fi
    kafka_start
    pid="$(cat "$KAFKA_PID")"
  fi
  kafka_wait_ready "$pid" "$t0"
}

# Everything a new broker needs, then the broker itself (its pid in $KAFKA_PID).
kafka_start() {
  rm -f "$KAFKA_PID"
  is_local_host "$KAFKA_HOST" || die "kafka: nothing answers at $KAFKA_HOST:$KAFKA_PORT and it is not a local address; not starting a broker"
  kafka_check_ports_free
  ensure_cmd java openjdk-17-jre-headless || die "java (17+) not found"
  kafka_fetch_libs
  kafka_make_certificate
  kafka_write_config
  [[ -s "$KAFKA_DIR/data/meta.properties" ]] || kafka_format_storage
  kafka_launch
}

kafka_check_ports_free() {
  tcp_open 127.0.0.1 "$KAFKA_PORT" && die "kafka: port $KAFKA_PORT is taken by something that is not a Kafka broker"
  tcp_open 127.0.0.1 "$KAFKA_CONTROLLER_PORT" && die "kafka: controller port $KAFKA_CONTROLLER_PORT is taken (set KAFKA_CONTROLLER_PORT)"
  tcp_open 127.0.0.1 "$KAFKA_SASL_PORT" && die "kafka: SASL port $KAFKA_SASL_PORT is taken (set KAFKA_SASL_PORT)"
  tcp_open 127.0.0.1 "$KAFKA_SSL_PORT" && die "kafka: SASL_SSL port $KAFKA_SSL_PORT is taken (set KAFKA_SSL_PORT)"
  true
}

# A new node's storage, with a cluster id kept across re-formats.
kafka_format_storage() {
  local cid
  cid="$(cat "$KAFKA_DIR/cluster-id" 2>/dev/null || true)"
  if [[ -z "$cid" ]]; then
    cid="$(java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
    [[ -n "$cid" ]] || die "kafka: could not generate a cluster id"
    echo "$cid" >"$KAFKA_DIR/cluster-id"
  fi
  # the SCRAM user goes into the initial metadata (no admin call needed on a fresh node)
  if ! java -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format \
    --config "$KAFKA_DIR/server.properties" --cluster-id "$cid" --ignore-formatted \
    --add-scram "SCRAM-SHA-256=[name=$KAFKA_SCRAM_USER,password=$KAFKA_SCRAM_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$KAFKA_SCRAM_USER,password=$KAFKA_SCRAM_PASSWORD]" >"$KAFKA_DIR/format.log" 2>&1; then
    cat "$KAFKA_DIR/format.log" >&2
    die "kafka: formatting the storage failed"
  fi
  scram_mark >"$KAFKA_DIR/scram-user"
  say "kafka: formatted storage in $KAFKA_DIR/data (cluster id $cid, SCRAM user $KAFKA_SCRAM_USER)"
}

kafka_launch() {
  local pid
  [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
  # shellcheck disable=SC2086 # KAFKA_HEAP holds several JVM options
  setsid java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties" >"$KAFKA_LOG" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$KAFKA_PID"
  echo "$KAFKA_PORT" >"$KAFKA_DIR/kafka.port"
  say "kafka: starting broker (pid $pid) on 127.0.0.1:$KAFKA_PORT, log $KAFKA_LOG"
}

kafka_wait_ready() { # pid start-time
  local pid="$1" t0="$2" i
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
