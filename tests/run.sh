#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: installs what the browser test needs when it
# is missing (Debian's chromium and chromium-driver, for the sign-in pages), then runs
# `cargo test` with any arguments given (every test, on SQLite). Without arguments it then
# runs the PostgreSQL half: a throwaway cluster (tests/postgres.sh, which installs Debian's
# postgresql when missing) and the integration suite on it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "tests/run.sh: installing chromium and chromium-driver for the browser test" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q chromium chromium-driver >/dev/null \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium chromium-driver >/dev/null; }
fi
cargo test "$@"
if [ "$#" -eq 0 ]; then
  source tests/postgres.sh
  pg_start
  echo "tests/run.sh: the PostgreSQL half, on $LICENSEBOT_TEST_POSTGRES_URL" >&2
  # The whole integration suite again, but for the restart drill (below) and what only
  # SQLite has: the lock that refuses a second bot, the files it creates private, the faults
  # in faults/sqlite.rs; and the settings-file faults, which stop before any store opens.
  cargo test --test it -- --include-ignored --skip restarts_mid_flow \
    --skip a_second_bot_on_the_same_database --skip the_database_and_its_journal_files \
    --skip migrate_creates_the_database --skip faults::sqlite:: --skip faults::config_
  # The restart drill restarts the server under every test on it: it runs alone, last.
  cargo test --test it -- --include-ignored restarts_mid_flow
fi
