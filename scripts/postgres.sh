#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests, on loopback only.
# Installs Debian's postgresql package when no server is on the machine.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
state="$here/.pg"
server="$state"
if [ "$(id -u)" = 0 ]; then
  # The server runs as the postgres user, who may not enter a private checkout (/root is
  # 0700): as root, its data, log and socket live outside it, one directory per checkout.
  server="/var/tmp/mentorbot-pg-$(printf %s "$here" | md5sum | cut -c1-12)"
fi
data="$server/data"
port="${MENTORBOT_TEST_PG_PORT:-54329}"
url="postgresql+asyncpg://mentorbot@127.0.0.1:$port/mentorbot_test"

find_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  bin=$(find_bin)
  if [ -z "$bin" ]; then
    echo "PostgreSQL is not installed; installing Debian's package..."
    if [ "$(id -u)" != 0 ]; then echo "run as root, or install postgresql yourself" >&2; exit 1; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    bin=$(find_bin)
  fi
  mkdir -p "$state" "$server"
  if [ "$(id -u)" = 0 ]; then chown postgres "$server"; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$data" -U mentorbot -A trust -E UTF8 --no-locale >/dev/null
  fi
  if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$data" -l "$server/server.log" -w start \
      -o "-h 127.0.0.1 -p $port -k $server -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
  fi
  "$bin/psql" -h 127.0.0.1 -p "$port" -U mentorbot -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='mentorbot_test'" | grep -q 1 \
    || "$bin/createdb" -h 127.0.0.1 -p "$port" -U mentorbot mentorbot_test
  echo "export MENTORBOT_TEST_POSTGRES_URL=$url" > "$state/env"
  echo "PostgreSQL for tests: 127.0.0.1:$port"
}

stop() {
  bin=$(find_bin)
  [ -n "$bin" ] && [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" -w stop >/dev/null || true
}

"${1:-start}"
