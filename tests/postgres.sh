# A throwaway PostgreSQL cluster for the suite's PostgreSQL half, sourced by tests/run.sh:
# installs Debian's postgresql when its programs are missing, starts a cluster of its own in
# a temporary directory on a free loopback port (no systemd, no Docker; fsync off, as the
# data is thrown away, unless LICENSEBOT_PG_DURABLE=1 asks for fsync on, as the load bench's
# PostgreSQL figures need: a commit rate is a durable one only with fsync on), exports
# LICENSEBOT_TEST_POSTGRES_URL for the tests (and LICENSEBOT_TEST_POSTGRES_RESTART, the
# command that restarts the server), and stops and removes the cluster when the shell exits.

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

pg_install() {
  echo "tests/postgres.sh: installing Debian's postgresql for the PostgreSQL half of the suite" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q postgresql >/dev/null \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q postgresql >/dev/null; }
}

# Runs a PostgreSQL program as the cluster's owner: initdb and postgres refuse root.
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  local bin
  bin="$(pg_bin)" || { pg_install && bin="$(pg_bin)"; } || {
    echo "tests/postgres.sh: no PostgreSQL programs after installing postgresql" >&2
    return 1
  }
  PG_DIR="$(mktemp -d /tmp/licensebot-pg.XXXXXX)"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$PG_DIR"; fi
  pg_as_owner "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres --locale=C.UTF-8 >/dev/null
  local port try fsync=off
  if [ "${LICENSEBOT_PG_DURABLE:-}" = 1 ]; then fsync=on; fi
  for try in 1 2 3 4 5; do
    port=$((20000 + (RANDOM % 30000)))
    if pg_as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 \
      -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=$fsync -c max_connections=300" \
      start >/dev/null; then
      PG_BIN="$bin"
      export LICENSEBOT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
      # How a test restarts the server under the bots (fast: open connections are cut).
      export LICENSEBOT_TEST_POSTGRES_RESTART="$(pg_restart_command "$bin" "$PG_DIR")"
      trap pg_stop EXIT
      return 0
    fi
  done
  echo "tests/postgres.sh: the cluster did not start; its log:" >&2
  cat "$PG_DIR/log" >&2
  return 1
}

pg_restart_command() {
  local restart="$1/pg_ctl -D $2/data -l $2/log -w -t 30 -m fast restart"
  if [ "$(id -u)" -eq 0 ]; then
    echo "runuser -u postgres -- $restart"
  else
    echo "$restart"
  fi
}

pg_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
