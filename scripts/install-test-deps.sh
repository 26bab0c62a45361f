#!/usr/bin/env bash
# Everything the tests need besides npm packages, from Debian's packages only:
#  - Debian's Chromium (never a browser download) and a CJK font to render the demo's names;
#  - PostgreSQL on 127.0.0.1:5432 with a database `test` the tests reach as `postgres` without a password.
#    A server already answering there is used as it is. Otherwise Debian's `postgresql` is installed when
#    missing and a cluster `realname_test` is created (trust authentication for loopback TCP only: a test
#    machine's set-up, not a production one) and started.
# Idempotent and fast when everything is there (a few dpkg and psql queries). Run as root or with sudo.
set -euo pipefail
port="${TEST_PG_PORT:-5432}"
cluster=realname_test
as_root=()
[ "$(id -u)" -ne 0 ] && as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive

install_missing() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  "${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}" || { "${as_root[@]}" apt-get update && "${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; }
}

pg_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

install_missing chromium fonts-wqy-microhei
echo "browser test dependencies present: chromium fonts-wqy-microhei"

if pg_answers; then
  echo "PostgreSQL answers on 127.0.0.1:$port: using it"
  command -v psql >/dev/null || install_missing postgresql-client
else
  install_missing postgresql
  version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version $cluster"; then
    "${as_root[@]}" pg_createcluster --port "$port" "$version" "$cluster" -- --auth-host=trust --auth-local=peer >/dev/null
  fi
  "${as_root[@]}" pg_ctlcluster "$version" "$cluster" start || true
  for _ in $(seq 1 60); do pg_answers && break; sleep 0.5; done
  pg_answers || { echo "PostgreSQL cluster $version/$cluster did not start on 127.0.0.1:$port" >&2; exit 1; }
  echo "PostgreSQL cluster $version/$cluster started on 127.0.0.1:$port"
fi

psql_pg() { psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -tAc "$1"; }
psql_pg "SELECT 1" >/dev/null || { echo "cannot connect to PostgreSQL on 127.0.0.1:$port as postgres without a password (the tests need trust authentication on loopback)" >&2; exit 1; }
[ "$(psql_pg "SELECT 1 FROM pg_database WHERE datname = 'test'")" = 1 ] || psql_pg "CREATE DATABASE test" >/dev/null
echo "PostgreSQL database test ready: postgres://postgres@127.0.0.1:$port/test"
