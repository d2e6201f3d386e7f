# shellcheck shell=bash
# Start a throwaway PostgreSQL for the store's conformance tests.
#
# Sourced by .ci/run (and by developers: `source .ci/postgres.sh`). Installs the Debian
# `postgresql` package when no server binaries are found, initialises a cluster in
# $PWD/.pgdata (owned by the `postgres` system user when running as root: the server
# refuses to run as root), starts it on 127.0.0.1 (port $BATON_PG_PORT, default 54329,
# or the next free one), creates the database `baton_test` and exports
#
#   BATON_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:<port>/baton_test
#
# It defines `stop_postgres`; the caller traps EXIT with it. Idempotent: a cluster that
# is already running from .pgdata is reused. The cluster is for tests only, so it runs
# with fsync off and trusts local TCP connections.

BATON_PG_DATA="${BATON_PG_DATA:-$PWD/.pgdata}"
BATON_PG_PORT="${BATON_PG_PORT:-54329}"
BATON_PG_BIN=""

_baton_pg_find_bin() {
  local dir
  # Debian's versioned directories first (highest version), then PATH.
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      BATON_PG_BIN="$dir"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    BATON_PG_BIN="$(dirname "$(readlink -f "$(command -v initdb)")")"
    return 0
  fi
  return 1
}

_baton_pg_install() {
  echo "postgres.sh: no PostgreSQL server found; installing the Debian package"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo"
    else
      echo "postgres.sh: need root (or sudo) to apt-get install postgresql" >&2
      return 1
    fi
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

# Run a server binary as the cluster owner: `postgres` when we are root, else ourselves.
_baton_pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_baton_pg_port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_baton_pg_start() {
  _baton_pg_find_bin || { _baton_pg_install && _baton_pg_find_bin; } || {
    echo "postgres.sh: PostgreSQL server binaries not found after install" >&2
    return 1
  }
  echo "postgres.sh: using $BATON_PG_BIN"

  if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres || return 1
    fi
    if ! runuser -u postgres -- test -x "$(dirname "$BATON_PG_DATA")"; then
      # e.g. a checkout under /root (mode 700): keep the cluster where postgres can reach it
      local fallback
      fallback="/tmp/baton-pgdata-$(printf '%s' "$PWD" | cksum | cut -d' ' -f1)"
      echo "postgres.sh: user postgres cannot enter $(dirname "$BATON_PG_DATA"); using $fallback"
      BATON_PG_DATA="$fallback"
    fi
    mkdir -p "$BATON_PG_DATA"
    chown postgres: "$BATON_PG_DATA"
  else
    mkdir -p "$BATON_PG_DATA"
  fi
  chmod 700 "$BATON_PG_DATA"

  if [ ! -f "$BATON_PG_DATA/PG_VERSION" ]; then
    local log
    log="$(mktemp "${TMPDIR:-/tmp}/baton-initdb.XXXXXX")"
    _baton_pg_as_owner "$BATON_PG_BIN/initdb" -D "$BATON_PG_DATA" -U postgres \
      --auth=trust --encoding=UTF8 --no-locale >"$log" 2>&1 || {
      echo "postgres.sh: initdb failed; see $log" >&2
      return 1
    }
    rm -f "$log"
  fi

  if _baton_pg_as_owner "$BATON_PG_BIN/pg_ctl" -D "$BATON_PG_DATA" status >/dev/null 2>&1; then
    BATON_PG_PORT="$(sed -n 4p "$BATON_PG_DATA/postmaster.pid")"
    echo "postgres.sh: reusing the cluster already running on port $BATON_PG_PORT"
  else
    local tries=0
    while _baton_pg_port_busy "$BATON_PG_PORT"; do
      tries=$((tries + 1))
      [ "$tries" -lt 50 ] || { echo "postgres.sh: no free port found" >&2; return 1; }
      BATON_PG_PORT=$((BATON_PG_PORT + 1))
    done
    _baton_pg_as_owner "$BATON_PG_BIN/pg_ctl" -D "$BATON_PG_DATA" -l "$BATON_PG_DATA/server.log" \
      -w -t 60 start -o "-c listen_addresses=127.0.0.1 -p $BATON_PG_PORT \
        -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off -c max_connections=200" >/dev/null || {
      echo "postgres.sh: the server did not start; see $BATON_PG_DATA/server.log" >&2
      return 1
    }
    echo "postgres.sh: started PostgreSQL on 127.0.0.1:$BATON_PG_PORT"
  fi

  local exists
  exists="$("$BATON_PG_BIN/psql" -h 127.0.0.1 -p "$BATON_PG_PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'baton_test'")" || {
    echo "postgres.sh: cannot connect to the server on port $BATON_PG_PORT" >&2
    return 1
  }
  if [ "$exists" != "1" ]; then
    "$BATON_PG_BIN/createdb" -h 127.0.0.1 -p "$BATON_PG_PORT" -U postgres baton_test || return 1
  fi
  export BATON_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$BATON_PG_PORT/baton_test"
  echo "postgres.sh: BATON_TEST_POSTGRES_URL=$BATON_TEST_POSTGRES_URL"
}

stop_postgres() {
  [ -n "$BATON_PG_BIN" ] && [ -f "$BATON_PG_DATA/postmaster.pid" ] || return 0
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$BATON_PG_BIN/pg_ctl" -D "$BATON_PG_DATA" -m fast -w stop >/dev/null
  else
    "$BATON_PG_BIN/pg_ctl" -D "$BATON_PG_DATA" -m fast -w stop >/dev/null
  fi
}

_baton_pg_start || echo "postgres.sh: continuing without PostgreSQL (its tests will fail in CI)" >&2
unset -f _baton_pg_find_bin _baton_pg_install _baton_pg_as_owner _baton_pg_port_busy \
  _baton_pg_start
