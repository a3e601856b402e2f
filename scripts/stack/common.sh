# shellcheck shell=bash
# Shared by the service files of scripts/stack/stack.sh (sourced, not run): paths, messages, ports,
# pid files, package installs and the lock. Expects SCRIPT_DIR (the directory of stack.sh).

ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
STACK_DIR="${STACK_DIR:-$ROOT/.stack}"

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

# Writes template $1 to $2 with every ${NAME} of the names given replaced by that variable's value.
# Plain bash rather than sed or envsubst: values are paths that may hold any character, and
# envsubst (gettext-base) is not in a minimal Debian.
render_template() { # template output NAME...
  local text name
  text="$(<"$1")"
  # every placeholder must be one of the names: Kafka would take a left-over "${...}" literally
  # shellcheck disable=SC2016 # the pattern is a literal ${NAME}
  for name in $(grep -o '\${[A-Za-z_][A-Za-z0-9_]*}' "$1" | tr -d '${}' | sort -u); do
    [[ " ${*:3} " == *" $name "* ]] || die "$1: \${$name} is not filled in"
  done
  for name in "${@:3}"; do text="${text//"\${$name}"/"${!name}"}"; done
  printf '%s\n' "$text" >"$2"
}

# Serialises concurrent runs. Every daemon we start gets "9>&-" so that it does not keep the lock.
lock_stack() {
  mkdir -p "$STACK_DIR"
  exec 9>"$STACK_DIR/.lock"
  flock -w 300 9 || die "another stack.sh is still running (lock $STACK_DIR/.lock)"
}
