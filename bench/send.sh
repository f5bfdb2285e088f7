#!/usr/bin/env bash
# Load test of POST /v1/sms/send (sandbox carrier), measured beside the same server's
# /healthz rate in one run, because the machines we run on are shared and noisy: the ratio
# send/healthz is the figure to compare across runs, the absolute rates are context.
#
#   bench/send.sh                                  # SQLite, dispatch workers running
#   PARLEY_DISPATCH__ENABLED=false bench/send.sh   # SQLite, the API alone
#   PARLEY_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres bench/send.sh
#                                                  # SQLite, then PostgreSQL (fresh database
#                                                  # bench_<random>, dropped afterwards)
#   PARLEY_BENCH_PG_URL=... BENCH_SQLITE=0 BENCH_NODES=3 bench/send.sh
#                                                  # three `parley serve` on one PostgreSQL
#                                                  # database, the load spread over them
#
# Each backend gets a fresh server (or BENCH_NODES servers, on ports BENCH_PORT, +1, ...)
# on a temporary directory. Phases, each for BENCH_DURATION with BENCH_CONNECTIONS
# connections on BENCH_THREADS wrk threads (split evenly over one wrk per node; the figures
# are the aggregate of all nodes):
#   1. GET /healthz                          (the HTTP stack alone: the ceiling)
#   2. GET /v1/sms/conversations/<id>        (authenticated, two indexed reads; BENCH_GET=0 skips)
#   3. POST /v1/sms/send                     (BENCH_USERS distinct user numbers)
# Then the servers are stopped and the messages table must hold one row per 200 wrk counted
# (plus the one send that created the conversation for phase 2). wrk abandons the requests
# in flight when its clock runs out; the server may still commit those, so up to
# BENCH_CONNECTIONS extra rows are expected and reported, never fewer rows than 200s.
#
# Any PARLEY_* variable is passed to the server (e.g. PARLEY_DATABASE__SQLITE_SYNCHRONOUS=OFF,
# PARLEY_DATABASE__MAX_CONNECTIONS=16). Other knobs, with defaults:
#   BENCH_DURATION=20s BENCH_CONNECTIONS=64 BENCH_THREADS=2 BENCH_USERS=10000 BENCH_PORT=18090
#   BENCH_NODES=1 (servers on one database; more than one needs PostgreSQL)
#   BENCH_NUMBERS=1 (agent numbers to spread sends over: +15550100000 is the sandbox number
#   every fresh server has; more are added with `parley number add`, at BENCH_MPS if set)
#   BENCH_GET=1  PARLEY_BIN=<path> (skip the build and use this binary)  BENCH_KEEP=1 (keep temp dirs)
#   BENCH_SQLITE=0 (with PARLEY_BENCH_PG_URL: PostgreSQL only)
#   BENCH_TMPDIR=/tmp (where the SQLite file goes; /dev/shm takes the disk out of the picture)
#   BENCH_NICE=-10 (run the server and wrk at this nice level: on a shared machine, other
#   people's builds then take less of the CPU from the measurement; needs root for < 0)
#   BENCH_SETUP_SQL='DROP INDEX x' (run on the fresh database once the server has migrated it,
#   before the phases: to measure what an index or a setting costs)
#   BENCH_PG_SYNCHRONOUS_COMMIT=off (set on the bench database, to see what commit fsyncs cost)
#   BENCH_RESULTS=<file> (append the figures as JSON lines, for bench/run), BENCH_COMMAND
#   (the command line recorded with them; bench/run sets it)
# CPU: for each phase the servers', wrk's and (PostgreSQL) the bench database backends' CPU
# time are read from /proc and printed as cores in use, with what the rest of the machine
# ("others": other people's jobs) used in the same window.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-20s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
USERS=${BENCH_USERS:-10000}
DO_GET=${BENCH_GET:-1}
NUMBERS=${BENCH_NUMBERS:-1}
NODES_WANTED=${BENCH_NODES:-1}
AGENT=+15550100000
DISPATCH=${PARLEY_DISPATCH__ENABLED:-true}
COMMAND=${BENCH_COMMAND:-bench/send.sh}
trap 'echo "bench/send.sh: command failed at line $LINENO" >&2' ERR

need_tools
resolve_bin

bench_backend() { # $1 = sqlite|postgres
    local backend=$1 dir
    new_dir; dir=$DIR
    new_database "$backend" "$dir"
    local url=$DB_URL
    log "$backend, $NODES_WANTED node(s), dispatch $DISPATCH: server(s) from 127.0.0.1:$PORT, data in ${url/\/\/*@/\/\/***@}"
    if [[ $backend == postgres && -n "${BENCH_PG_SYNCHRONOUS_COMMIT:-}" ]]; then
        psql "$url" -qtAc "ALTER DATABASE ${url##*/} SET synchronous_commit = '$BENCH_PG_SYNCHRONOUS_COMMIT'" >/dev/null
    fi
    start_nodes "$NODES_WANTED" "$url" "$dir"

    if [[ -n "${BENCH_SETUP_SQL:-}" ]]; then
        log "running BENCH_SETUP_SQL: $BENCH_SETUP_SQL"
        sql "$url" "$BENCH_SETUP_SQL" >/dev/null
    fi
    local results="$dir/results.jsonl" setup_sends=0
    : >"$results"
    log "phase healthz ($DURATION)"
    wrk_phase send.lua healthz "$dir" "$url" healthz >>"$results"
    if [[ $DO_GET == 1 ]]; then
        local conv
        conv=$(curl -fsS -X POST "http://127.0.0.1:$PORT/v1/sms/send" -H "authorization: $KEY" \
            -H 'content-type: application/json' \
            -d "{\"user_number\":\"+15559990000\",\"agent_number\":\"$AGENT\",\"agent_message\":\"hi\"}" |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["conversation_id"])')
        setup_sends=1
        log "phase get /v1/sms/conversations/$conv ($DURATION)"
        wrk_phase send.lua get "$dir" "$url" get "/v1/sms/conversations/$conv" "$KEY" >>"$results"
    fi
    if ((NUMBERS > 1)); then
        local org n
        org=$(default_org "$dir")
        log "adding $((NUMBERS - 1)) sandbox numbers${BENCH_MPS:+ at $BENCH_MPS mps} to org $org"
        for n in $(seq 1 $((NUMBERS - 1))); do
            "$BIN" number add "$(printf '+1555010%04d' "$n")" --org "$org" ${BENCH_MPS:+--mps "$BENCH_MPS"} \
                --database-url "$url" >/dev/null 2>>"$dir/number-add.err"
        done
    fi
    log "phase send ($DURATION, $USERS distinct users, $NUMBERS agent number(s))"
    # Committed sends every 5 s while wrk runs, to show whether the rate holds as the queue
    # grows (MAX(id) is an index lookup, cheap next to the load).
    local sampler
    (
        prev=$(sql "$url" "SELECT COALESCE(MAX(id), 0) FROM messages")
        while sleep 5; do
            cur=$(sql "$url" "SELECT COALESCE(MAX(id), 0) FROM messages") || break
            printf '%d ' $(((cur - prev) / 5))
            prev=$cur
        done
    ) >"$dir/send-rate-5s.txt" 2>/dev/null &
    sampler=$!
    wrk_phase send.lua send "$dir" "$url" send "$USERS" "$AGENT" "$KEY" "$THREADS" "$NUMBERS" 0 NODE "$NODES_WANTED" >>"$results"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true

    stop_nodes
    local rows
    rows=$(sql "$url" "SELECT COUNT(*) FROM messages")

    local summary
    summary=$(python3 - "$results" "$backend" "$DISPATCH" "$rows" "$setup_sends" "$CONNECTIONS" \
        "$dir/send-rate-5s.txt" "$NODES" "$COMMAND" <<'PY'
import json, sys
path, backend, dispatch, rows, setup, conns, series, nodes, command = sys.argv[1:10]
rows, setup, conns, nodes = int(rows), int(setup), int(conns), int(nodes)
ph = {r["phase"]: r for r in map(json.loads, open(path))}
h, s = ph["healthz"], ph["send"]
out = sys.stderr
onoff = "off" if dispatch.lower() in ("false", "0", "no", "off") else "on"
print(f"\nbackend {backend}, {nodes} node(s), dispatch {onoff}", file=out)
print(f"{'phase':8} {'req/s':>10} {'p50':>10} {'p99':>10} {'errors':>7} {'server cores':>13} {'pg cores':>9} "
      f"{'wrk cores':>10} {'others':>7}", file=out)
for r in ph.values():
    print(f"{r['phase']:8} {r['rate']:10.0f} {r['p50_ms']:8.2f} ms {r['p99_ms']:8.2f} ms {r['errors']:7d} "
          f"{r['server_cores']:13.2f} {r['db_cores']:9.2f} {r['gen_cores']:10.2f} {r['other_cores']:7.2f}", file=out)
ratio = s["rate"] / h["rate"]
print("send rate per 5 s (committed/s): " + (open(series).read().strip() or "-"), file=out)
print(f"ratio send/healthz: {ratio:.3f}" + (f"   get/healthz: {ph['get']['rate'] / h['rate']:.3f}" if "get" in ph else ""), file=out)
extra = rows - setup - s["ok"]
verdict = "OK" if 0 <= extra <= conns else "MISMATCH"
print(f"verify: {rows} message rows = {s['ok']} sends answered 200 + {setup} setup send + {extra} "
      f"committed while wrk stopped (allowed 0..{conns}): {verdict}", file=out)
name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
print(json.dumps(dict(
    id=f"send-{backend}-{nodes}", title=f"Send API, {name}, {nodes} node{'s' if nodes > 1 else ''}, dispatch {onoff}",
    value=s["rate"], unit="sends/s", healthz_rps=h["rate"], ratio=round(ratio, 4), ratio_kind="rate",
    p50_ms=s["p50_ms"], p99_ms=s["p99_ms"], errors=s["errors"], load1=s["load1"],
    other_cores=s["other_cores"], server_cores=s["server_cores"], db_cores=s["db_cores"],
    gen_cores=s["gen_cores"], healthz_other_cores=h["other_cores"], verify=verdict,
    verify_detail=f"{rows} rows for {s['ok']} 200s (+{setup} setup, {extra} in flight)",
    command=command)))
sys.exit(0 if verdict == "OK" else 1)
PY
    )
    emit "$summary"
}

log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION; users $USERS${BENCH_NICE:+; nice $BENCH_NICE}"
if ((NODES_WANTED > 1)) && [[ -z "${PARLEY_BENCH_PG_URL:-}" ]]; then
    echo "BENCH_NODES > 1 needs PostgreSQL (PARLEY_BENCH_PG_URL): nodes share one database" >&2
    exit 2
fi
if [[ "${BENCH_SQLITE:-1}" == 1 ]] && ((NODES_WANTED == 1)); then bench_backend sqlite; fi
if [[ -n "${PARLEY_BENCH_PG_URL:-}" ]]; then bench_backend postgres; fi
