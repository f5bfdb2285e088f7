#!/usr/bin/env bash
# Batch enqueue benchmark: a generated CSV (phone_number plus five columns) uploaded with
# POST /v1/files/attach and started with POST /v1/sms/batch, timed until the batch worker
# has queued every row (state `completed`). The dispatcher is off (PARLEY_DISPATCH__ENABLED
# =false) so the figure is the enqueue path alone; the batch worker still runs.
#
#   bench/batch.sh                       # 100,000 then 1,000,000 rows, SQLite
#   BENCH_ROWS="1000000" bench/batch.sh  # one size
#   PARLEY_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres bench/batch.sh
#                                        # PostgreSQL instead (fresh database, dropped after)
#
# Prints, per size: upload seconds, enqueue seconds (start to `completed`), total wall
# seconds, rows per second, the server's peak RSS (VmHWM) and the machine's load average.
# Fails unless the messages table holds exactly one message per row.
# Knobs: BENCH_PORT=18091 PARLEY_BIN=<path> (skip the build) BENCH_TMPDIR=/tmp BENCH_KEEP=1,
# and any PARLEY_* variable (e.g. PARLEY_BATCHES__CHUNK_ROWS=5000).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROWS_LIST=${BENCH_ROWS:-"100000 1000000"}
PORT=${BENCH_PORT:-18091}
KEY=benchkey
AGENT=+15550100000
log() { printf '== %s\n' "$*" >&2; }

command -v curl >/dev/null || { echo "curl is required" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }

if [[ -n "${PARLEY_BIN:-}" ]]; then
    BIN=$PARLEY_BIN
else
    log "building (cargo build --release -p parley-server)"
    (cd "$ROOT" && cargo build --release -p parley-server --quiet)
    BIN="$ROOT/target/release/parley"
fi

SERVER_PID=""
DIRS=()
PG_DB=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n "$PG_DB" ]]; then
        psql "$PARLEY_BENCH_PG_URL" -qtAc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if [[ "${BENCH_KEEP:-0}" != 1 ]]; then for d in "${DIRS[@]}"; do rm -rf "$d"; done; fi
}
trap cleanup EXIT

now() { python3 -c 'import time; print(time.time())'; }

for ROWS in $ROWS_LIST; do
    dir=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/parley-batch-bench.XXXXXX")
    DIRS+=("$dir")
    log "generating $ROWS rows"
    python3 - "$dir/batch.csv" "$ROWS" <<'PY'
import sys
path, rows = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("phone_number,first_name,last_name,city,plan,order_id\n")
    for i in range(rows):
        f.write(f"1555{i:07d},First{i % 977},Last{i % 613},\"City, {i % 89}\",plan{i % 5},ORD-{i:08d}\n")
PY
    if [[ -n "${PARLEY_BENCH_PG_URL:-}" ]]; then
        PG_DB="bench_$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')"
        psql "$PARLEY_BENCH_PG_URL" -qtAc "CREATE DATABASE $PG_DB" >/dev/null
        url="${PARLEY_BENCH_PG_URL%/*}/$PG_DB"
        backend=postgres
    else
        url="$dir/parley.db"
        backend=sqlite
    fi
    PARLEY_API_KEY=$KEY PARLEY_DISPATCH__ENABLED=false PARLEY_BATCHES__DATA_DIR="$dir/data" \
        "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "$url" >"$dir/server.out" 2>"$dir/server.err" &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    t0=$(now)
    file_id=$(curl -fsS -X POST "http://127.0.0.1:$PORT/v1/files/attach?file_type=batches&name=batch.csv" \
        -H "authorization: $KEY" -H "content-type: text/csv" --data-binary "@$dir/batch.csv" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["file_id"])')
    t1=$(now)
    curl -fsS -X POST "http://127.0.0.1:$PORT/v1/sms/batch" -H "authorization: $KEY" \
        -H "content-type: application/json" \
        -d "{\"file_id\":\"$file_id\",\"global\":{\"agent_number\":\"$AGENT\",\"agent_message\":\"Hi {{first_name}} {{last_name}}, your {{plan}} order {{order_id}} ships to {{city}}\"}}" >/dev/null
    while :; do
        state=$(curl -fsS "http://127.0.0.1:$PORT/v1/sms/batch/$file_id" -H "authorization: $KEY" \
            | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d["state"], d["totals"]["queued"], d["totals"]["skipped"])')
        [[ "$state" == running* ]] || break
        sleep 0.2
    done
    t2=$(now)
    rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$SERVER_PID/status")
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
    if [[ $backend == sqlite ]]; then
        count=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM messages").fetchone()[0])' "$url")
    else
        count=$(psql "$url" -qtAc "SELECT COUNT(*) FROM messages")
        psql "$PARLEY_BENCH_PG_URL" -qtAc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null; PG_DB=""
    fi
    python3 - "$backend" "$ROWS" "$t0" "$t1" "$t2" "$rss_kb" "$load" "$count" "$state" <<'PY'
import json, sys
backend, rows, t0, t1, t2, rss, load, count, state = sys.argv[1:10]
rows, t0, t1, t2, rss, count = int(rows), float(t0), float(t1), float(t2), int(rss), int(count)
r = dict(backend=backend, rows=rows, upload_s=round(t1 - t0, 2), enqueue_s=round(t2 - t1, 2),
         wall_s=round(t2 - t0, 2), rows_per_s=round(rows / (t2 - t0)), peak_rss_mb=round(rss / 1024, 1),
         load=load, messages=count, final=state)
print(json.dumps(r))
if count != rows:
    sys.exit(f"expected {rows} messages, found {count}")
PY
done
