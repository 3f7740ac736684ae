#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: makes sure PostgreSQL is installed, running and
# reachable as user postgres on 127.0.0.1:5432 (the storage and end-to-end suites use it for
# real, a fresh database per test), then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

PGHOST=127.0.0.1
PGPORT=5432
export EGOV_TEST_DATABASE_URL="${EGOV_TEST_DATABASE_URL:-postgres://postgres@${PGHOST}:${PGPORT}/postgres}"

pg_up() { psql "$EGOV_TEST_DATABASE_URL" -qtAc 'select 1' >/dev/null 2>&1; }

start_cluster() {
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "test.sh: starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
}

if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -d /etc/postgresql ]; then
    echo "test.sh: PostgreSQL is not installed; installing it"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql postgresql-client >/dev/null
  fi
  start_cluster
  for _ in $(seq 1 30); do
    pg_isready -h "$PGHOST" -p "$PGPORT" -q && break
    sleep 1
  done
  if ! pg_up; then
    # A fresh Debian cluster asks for a password over TCP; the tests use trust on loopback.
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    if [ -f "$hba" ] && ! grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
      echo "test.sh: allowing trust auth for postgres on 127.0.0.1 in $hba"
      sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
      pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
      sleep 1
    fi
  fi
fi
if ! pg_up; then
  echo "test.sh: FATAL: PostgreSQL is not reachable at $EGOV_TEST_DATABASE_URL" >&2
  exit 1
fi

# Databases left behind by interrupted runs (each test makes its own, named
# egov_t_<pid>_<n>_<nanos>): only those whose process has ended. Another run on the same
# server (a second copy, scripts/soak-tests.sh, another checkout) keeps its databases.
psql "$EGOV_TEST_DATABASE_URL" -qtAc "select datname from pg_database where datname like 'egov\_t\_%'" |
  while read -r db; do
    [[ "$db" =~ ^egov_t_([0-9]+)_ ]] || continue
    kill -0 "${BASH_REMATCH[1]}" 2>/dev/null && continue
    psql "$EGOV_TEST_DATABASE_URL" -qc "drop database if exists \"$db\"" >/dev/null 2>&1 || true
  done

# The web console's browser test (tests/tests/console.rs): Chromium from Debian with a CJK
# font (else Chinese pages show boxes in the screenshots), and the npm packages of
# tests/browser (playwright-core drives the Debian Chromium; it downloads no browser).
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi 'wenquanyi\|noto sans cjk'; then
  echo "test.sh: installing Chromium and a CJK font for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "test.sh: installing the browser tests' npm packages"
  (cd tests/browser && npm ci --no-audit --no-fund)
fi

exec cargo test --workspace "$@"
