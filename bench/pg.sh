# bench/pg.sh — sourced by the bench scripts (from the repository root).
#
#   start_bench_postgres [MAX_WAL_SIZE]   sets ADMIN to a maintenance URL
#   stop_bench_postgres                   (call it from the script's EXIT trap)
#   fresh_bench_database NAME             drops and creates NAME, sets DB to its URL
#
# ADMIN names PGAI_TEST_DATABASE_URL's server (a role that may CREATE
# DATABASE) when it is set; otherwise a throwaway PostgreSQL: initdb into a
# temp dir, a free loopback port, run as the postgres OS user when the
# script runs as root. stop_bench_postgres stops it and removes the dir.
PG_DIR=
PG_BIN=
PG_AS=()

start_bench_postgres() {
  if [ -n "${PGAI_TEST_DATABASE_URL:-}" ]; then
    ADMIN=$PGAI_TEST_DATABASE_URL
    return
  fi
  PG_BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
  PG_DIR=$(mktemp -d /tmp/pgai-bench-pg-XXXXXX)
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR"; PG_AS=(runuser -u postgres --); fi
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  cat >>"$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$PG_DIR'
shared_buffers = 256MB
max_wal_size = ${1:-4GB}
logging_collector = off
CONF
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w start >/dev/null
  ADMIN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

stop_bench_postgres() {
  if [ -n "$PG_DIR" ]; then
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=
  fi
}

fresh_bench_database() {
  psql -X -q -v ON_ERROR_STOP=1 "$ADMIN" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
  DB=${ADMIN%%\?*}; DB=${DB%/*}/$1?sslmode=disable
}
