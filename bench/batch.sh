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
# Each size first measures the same server's /healthz rate (wrk, BENCH_DURATION, default 10s)
# as the reference for that run: rows/s over healthz/s is the figure to compare across runs.
# BENCH_RESULTS=<file> appends the figures as JSON lines (bench/run), BENCH_COMMAND is the
# command line recorded with them.
set -euo pipefail
PORT=${BENCH_PORT:-18091}
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROWS_LIST=${BENCH_ROWS:-"100000 1000000"}
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
COMMAND=${BENCH_COMMAND:-bench/batch.sh}
AGENT=+15550100000
need_tools
resolve_bin

now() { python3 -c 'import time; print(time.time())'; }

for ROWS in $ROWS_LIST; do
    new_dir; dir=$DIR
    log "generating $ROWS rows"
    python3 - "$dir/batch.csv" "$ROWS" <<'PY'
import sys
path, rows = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("phone_number,first_name,last_name,city,plan,order_id\n")
    for i in range(rows):
        f.write(f"1555{i:07d},First{i % 977},Last{i % 613},\"City, {i % 89}\",plan{i % 5},ORD-{i:08d}\n")
PY
    backend=sqlite
    if [[ -n "${PARLEY_BENCH_PG_URL:-}" ]]; then backend=postgres; fi
    new_database "$backend" "$dir"
    url=$DB_URL
    PARLEY_DISPATCH__ENABLED=false PARLEY_BATCHES__DATA_DIR="$dir/data" start_nodes 1 "$url" "$dir"
    SERVER_PID=${SERVER_PIDS[0]}
    log "phase healthz ($DURATION)"
    healthz=$(wrk_phase send.lua healthz "$dir" "$url" healthz)
    log "phase batch ($ROWS rows)"
    cpu_begin "$url"
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
    cpu=$(cpu_end "$url" 0)
    rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$SERVER_PID/status")
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    stop_nodes
    count=$(sql "$url" "SELECT COUNT(*) FROM messages")
    summary=$(python3 - "$backend" "$ROWS" "$t0" "$t1" "$t2" "$rss_kb" "$load" "$count" "$state" "$healthz" "$cpu" "$COMMAND" <<'PY'
import json, sys
backend, rows, t0, t1, t2, rss, load, count, state, h, cpu, command = sys.argv[1:13]
h, cpu = json.loads(h), json.loads(cpu)
rows, t0, t1, t2, rss, count = int(rows), float(t0), float(t1), float(t2), int(rss), int(count)
r = dict(backend=backend, rows=rows, upload_s=round(t1 - t0, 2), enqueue_s=round(t2 - t1, 2),
         wall_s=round(t2 - t0, 2), rows_per_s=round(rows / (t2 - t0)), peak_rss_mb=round(rss / 1024, 1),
         load=load, messages=count, final=state)
print(json.dumps(r), file=sys.stderr)
rate = rows / (t2 - t0)
name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
print(json.dumps(dict(
    id=f"batch-{backend}-{rows}", title=f"Batch enqueue, {rows:,} rows, {name}, dispatch off",
    value=round(rate), unit="rows/s", healthz_rps=h["rate"], ratio=round(rate / h["rate"], 4), ratio_kind="rate",
    peak_rss_mb=r["peak_rss_mb"], wall_s=r["wall_s"], upload_s=r["upload_s"], enqueue_s=r["enqueue_s"],
    load1=cpu["load1"], other_cores=cpu["other_cores"], server_cores=cpu["server_cores"], db_cores=cpu["db_cores"],
    healthz_other_cores=h["other_cores"], verify="OK" if count == rows else "MISMATCH",
    verify_detail=f"{count} messages for {rows} rows", command=command)))
if count != rows:
    sys.exit(f"expected {rows} messages, found {count}")
PY
    )
    emit "$summary"
done
