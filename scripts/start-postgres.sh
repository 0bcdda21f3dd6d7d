#!/usr/bin/env bash
# Starts (or finds already running) a throwaway PostgreSQL cluster for the database tests and
# prints `export HOTLINE_TEST_PG_DSN=…` on stdout; everything else goes to stderr.
#
#   eval "$(bash scripts/start-postgres.sh)"      # start / reuse, then export the DSN
#   bash scripts/start-postgres.sh --stop         # stop it (the data directory stays)
#
# Uses Debian's postgresql binaries (apt install postgresql), never the system cluster.
# Idempotent: a second run reuses the cluster in $HOTLINE_PG_DIR (default
# /tmp/hotline-test-pg). Runs as root (the server runs as the `postgres` user via runuser)
# or as an ordinary user (the server runs as that user). Listens only on 127.0.0.1.
set -euo pipefail

STATE_DIR="${HOTLINE_PG_DIR:-/tmp/hotline-test-pg}"
DATA_DIR="$STATE_DIR/data"
SOCKET_DIR="$STATE_DIR/socket"
PORT_FILE="$STATE_DIR/port"
LOG_FILE="$STATE_DIR/server.log"
ROLE=hotline
PASSWORD=hotline
DATABASE=hotline_test

log() { echo "start-postgres: $*" >&2; }

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [[ -z "$PG_BIN" || ! -x "$PG_BIN/pg_ctl" ]]; then
    log "PostgreSQL server binaries not found under /usr/lib/postgresql (apt install postgresql)"
    exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
    RUN_AS=(runuser -u postgres --)
    OWNER=postgres
else
    RUN_AS=()
    OWNER="$(id -un)"
fi
as_owner() { "${RUN_AS[@]}" "$@"; }

running() { as_owner "$PG_BIN/pg_ctl" status -D "$DATA_DIR" >/dev/null 2>&1; }

if [[ "${1:-}" == "--stop" ]]; then
    if [[ -d "$DATA_DIR" ]] && running; then
        as_owner "$PG_BIN/pg_ctl" stop -D "$DATA_DIR" -m fast -w >&2
    fi
    exit 0
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Two test runs starting at once (parallel CI jobs, two developers' shells) take turns.
exec 9>"$STATE_DIR.lock"
flock 9

mkdir -p "$STATE_DIR"
chown "$OWNER" "$STATE_DIR"
chmod 700 "$STATE_DIR"

if [[ ! -f "$DATA_DIR/PG_VERSION" ]]; then
    log "creating a cluster in $DATA_DIR"
    rm -rf "$DATA_DIR"
    as_owner "$PG_BIN/initdb" -D "$DATA_DIR" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >&2
fi
as_owner mkdir -p "$SOCKET_DIR"

start_server() {
    local port="$1"
    # fsync=off: a test cluster need not survive a machine crash, and the shared CI box has
    # slow disks. Commits still wait for the server (synchronous_commit=on), which is what the
    # kill -9 durability test relies on: the client, not the server, is killed.
    as_owner "$PG_BIN/pg_ctl" start -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $SOCKET_DIR -c fsync=off" >&2
}

if running; then
    PORT="$(cat "$PORT_FILE")"
    log "already running on 127.0.0.1:$PORT"
else
    PORT="$(cat "$PORT_FILE" 2>/dev/null || free_port)"
    if ! start_server "$PORT"; then
        # The remembered port may have been taken meanwhile: one retry on a fresh one.
        PORT="$(free_port)"
        start_server "$PORT"
    fi
    echo "$PORT" >"$PORT_FILE"
    log "started on 127.0.0.1:$PORT (log: $LOG_FILE)"
fi

psql_admin() {
    as_owner "$PG_BIN/psql" -h "$SOCKET_DIR" -p "$PORT" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -qtA "$@"
}
if [[ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" ]]; then
    # CREATEDB: the tests make one fresh database per test and drop it afterwards.
    psql_admin -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'" >&2
fi
# DROP DATABASE … WITH (FORCE) ends leftover sessions, which may run as another role (an
# autovacuum worker on a just-used test database): that needs pg_signal_backend.
psql_admin -c "GRANT pg_signal_backend TO $ROLE" >&2
if [[ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" ]]; then
    psql_admin -c "CREATE DATABASE $DATABASE OWNER $ROLE" >&2
fi

echo "export HOTLINE_TEST_PG_DSN=postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"
