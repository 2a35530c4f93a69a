#!/usr/bin/env bash
# The test suite: SQLite always; PostgreSQL when reachable (required under CI=true).
set -u
cd "$(dirname "$0")/.."
export PAGEWIRE_TEST_POSTGRES_URL="${PAGEWIRE_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
if .venv/bin/python scripts/pg_ready.py "$PAGEWIRE_TEST_POSTGRES_URL"; then
  echo "PostgreSQL reachable: the contract suite runs on SQLite and PostgreSQL"
else
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true but PostgreSQL is not reachable at $PAGEWIRE_TEST_POSTGRES_URL" >&2
    exit 1
  fi
  echo "PostgreSQL NOT reachable at $PAGEWIRE_TEST_POSTGRES_URL: PostgreSQL tests will be SKIPPED"
  export PAGEWIRE_TEST_POSTGRES_URL=""
fi
exec .venv/bin/python -m pytest "$@"
