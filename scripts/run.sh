#!/usr/bin/env bash
# `make run`: migrate, seed demo data when the database is empty, create demo accounts, then serve the
# API (:8000, API_PORT) and the dashboard (:8501, DASHBOARD_PORT) on HOST (127.0.0.1) until Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
FAILCAT=$BIN/failcat
API_PORT=${API_PORT:-8000}
DASHBOARD_PORT=${DASHBOARD_PORT:-8501}
HOST=${HOST:-127.0.0.1}

$FAILCAT migrate

# Demo data only on an empty database (never touches a database that already holds failures).
count=$($BIN/python - <<'PY'
from sqlalchemy import func, select
from core.db import get_engine
from core.schema import failure_matches
with get_engine().connect() as conn:
    print(conn.execute(select(func.count()).select_from(failure_matches)).scalar_one())
PY
)
if [ "$count" = "0" ]; then
  echo "run: empty database, seeding demo data (30000 events, 3 tenants, 60 days)..." >&2
  $FAILCAT seed --events 30000 --tenants 3 --days 60 --no-progress
fi

# Demo accounts (created once; an existing account keeps its password).
first_tenant=$($BIN/python - <<'PY'
from core.db import get_engine
from queries.tenants import list_tenants
with get_engine().connect() as conn:
    tenants = list_tenants(conn, tenant_id=None)
print(tenants[0] if tenants else "demo")
PY
)
declare -A PASSWORDS=([admin]=admin-demo-pass [oncall]=oncall-demo-pass [viewer]=viewer-demo-pass)
existing=$($FAILCAT users list --json 2>/dev/null || echo "[]")
for user in admin oncall viewer; do
  if grep -q "\"name\": *\"$user\"" <<<"$existing"; then
    continue
  fi
  if [ "$user" = viewer ]; then scope=(--tenant "$first_tenant"); else scope=(--all-tenants); fi
  printf '%s\n' "${PASSWORDS[$user]}" | $FAILCAT users add "$user" --role "$user" "${scope[@]}"
done

pids=()
stop_servers() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
# Ctrl-C (or a TERM) is how a person stops it: stop both servers and say so, with a successful exit.
on_signal() {
  trap - INT TERM EXIT
  stop_servers
  echo "run: stopped the dashboard and the API." >&2
  exit 0
}
trap on_signal INT TERM
trap stop_servers EXIT

$FAILCAT api --host "$HOST" --port "$API_PORT" &
pids+=($!)
$FAILCAT dashboard --host "$HOST" --port "$DASHBOARD_PORT" &
pids+=($!)

cat <<MSG

  Failure Catalog is running
    Dashboard  http://$HOST:$DASHBOARD_PORT
    API        http://$HOST:$API_PORT/docs

  Demo accounts (change or disable them before real use):
    admin   / ${PASSWORDS[admin]}    role admin,  all tenants
    oncall  / ${PASSWORDS[oncall]}   role oncall, all tenants
    viewer  / ${PASSWORDS[viewer]}   role viewer, tenant $first_tenant only

  Press Ctrl-C to stop both.
MSG

# Stop everything as soon as either server exits on its own, and say which and how.
status=0
wait -n "${pids[@]}" || status=$?
echo "run: a server exited (status $status); stopping the other." >&2
exit "$status"
