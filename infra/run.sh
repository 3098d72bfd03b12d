#!/usr/bin/env bash
# `make run`: the whole platform with demo data. Embedded PostgreSQL unless K12_DATABASE_URL
# (or DATABASE_URL) names a server. Ctrl-C stops every process, and the embedded server.
set -euo pipefail
cd "$(dirname "$0")/.."
export K12_DATABASE_URL="${K12_DATABASE_URL:-${DATABASE_URL:-}}"
started_db=""
if [ -z "$K12_DATABASE_URL" ]; then
  K12_DATABASE_URL="$(.venv/bin/python infra/devdb.py start)"
  export K12_DATABASE_URL
  started_db=1
fi
stop_all() {
  [ -n "${seed_pid:-}" ] && kill "$seed_pid" 2>/dev/null || true
  if [ -n "$started_db" ]; then .venv/bin/python infra/devdb.py stop || true; fi
}
trap stop_all EXIT

echo "Migrating the database to head..."
.venv/bin/python -m k12shared.migrate upgrade
.venv/bin/python infra/demo_seed.py &
seed_pid=$!
PATH="$PWD/.venv/bin:$PATH" .venv/bin/honcho -f infra/Procfile -d . start || true
