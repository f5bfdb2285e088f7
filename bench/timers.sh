#!/usr/bin/env bash
# Timer firing skew with many pending timers, and memory with a million pending.
#
#   bench/timers.sh                 # SQLite, a fresh file in a temp dir per run
#
# Runs crates/parley-server/examples/timer_bench.rs (release) once per BENCH_TIMER_PENDING
# size (default "100000 1000000"): that many timers pending a day ahead, plus BENCH_FIRING
# (1,000) timeout timers due over BENCH_WINDOW_MS (10 s): the skew ended_at - due_at of the
# firing ones, p50/p99/max, and the process's RSS before the worker started, after it ran,
# and at peak. The worker never loads pending timers, so RSS must not grow with the
# pending count.
#
# The timer worker runs inside timer_bench, not behind HTTP, so there is no server of its
# own to ask for /healthz. As the machine-speed reference for the same run, a fresh
# `parley serve` (PARLEY_BIN) on a temp SQLite file answers a wrk /healthz phase
# (BENCH_DURATION, default 10s) just before each timer run, and is stopped before it starts.
# The ratio reported for a skew is skew x that healthz rate (how many /healthz answers fit
# in it), as for the other latencies.
# Knobs: TIMER_BENCH_BIN=<path> (skip the example's build), PARLEY_BIN, BENCH_RESULTS,
# BENCH_COMMAND, BENCH_PORT, BENCH_KEEP, BENCH_TMPDIR.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
FIRING=${BENCH_FIRING:-1000}
WINDOW=${BENCH_WINDOW_MS:-10000}
PENDING_LIST=${BENCH_TIMER_PENDING:-"100000 1000000"}
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
COMMAND=${BENCH_COMMAND:-bench/timers.sh}
need_tools
resolve_bin
if [[ -n "${TIMER_BENCH_BIN:-}" ]]; then
    TBIN=$TIMER_BENCH_BIN
else
    (cd "$BENCH_ROOT" && cargo build --release --locked -q -p parley-server --example timer_bench)
    TBIN="${CARGO_TARGET_DIR:-$BENCH_ROOT/target}/release/examples/timer_bench"
fi

for PENDING in $PENDING_LIST; do
    new_dir; dir=$DIR
    new_database sqlite "$dir"
    start_nodes 1 "$DB_URL" "$dir"
    log "healthz reference ($DURATION)"
    healthz=$(wrk_phase send.lua healthz "$dir" "$DB_URL" healthz)
    stop_nodes
    log "timer_bench --pending $PENDING --firing $FIRING --window-ms $WINDOW (load $(cut -d' ' -f1-3 /proc/loadavg))"
    cpu_begin ""
    # In a subshell of its own so its CPU (the subshell's cutime + cstime) can be told apart
    # from the rest of the machine's ("other").
    ( "$TBIN" --pending "$PENDING" --firing "$FIRING" --window-ms "$WINDOW" \
        --database "sqlite://$dir/timers.db?mode=rwc" >"$dir/timer.out"
      awk '{print $16 + $17}' "/proc/$BASHPID/stat" >"$dir/timer.cpu" )
    cpu=$(cpu_end "" "$(cat "$dir/timer.cpu")")
    out=$(cat "$dir/timer.out")
    echo "$out" >&2
    summary=$(python3 - "$out" "$healthz" "$cpu" "$COMMAND" <<'PY'
import json, re, sys
out, h, cpu, command = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
kv = dict(re.findall(r"(\w+)=(\d+)", out))
g = lambda k: int(kv[k])
pending, p50, p99, mx = g("pending"), g("p50"), g("p99"), g("max")
ok = g("unfired") == 0
print(json.dumps(dict(
    id=f"timers-{pending}", title=f"Timer skew p99, {pending:,} pending, SQLite",
    value=p99, unit="ms", p50_ms=p50, max_ms=mx, healthz_rps=h["rate"],
    ratio=round(p99 / 1000 * h["rate"], 1), ratio_kind="latency", fired=g("fired"), firing=g("firing"),
    rss_before_mb=round(g("before_worker") / 1024), rss_after_mb=round(g("after_worker") / 1024),
    peak_rss_mb=round(g("peak") / 1024), load1=cpu["load1"], other_cores=cpu["other_cores"],
    healthz_other_cores=h["other_cores"], verify="OK" if ok else "MISMATCH",
    verify_detail=f"{g('fired')} of {g('firing')} fired", command=command)))
sys.exit(0 if ok else 1)
PY
    )
    emit "$summary"
done
