#!/usr/bin/env bash
# `make test`: the whole suite against a real PostgreSQL (embedded unless TEST_DATABASE_URL).
set -uo pipefail
cd "$(dirname "$0")/.."
started_db=""
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  K12_TEST_DATABASE_URL="$(.venv/bin/python infra/devdb.py start --data .data/pg-test --port "${K12_TEST_PG_PORT:-54330}" --db k12perform_test)" || exit 1
  export K12_TEST_DATABASE_URL
  started_db=1
fi
.venv/bin/python -m pytest "$@"
status=$?
if [ -n "$started_db" ]; then .venv/bin/python infra/devdb.py stop --data .data/pg-test >/dev/null 2>&1 || true; fi
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure, not a pass" >&2
  exit 1
fi
exit "$status"
