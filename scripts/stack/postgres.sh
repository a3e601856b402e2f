# shellcheck shell=bash
# PostgreSQL for stack.sh (sourced, not run): a local server with its data under .stack/postgres when
# none answers, then the application role and its databases.

POSTGRES_HOST="${POSTGRES_HOST:-localhost}"
POSTGRES_PORT="${POSTGRES_PORT:-5432}"
POSTGRES_DB="${POSTGRES_DB:-inventory}"
POSTGRES_TEST_DB="${POSTGRES_TEST_DB:-inventory_test}"
POSTGRES_USER="${POSTGRES_USER:-inventory_user}"
POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-}"

PG_DIR="$STACK_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"

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
  [[ -s "$PG_DATA/PG_VERSION" ]] || pg_init_data "$initdb"
  # test settings: no durability needed, local TCP only
  if ! as_pg_owner "$pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start \
    -o "-p $POSTGRES_PORT -c listen_addresses=127.0.0.1 -k /tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >"$PG_DIR/pg_ctl.log" 2>&1 </dev/null 9>&-; then
    tail -n 30 "$PG_LOG" >&2 || true
    die "postgres: server did not start (log $PG_LOG)"
  fi
  say "postgres: started local server from $initdb (data $PG_DATA)"
}

# A new data directory; C.UTF-8 where the system has that locale, no locale otherwise.
pg_init_data() { # initdb
  rm -rf "$PG_DATA"
  as_pg_owner "$1" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 ||
    as_pg_owner "$1" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 ||
    { cat "$PG_DIR/initdb.log" >&2; die "postgres: initdb failed"; }
  say "postgres: initialised $PG_DATA"
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
