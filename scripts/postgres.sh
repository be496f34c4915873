#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on loopback for the tests and print its URL.
#   eval "$(scripts/postgres.sh start)"   -> exports SOCIALOPS_TEST_POSTGRES_URL
#   scripts/postgres.sh stop
# Installs Debian's postgresql package when it is missing (needs root, as in CI).
set -euo pipefail

DIR=${PGTEST_DIR:-/tmp/socialops-pg}
PORT=${PGTEST_PORT:-54329}
DB=socialops_test

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && echo "$d"
}

# From /: the postgres user may not be allowed into the caller's working directory.
as_postgres() { if [ "$(id -u)" = 0 ]; then (cd / && su postgres -s /bin/bash -c "$*"); else bash -c "$*"; fi; }

start() {
  if [ -z "$(bindir)" ]; then
    echo "installing PostgreSQL (Debian package)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
  fi
  local bin; bin=$(bindir)
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$DIR"
  if [ ! -f "$DIR/data/PG_VERSION" ]; then
    as_postgres "$bin/initdb -D $DIR/data -U postgres --auth=trust -E UTF8 >/dev/null"
  fi
  if ! as_postgres "$bin/pg_ctl -D $DIR/data status" >/dev/null 2>&1; then
    as_postgres "$bin/pg_ctl -D $DIR/data -l $DIR/log -w -t 60 \
      -o '-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off' start" >&2
  fi
  as_postgres "$bin/psql -h 127.0.0.1 -p $PORT -U postgres -tAc \"SELECT 1 FROM pg_database WHERE datname='$DB'\"" | grep -q 1 \
    || as_postgres "$bin/createdb -h 127.0.0.1 -p $PORT -U postgres $DB"
  echo "export SOCIALOPS_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB"
}

stop() {
  local bin; bin=$(bindir) || exit 0
  [ -f "$DIR/data/PG_VERSION" ] && as_postgres "$bin/pg_ctl -D $DIR/data -m fast stop" >&2 || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
