#!/usr/bin/env bash
# `make bench`: benchmarks against the real platform on embedded PostgreSQL (or K12_BENCH_DATABASE_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
started_db=""
if [ -z "${K12_BENCH_DATABASE_URL:-}" ]; then
  K12_BENCH_DATABASE_URL="$(.venv/bin/python infra/devdb.py start --data .data/pg-bench --port "${K12_BENCH_PG_PORT:-54331}" --db k12perform_bench)"
  export K12_BENCH_DATABASE_URL
  started_db=1
fi
export K12_KEYS_DIR="${K12_KEYS_DIR:-$PWD/.data/keys}" K12_ENV=development
status=0
.venv/bin/python bench/run.py "$@" || status=$?
if [ -n "$started_db" ]; then .venv/bin/python infra/devdb.py stop --data .data/pg-bench >/dev/null 2>&1 || true; fi
exit $status
