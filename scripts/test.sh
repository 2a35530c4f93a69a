#!/usr/bin/env bash
# The test suite: SQLite always; PostgreSQL when reachable.
# Under CI=true nothing may be skipped: PostgreSQL, the system packages and the
# shared corpus must all be there (checked first, each missing one named), and
# tests/conftest.py turns any skip that still happens into a failure. Outside CI
# the run lists what it skipped, and why, at the end.
set -u
cd "$(dirname "$0")/.."
export PAGEWIRE_TEST_POSTGRES_URL="${PAGEWIRE_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
ci=false
[ "${CI:-}" = "true" ] && ci=true

missing=()
if .venv/bin/python scripts/pg_ready.py "$PAGEWIRE_TEST_POSTGRES_URL"; then
  echo "PostgreSQL reachable: the contract suite runs on SQLite and PostgreSQL"
else
  missing+=("PostgreSQL at $PAGEWIRE_TEST_POSTGRES_URL")
  $ci || echo "PostgreSQL NOT reachable at $PAGEWIRE_TEST_POSTGRES_URL: PostgreSQL tests will be SKIPPED"
  $ci || export PAGEWIRE_TEST_POSTGRES_URL=""
fi
if $ci; then
  command -v tesseract >/dev/null 2>&1 || missing+=("tesseract (Debian: tesseract-ocr)")
  [ -x /usr/bin/chromium ] || missing+=("/usr/bin/chromium (Debian: chromium)")
  command -v node >/dev/null 2>&1 || missing+=("node (Debian: nodejs)")
  corpus="${PAGEWIRE_TEST_CORPUS_DIR:-../shared/corpus}"
  [ -d "$corpus" ] || missing+=("the shared document corpus at $corpus (PAGEWIRE_TEST_CORPUS_DIR)")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "CI=true, but the tests cannot all run; missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
fi

.venv/bin/python -m pytest "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "pytest collected no tests: that is a failure (a wrong path, or a collection filter that matched nothing)" >&2
  exit 1
fi
exit $rc
