#!/usr/bin/env bash
# Install (from Debian's packages) and start PostgreSQL for the store tests, then print its URL.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
  pg_createcluster "$(ls /usr/lib/postgresql | sort -n | tail -1)" main >&2
fi
pg_ctlcluster "$(pg_lsclusters -h | awk 'NR==1{print $1}')" main start >&2 2>/dev/null || true
for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='dialer'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE ROLE dialer LOGIN SUPERUSER PASSWORD 'dialer'\"" >&2
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='dialer_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O dialer dialer_test" >&2
echo "postgresql://dialer:dialer@127.0.0.1:5432/dialer_test"
