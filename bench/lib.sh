# Shared helpers for the bench/*.sh scripts (sourced, not run).
#
# What every benchmark here has in common: a fresh `parley serve` (or several, on one
# PostgreSQL database) on a temp dir or a fresh database, a `/healthz` phase on the same
# server(s) in the same run as the reference rate (the machines are shared and noisy: the
# ratio to /healthz is the figure to compare across runs), CPU accounting from /proc so a
# reader can see what else ran, and one JSON line per figure appended to $BENCH_RESULTS
# when it is set (bench/run collects them into docs/BENCHMARKS.md).
#
# A script sets BENCH_NAME before sourcing, and may set PORT (default BENCH_PORT or 18090).
# shellcheck shell=bash

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KEY=${KEY:-benchkey}
PORT=${PORT:-${BENCH_PORT:-18090}}
HZ=$(getconf CLK_TCK)
NICE=()
if [[ -n "${BENCH_NICE:-}" ]]; then NICE=(nice -n "$BENCH_NICE"); fi

log() { printf '== %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------- tools
apt_install() {
    if ! apt-get install -y "$@" >/dev/null 2>&1; then
        apt-get update >/dev/null 2>&1 || true
        apt-get install -y "$@" >/dev/null
    fi
}
need_tools() { # wrk, curl, python3, and psql when PostgreSQL is used
    command -v wrk >/dev/null || { log "installing wrk"; apt_install wrk; }
    command -v curl >/dev/null || { log "installing curl"; apt_install curl; }
    command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
    if [[ -n "${PARLEY_BENCH_PG_URL:-}" ]] && ! command -v psql >/dev/null; then
        log "installing psql"; apt_install postgresql-client
    fi
}

# The release binary: PARLEY_BIN, else a build (CARGO_TARGET_DIR respected).
resolve_bin() {
    if [[ -n "${PARLEY_BIN:-}" ]]; then
        BIN=$PARLEY_BIN
    else
        log "building (cargo build --release -p parley-server)"
        (cd "$BENCH_ROOT" && cargo build --release --locked -p parley-server --quiet)
        BIN="${CARGO_TARGET_DIR:-$BENCH_ROOT/target}/release/parley"
    fi
    [[ -x "$BIN" ]] || { echo "no parley binary at $BIN" >&2; exit 1; }
}

# ---------------------------------------------------------------------------- state / cleanup
SERVER_PIDS=()
TMPDIRS=()
PG_DBS=()
bench_cleanup() {
    local pid d db
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for db in "${PG_DBS[@]}"; do
        psql "$PARLEY_BENCH_PG_URL" -qtAc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    for d in "${TMPDIRS[@]}"; do
        if [[ "${BENCH_KEEP:-0}" == 1 ]]; then log "kept $d"; else rm -rf "$d"; fi
    done
}
trap bench_cleanup EXIT

new_dir() { # sets DIR to a fresh temp dir, removed at exit (not run in $(...): the list
    # of dirs to remove lives in this shell)
    DIR=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/parley-bench.XXXXXX")
    TMPDIRS+=("$DIR")
}

# Sets DB_URL to a fresh database: a SQLite file in $2, or (backend postgres) a new
# PostgreSQL database bench_<random> on PARLEY_BENCH_PG_URL's server, dropped at exit.
# Called directly (not in $(...)) so the database is remembered for the cleanup.
new_database() { # $1 = sqlite|postgres, $2 = dir
    if [[ $1 == sqlite ]]; then
        DB_URL="$2/parley.db"
        return
    fi
    : "${PARLEY_BENCH_PG_URL:?set PARLEY_BENCH_PG_URL for the PostgreSQL benchmarks}"
    local db
    db="bench_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    psql "$PARLEY_BENCH_PG_URL" -qtAc "CREATE DATABASE $db" >/dev/null
    PG_DBS+=("$db")
    # shellcheck disable=SC2034 # DB_URL is for the calling script
    DB_URL=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' \
        "$PARLEY_BENCH_PG_URL" "$db")
}

# One SQL statement's result (first column of each row) on either backend.
sql() { # $1 = database url or SQLite file, $2 = SQL
    if [[ $1 == postgres* ]]; then
        psql "$1" -qtAc "$2"
    elif command -v sqlite3 >/dev/null; then
        sqlite3 "$1" "$2"
    else
        python3 -c 'import sqlite3,sys
for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print(*r, sep="|")' "$1" "$2"
    fi
}

# ---------------------------------------------------------------------------- servers
# Starts $1 nodes of `parley serve` on one database, node k on PORT+k, and waits for each
# /healthz. Extra arguments go to `parley serve` (e.g. --config FILE). The environment
# (PARLEY_*) is the caller's.
start_nodes() { # $1 = nodes, $2 = database url, $3 = dir, rest = extra serve args
    local n=$1 url=$2 dir=$3 k
    shift 3
    for ((k = 0; k < n; k++)); do
        PARLEY_API_KEY=$KEY "${NICE[@]}" "$BIN" serve --listen "127.0.0.1:$((PORT + k))" \
            --database-url "$url" "$@" >"$dir/server$k.out" 2>"$dir/server$k.err" &
        SERVER_PIDS+=($!)
        # Node 0 migrates and creates the default org; the others start once it is up, so
        # they do not race it through the first-start setup.
        wait_healthz "$((PORT + k))" "$!" "$dir/server$k.err"
    done
    NODES=$n
}

wait_healthz() { # $1 = port, $2 = pid, $3 = stderr file
    for _ in $(seq 1 300); do
        if curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; then return 0; fi
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    echo "server on port $1 did not start; its stderr:" >&2
    tail -n 30 "$3" >&2
    exit 1
}

stop_nodes() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SERVER_PIDS=()
}

# The default org's id, from node 0's first-start log line.
default_org() { # $1 = dir
    local org
    org=$(sed -n 's/.*created org "default" (\(.*\)).*/\1/p' "$1/server0.out" "$1/server0.err" | head -n1)
    [[ -n $org ]] || { echo "could not read the default org id from $1/server0.*" >&2; exit 1; }
    echo "$org"
}

# ---------------------------------------------------------------------------- CPU accounting
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
machine_ticks() { awk '/^cpu /{busy=$2+$3+$4+$7+$8+$9; print busy, busy+$5+$6}' /proc/stat; }
servers_ticks() {
    local pid t=0
    for pid in "${SERVER_PIDS[@]}"; do t=$((t + $(proc_ticks "$pid"))); done
    echo "$t"
}
# PostgreSQL only: total CPU ticks of the backends serving database $1 (the database's
# share of the work; SQLite runs inside the server process). Read before and after a
# phase; backends that come and go in between are missed, which the pools make rare.
db_ticks() { # $1 = database url
    [[ $1 == postgres* ]] || { echo 0; return; }
    local db=${1##*/} pid t=0
    db=${db%%\?*}
    for pid in $(psql "$PARLEY_BENCH_PG_URL" -qtAc \
        "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid()"); do
        t=$((t + $(proc_ticks "$pid")))
    done
    echo "$t"
}

# Starts a CPU window: remembers the server, database and machine tick counters.
cpu_begin() { # $1 = database url
    CPU_S0=$(servers_ticks); CPU_D0=$(db_ticks "$1"); CPU_M0=$(machine_ticks)
    CPU_T0=$(date +%s.%N)
}
# Ends it: prints a JSON object of cores used by the server(s), the database backends, the
# load generator ($2 ticks, 0 if none) and everything else on the machine ("other").
cpu_end() { # $1 = database url, $2 = load generator ticks
    local s1 d1 m1 t1
    s1=$(servers_ticks); d1=$(db_ticks "$1"); m1=$(machine_ticks); t1=$(date +%s.%N)
    python3 - "$CPU_S0" "$s1" "$CPU_D0" "$d1" "$CPU_M0" "$m1" "$CPU_T0" "$t1" "${2:-0}" "$HZ" <<'PY'
import json, os, sys
s0, s1, d0, d1, m0, m1, t0, t1, gen, hz = sys.argv[1:11]
hz, secs = float(hz), float(t1) - float(t0)
b0, _ = map(float, m0.split()); b1, _ = map(float, m1.split())
c = lambda ticks: ticks / hz / secs if secs > 0 else 0.0
r = dict(server_cores=c(float(s1) - float(s0)), db_cores=max(0.0, c(float(d1) - float(d0))),
         gen_cores=c(float(gen)), machine_busy_cores=c(b1 - b0), load1=os.getloadavg()[0])
r["other_cores"] = max(0.0, r["machine_busy_cores"] - r["server_cores"] - r["db_cores"] - r["gen_cores"])
print(json.dumps({k: round(v, 3) for k, v in r.items()}))
PY
}

# ---------------------------------------------------------------------------- wrk phases
# Runs one wrk per node at once (node k gets CONNECTIONS/nodes connections and
# THREADS/nodes threads, at least one), each for DURATION with bench/$1 (a Lua script that
# prints WRKJSON and WRKPCT lines, see send.lua), and prints one JSON line: the summed
# request counts and errors, the aggregate rate, p50/p99 pooled from every wrk's latency
# percentiles at 0.1% steps (weighted by its requests: an approximation of the merged
# histogram, exact for one node), and the CPU window. Rest = arguments after `--`; the
# placeholder NODE in them is replaced by the node's index.
wrk_phase() { # $1 = lua script, $2 = name, $3 = dir, $4 = database url, rest = script args
    local lua=$1 name=$2 dir=$3 url=$4 k
    shift 4
    # CONNECTIONS, THREADS and DURATION are the calling script's settings.
    local conns=$((${CONNECTIONS:-64} / NODES)) threads=$((${THREADS:-2} / NODES))
    ((conns >= 1)) || conns=1
    ((threads >= 1)) || threads=1
    ((conns >= threads)) || conns=$threads
    cpu_begin "$url"
    local pids=()
    rm -f "$dir/mark-$name-"*
    for ((k = 0; k < NODES; k++)); do
        local args=("${@//NODE/$k}")
        # wrk runs as the only child of this subshell, so once it is reaped the subshell's
        # cutime + cstime are wrk's CPU time. BENCH_WRK_MARK tells scripts that stop on
        # their own (send_limit.lua, status.lua) where to say so, see below.
        ( BENCH_WRK_MARK="$dir/mark-$name-$k-" "${NICE[@]}" wrk -t"$threads" -c"$conns" -d"$DURATION" \
            --timeout 10s --latency -s "$BENCH_ROOT/bench/$lua" "http://127.0.0.1:$((PORT + k))" \
            -- "${args[@]}" >"$dir/wrk-$name-$k.txt" &
          echo $! >"$dir/wrk-$name-$k.pid"
          wait $!
          awk '{print $16 + $17}' "/proc/$BASHPID/stat" >"$dir/wrk-$name-$k.cpu" ) &
        pids+=($!)
    done
    # A wrk thread can stop itself but wrk still waits out -d before it reports, so a script
    # with a fixed amount of work writes a mark file per thread when its thread is done, and
    # this loop interrupts that wrk (SIGINT: wrk stops its clock and prints its report) once
    # all its threads are. wrk's duration then ends within ~20 ms of the last request.
    local live=0 wpid
    if [[ $lua == send_limit.lua || $lua == status.lua ]]; then live=$NODES; fi
    while ((live > 0)); do
        live=0
        for ((k = 0; k < NODES; k++)); do
            [[ -s "$dir/wrk-$name-$k.pid" ]] || { live=1; continue; }
            wpid=$(cat "$dir/wrk-$name-$k.pid")
            kill -0 "$wpid" 2>/dev/null || continue
            live=$((live + 1))
            local marks=("$dir/mark-$name-$k-"*)
            if [[ -e "${marks[0]}" ]] && ((${#marks[@]} >= threads)); then kill -INT "$wpid" 2>/dev/null || true; fi
        done
        ((live > 0)) && sleep 0.02
    done
    for k in "${pids[@]}"; do wait "$k"; done
    local gen=0
    for ((k = 0; k < NODES; k++)); do gen=$((gen + $(cat "$dir/wrk-$name-$k.cpu"))); done
    local cpu
    cpu=$(cpu_end "$url" "$gen")
    python3 - "$name" "$dir" "$NODES" "$cpu" <<'PY'
import json, sys
name, d, nodes, cpu = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
runs, pooled = [], []
for k in range(nodes):
    text = open(f"{d}/wrk-{name}-{k}.txt").read()
    line = lambda tag: next(l for l in text.splitlines() if l.startswith(tag + " "))[len(tag) + 1:]
    r = json.loads(line("WRKJSON"))
    pct = json.loads(line("WRKPCT"))
    runs.append(r)
    w = r["requests"] / len(pct)
    pooled += [(us, w) for us in pct]
pooled.sort()
total = sum(w for _, w in pooled)
def q(p):
    acc = 0.0
    for us, w in pooled:
        acc += w
        if acc >= p * total:
            return us
    return pooled[-1][0] if pooled else 0
secs = max(r["duration_us"] for r in runs) / 1e6
reqs = sum(r["requests"] for r in runs)
non2xx = sum(r["non2xx"] for r in runs)
out = dict(phase=name, nodes=nodes, requests=reqs, seconds=round(secs, 3), rate=round(reqs / secs, 1),
           ok=reqs - non2xx, non2xx=non2xx,
           errors=sum(r["non2xx"] + r["connect"] + r["read"] + r["write"] + r["timeout"] for r in runs),
           p50_ms=round(q(0.50) / 1000, 2), p99_ms=round(q(0.99) / 1000, 2),
           max_ms=round(max(r["max_us"] for r in runs) / 1000, 2))
out.update(cpu)
print(json.dumps(out))
PY
}

# ---------------------------------------------------------------------------- results
# Appends one figure to $BENCH_RESULTS (JSON lines) when set. $1 is a JSON object with at
# least: id, title, value, unit, healthz_rps, ratio, ratio_kind, command; anything else is
# kept as detail. Always echoes it to stderr.
emit() {
    printf '%s\n' "$1" >&2
    if [[ -n "${BENCH_RESULTS:-}" ]]; then printf '%s\n' "$1" >>"$BENCH_RESULTS"; fi
}
