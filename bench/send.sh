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
#
# Each backend gets a fresh server on a temporary directory. Phases, each for BENCH_DURATION
# with BENCH_CONNECTIONS connections on BENCH_THREADS wrk threads:
#   1. GET /healthz                          (the HTTP stack alone: the ceiling)
#   2. GET /v1/sms/conversations/<id>        (authenticated, two indexed reads; BENCH_GET=0 skips)
#   3. POST /v1/sms/send                     (BENCH_USERS distinct user numbers)
# Then the server is stopped and the messages table must hold one row per 200 wrk counted
# (plus the one send that created the conversation for phase 2). wrk abandons the requests
# in flight when its clock runs out; the server may still commit those, so up to
# BENCH_CONNECTIONS extra rows are expected and reported, never fewer rows than 200s.
#
# Any PARLEY_* variable is passed to the server (e.g. PARLEY_DATABASE__SQLITE_SYNCHRONOUS=OFF,
# PARLEY_DATABASE__MAX_CONNECTIONS=16). Other knobs, with defaults:
#   BENCH_DURATION=20s BENCH_CONNECTIONS=64 BENCH_THREADS=2 BENCH_USERS=10000 BENCH_PORT=18090
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
# CPU: for each phase the server's, wrk's and (PostgreSQL) the bench database backends' CPU
# time are read from /proc and printed as cores in use, with what the rest of the machine
# ("others": other people's jobs) used in the same window.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LUA="$ROOT/bench/send.lua"
DURATION=${BENCH_DURATION:-20s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
USERS=${BENCH_USERS:-10000}
PORT=${BENCH_PORT:-18090}
DO_GET=${BENCH_GET:-1}
NUMBERS=${BENCH_NUMBERS:-1}
KEY=benchkey
AGENT=+15550100000
DISPATCH=${PARLEY_DISPATCH__ENABLED:-true}
NICE=""
if [[ -n "${BENCH_NICE:-}" ]]; then NICE="nice -n $BENCH_NICE"; fi

log() { printf '== %s\n' "$*" >&2; }
trap 'echo "bench/send.sh: command failed at line $LINENO" >&2' ERR

# ---------------------------------------------------------------------------- tools
apt_install() {
    if ! apt-get install -y "$@" >/dev/null 2>&1; then
        apt-get update >/dev/null 2>&1 || true
        apt-get install -y "$@" >/dev/null
    fi
}
command -v wrk >/dev/null || { log "installing wrk"; apt_install wrk; }
command -v curl >/dev/null || { log "installing curl"; apt_install curl; }
command -v python3 >/dev/null || { echo "python3 is required (parsing wrk output)" >&2; exit 1; }
if ! command -v sqlite3 >/dev/null; then
    apt_install sqlite3 || log "no sqlite3 CLI; counting rows with python3's sqlite3 module"
fi

# ---------------------------------------------------------------------------- build
if [[ -n "${PARLEY_BIN:-}" ]]; then
    BIN=$PARLEY_BIN
else
    log "building (cargo build --release -p parley-server)"
    (cd "$ROOT" && cargo build --release -p parley-server --quiet)
    BIN="$ROOT/target/release/parley"
fi
[[ -x "$BIN" ]] || { echo "no parley binary at $BIN" >&2; exit 1; }

# ---------------------------------------------------------------------------- state / cleanup
SERVER_PID=""
TMPDIRS=()
PG_DB=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n "$PG_DB" ]]; then
        psql "$PARLEY_BENCH_PG_URL" -qtAc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if [[ "${BENCH_KEEP:-0}" != 1 ]]; then
        for d in "${TMPDIRS[@]}"; do rm -rf "$d"; done
    else
        for d in "${TMPDIRS[@]}"; do log "kept $d"; done
    fi
}
trap cleanup EXIT

# CPU ticks (user+system) of a process, and busy/total ticks of the whole machine.
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
machine_ticks() { awk '/^cpu /{busy=$2+$3+$4+$7+$8+$9; print busy, busy+$5+$6}' /proc/stat; }
HZ=$(getconf CLK_TCK)

start_server() { # $1 = database url, $2 = dir
    local url=$1 dir=$2
    PARLEY_API_KEY=$KEY $NICE "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "$url" >"$dir/server.out" 2>"$dir/server.err" &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "server did not start; its stderr:" >&2
    tail -n 30 "$dir/server.err" >&2
    exit 1
}

stop_server() {
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# Runs one wrk phase; prints its WRKJSON merged with CPU figures as one JSON line.
run_phase() { # $1 = name, $2 = dir, rest = args after `--` for send.lua
    local name=$1 dir=$2
    shift 2
    local out="$dir/wrk-$name.txt"
    local s0 m0 s1 m1
    db_ticks >"$out.db0"
    s0=$(proc_ticks "$SERVER_PID")
    m0=$(machine_ticks)
    # wrk runs as the only child of this subshell, so once it is reaped the subshell's
    # cutime + cstime are wrk's CPU time.
    ( $NICE wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency -s "$LUA" \
        "http://127.0.0.1:$PORT" -- "$@" >"$out"; awk '{print $16 + $17}' "/proc/$BASHPID/stat" >"$out.cpu" )
    s1=$(proc_ticks "$SERVER_PID")
    m1=$(machine_ticks)
    db_ticks >"$out.db1"
    python3 - "$name" "$out" "$s0" "$s1" "$m0" "$m1" "$HZ" <<'PY'
import json, sys
name, out, s0, s1, m0, m1, hz = sys.argv[1:8]
def ticks(path):
    d = {}
    for l in open(path):
        if l.split():
            pid, t = l.split()
            d[pid] = float(t)
    return d
db0, db1 = ticks(out + ".db0"), ticks(out + ".db1")
db_ticks = sum(t - db0.get(pid, 0.0) for pid, t in db1.items())
text = open(out).read()
line = next(l for l in text.splitlines() if l.startswith("WRKJSON "))
r = json.loads(line[len("WRKJSON "):])
hz = float(hz)
secs = r["duration_us"] / 1e6
wrk_ticks = float(open(out + ".cpu").read().split()[0])
b0, t0 = map(float, m0.split()); b1, t1 = map(float, m1.split())
ncpu = (t1 - t0) / hz / secs if secs else 0
r.update(
    phase=name,
    rate=r["requests"] / secs,
    ok=r["requests"] - r["non2xx"],
    errors=r["non2xx"] + r["connect"] + r["read"] + r["write"] + r["timeout"],
    server_cores=(float(s1) - float(s0)) / hz / secs,
    db_cores=db_ticks / hz / secs,
    wrk_cores=wrk_ticks / hz / secs,
    machine_busy_cores=(b1 - b0) / hz / secs,
    machine_cores=ncpu,
)
r["other_cores"] = max(0.0, r["machine_busy_cores"] - r["server_cores"] - r["wrk_cores"] - r["db_cores"])
print(json.dumps(r))
PY
}

# PostgreSQL only: "pid ticks" of the backends serving the bench database (their CPU is
# the database's share of the work; SQLite runs inside the server process).
db_ticks() {
    [[ -n "$PG_DB" ]] || return 0
    local pid
    for pid in $(psql "$PARLEY_BENCH_PG_URL" -qtAc \
        "SELECT pid FROM pg_stat_activity WHERE datname = '$PG_DB' AND pid <> pg_backend_pid()"); do
        echo "$pid $(proc_ticks "$pid")"
    done
}

max_message_id() { # $1 = database url or SQLite file
    if [[ $1 == postgres* ]]; then
        psql "$1" -qtAc "SELECT COALESCE(MAX(id), 0) FROM messages"
    elif command -v sqlite3 >/dev/null; then
        sqlite3 "$1" "SELECT COALESCE(MAX(id), 0) FROM messages"
    else
        python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0])' "$1"
    fi
}

count_rows_sqlite() { # $1 = db file
    if command -v sqlite3 >/dev/null; then
        sqlite3 "$1" "SELECT COUNT(*) FROM messages"
    else
        python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM messages").fetchone()[0])' "$1"
    fi
}

# ---------------------------------------------------------------------------- one backend
bench_backend() { # $1 = sqlite|postgres
    local backend=$1 dir url
    dir=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/parley-bench.XXXXXX")
    TMPDIRS+=("$dir")
    if [[ $backend == sqlite ]]; then
        url="$dir/parley.db"
    else
        PG_DB="bench_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
        psql "$PARLEY_BENCH_PG_URL" -qtAc "CREATE DATABASE $PG_DB" >/dev/null
        if [[ -n "${BENCH_PG_SYNCHRONOUS_COMMIT:-}" ]]; then
            psql "$PARLEY_BENCH_PG_URL" -qtAc \
                "ALTER DATABASE $PG_DB SET synchronous_commit = '$BENCH_PG_SYNCHRONOUS_COMMIT'" >/dev/null
        fi
        url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' \
            "$PARLEY_BENCH_PG_URL" "$PG_DB")
    fi
    log "$backend, dispatch $DISPATCH: server on 127.0.0.1:$PORT, data in ${url/\/\/*@/\/\/***@}"
    start_server "$url" "$dir"

    if [[ -n "${BENCH_SETUP_SQL:-}" ]]; then
        log "running BENCH_SETUP_SQL: $BENCH_SETUP_SQL"
        if [[ $backend == sqlite ]]; then
            if command -v sqlite3 >/dev/null; then
                sqlite3 "$url" "$BENCH_SETUP_SQL"
            else
                python3 -c 'import sqlite3,sys; sqlite3.connect(sys.argv[1]).executescript(sys.argv[2])' "$url" "$BENCH_SETUP_SQL"
            fi
        else
            psql "$url" -qtAc "$BENCH_SETUP_SQL" >/dev/null
        fi
    fi
    local results="$dir/results.jsonl" setup_sends=0
    : >"$results"
    log "phase healthz ($DURATION)"
    run_phase healthz "$dir" healthz >>"$results"
    if [[ $DO_GET == 1 ]]; then
        local conv
        conv=$(curl -fsS -X POST "http://127.0.0.1:$PORT/v1/sms/send" -H "authorization: $KEY" \
            -H 'content-type: application/json' \
            -d "{\"user_number\":\"+15559990000\",\"agent_number\":\"$AGENT\",\"agent_message\":\"hi\"}" |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["conversation_id"])')
        setup_sends=1
        log "phase get /v1/sms/conversations/$conv ($DURATION)"
        run_phase get "$dir" get "/v1/sms/conversations/$conv" "$KEY" >>"$results"
    fi
    if (( NUMBERS > 1 )); then
        local org n
        org=$(sed -n 's/.*created org "default" (\(.*\)).*/\1/p' "$dir/server.out")
        [[ -n $org ]] || { echo "could not read the default org id from $dir/server.out" >&2; exit 1; }
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
        prev=$(max_message_id "$url")
        while sleep 5; do
            cur=$(max_message_id "$url") || break
            printf '%d ' $(((cur - prev) / 5))
            prev=$cur
        done
    ) >"$dir/send-rate-5s.txt" 2>/dev/null &
    sampler=$!
    run_phase send "$dir" send "$USERS" "$AGENT" "$KEY" "$THREADS" "$NUMBERS" >>"$results"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true

    stop_server
    local rows
    if [[ $backend == sqlite ]]; then
        rows=$(count_rows_sqlite "$url")
    else
        rows=$(psql "$url" -qtAc "SELECT COUNT(*) FROM messages")
    fi

    python3 - "$results" "$backend" "$DISPATCH" "$rows" "$setup_sends" "$CONNECTIONS" "$dir/send-rate-5s.txt" <<'PY'
import json, sys
path, backend, dispatch, rows, setup, conns, series = sys.argv[1:8]
rows, setup, conns = int(rows), int(setup), int(conns)
ph = {r["phase"]: r for r in map(json.loads, open(path))}
h, s = ph["healthz"], ph["send"]
ms = lambda us: f"{us / 1000:.2f} ms"
print()
onoff = "off" if dispatch.lower() in ("false", "0", "no", "off") else "on"
print(f"backend {backend}, dispatch {onoff}")
print(f"{'phase':8} {'req/s':>10} {'p50':>10} {'p99':>10} {'errors':>7} {'server cores':>13} {'pg cores':>9} "
      f"{'wrk cores':>10} {'others':>7}")
for r in ph.values():
    print(f"{r['phase']:8} {r['rate']:10.0f} {ms(r['p50_us']):>10} {ms(r['p99_us']):>10} {r['errors']:7d} "
          f"{r['server_cores']:13.2f} {r['db_cores']:9.2f} {r['wrk_cores']:10.2f} {r['other_cores']:7.2f}")
ratio = s["rate"] / h["rate"]
print("send rate per 5 s (committed/s): " + (open(series).read().strip() or "-"))
print(f"ratio send/healthz: {ratio:.3f}" + (f"   get/healthz: {ph['get']['rate'] / h['rate']:.3f}" if "get" in ph else ""))
extra = rows - setup - s["ok"]
verdict = "OK" if 0 <= extra <= conns else "MISMATCH"
print(f"verify: {rows} message rows = {s['ok']} sends answered 200 + {setup} setup send + {extra} "
      f"committed while wrk stopped (allowed 0..{conns}): {verdict}")
print("markdown: | {} | {} | {:.0f} | {:.0f} | {:.3f} | {:.2f} ms | {:.2f} ms | {} |".format(
    "SQLite" if backend == "sqlite" else "PostgreSQL", onoff,
    h["rate"], s["rate"], ratio, s["p50_us"] / 1000, s["p99_us"] / 1000, s["errors"]))
sys.exit(0 if verdict == "OK" else 1)
PY
    if [[ $backend == postgres ]]; then
        psql "$PARLEY_BENCH_PG_URL" -qtAc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
        PG_DB=""
    fi
}

log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION; users $USERS${NICE:+; $NICE}"
if [[ "${BENCH_SQLITE:-1}" == 1 ]]; then bench_backend sqlite; fi
if [[ -n "${PARLEY_BENCH_PG_URL:-}" ]]; then bench_backend postgres; fi
