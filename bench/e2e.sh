#!/usr/bin/env bash
# End-to-end messages per second to the sandbox: a fixed number of sends through
# POST /v1/sms/send on a number allowed BENCH_E2E_MPS (default 1000) segments per second,
# timed from the first send until the sandbox carrier holds every accepted message (its
# `sandbox_inbox` rows: the handset's view, `GET /v1/sandbox/messages`). This is the whole
# path: API, queue, dispatch worker's claim and pacing, carrier call, sandbox write.
#
#   bench/e2e.sh                                  # SQLite
#   BENCH_BACKEND=postgres PARLEY_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres bench/e2e.sh
#
# Knobs: BENCH_E2E_MESSAGES=10000 (sends), BENCH_E2E_MPS=1000 (the number's rate: the
# ceiling of the figure, as a carrier's would be), BENCH_DURATION=10s (the /healthz phase),
# BENCH_CONNECTIONS=64 BENCH_THREADS=2 BENCH_USERS=10000 BENCH_PORT=18090 PARLEY_BIN
# BENCH_RESULTS BENCH_COMMAND BENCH_KEEP BENCH_TMPDIR (as in bench/send.sh).
# Fails unless every accepted send reaches the sandbox exactly once.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
USERS=${BENCH_USERS:-10000}
MESSAGES=${BENCH_E2E_MESSAGES:-10000}
MPS=${BENCH_E2E_MPS:-1000}
BACKEND=${BENCH_BACKEND:-sqlite}
COMMAND=${BENCH_COMMAND:-bench/e2e.sh}
NUMBER=+15550100001
need_tools
resolve_bin

new_dir; dir=$DIR
new_database "$BACKEND" "$dir"
url=$DB_URL
# Dispatch on (the point of this benchmark); the sandbox's delivery report delay does not
# matter here: the figure stops when the sandbox holds the message, not at `delivered`.
export PARLEY_DISPATCH__ENABLED=true
start_nodes 1 "$url" "$dir"
org=$(default_org "$dir")
"$BIN" number add "$NUMBER" --org "$org" --mps "$MPS" --database-url "$url" >/dev/null

results="$dir/results.jsonl"
log "phase healthz ($DURATION)"
wrk_phase send.lua healthz "$dir" "$url" healthz >"$results"

log "phase e2e: $MESSAGES sends from $NUMBER (mps $MPS) to $USERS users, then until the sandbox holds them"
cpu_begin "$url"
E_S0=$CPU_S0 E_D0=$CPU_D0 E_M0=$CPU_M0 E_T0=$CPU_T0
t0_ms=$(python3 -c 'import time; print(int(time.time() * 1000))')
DURATION=600s wrk_phase send_limit.lua send "$dir" "$url" send "$USERS" "$NUMBER" "$KEY" "$THREADS" 1 "$MESSAGES" >>"$results"
accepted=$(sql "$url" "SELECT COUNT(*) FROM messages WHERE from_number = '$NUMBER'")
# Wait until the sandbox has every accepted message, or for three times the time the
# number's rate needs plus a minute.
deadline=$(( $(date +%s) + accepted * 3 / MPS + 60 ))
while :; do
    held=$(sql "$url" "SELECT COUNT(*) FROM sandbox_inbox WHERE from_number = '$NUMBER'")
    ((held >= accepted)) && break
    if (($(date +%s) > deadline)); then log "timed out: the sandbox holds $held of $accepted"; break; fi
    sleep 0.2
done
CPU_S0=$E_S0 CPU_D0=$E_D0 CPU_M0=$E_M0 CPU_T0=$E_T0
cpu=$(cpu_end "$url" "$(cat "$dir/wrk-send-0.cpu")")
span=$(sql "$url" "SELECT MIN(received_at), MAX(received_at), COUNT(DISTINCT message_id), COALESCE(SUM(attempts), 0) FROM sandbox_inbox WHERE from_number = '$NUMBER'")
stop_nodes

summary=$(python3 - "$results" "$t0_ms" "$accepted" "$span" "$cpu" "$MPS" "$MESSAGES" "$BACKEND" "$COMMAND" <<'PY'
import json, sys
path, t0, accepted, span, cpu, mps, messages, backend, command = sys.argv[1:10]
t0, accepted, mps = int(t0), int(accepted), float(mps)
first, last, distinct, attempts = (int(x or 0) for x in span.split("|"))
cpu = json.loads(cpu)
ph = {r["phase"]: r for r in map(json.loads, open(path))}
h, s = ph["healthz"], ph["send"]
secs = (last - t0) / 1000
rate = accepted / secs if secs > 0 else 0.0
steady = (distinct - 1) / ((last - first) / 1000) if last > first else 0.0
ok = distinct == accepted and attempts == accepted
print(f"\naccepted {accepted} of {messages} sends ({s['rate']:.0f}/s, p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms)", file=sys.stderr)
print(f"sandbox holds {distinct} distinct messages ({attempts} hand-overs); first {first - t0} ms, "
      f"last {last - t0} ms after the first send", file=sys.stderr)
print(f"end to end {rate:.0f} messages/s (first send to last in the sandbox); between the first and the last "
      f"arrival {steady:.0f}/s; number's mps {mps:.0f}; healthz {h['rate']:.0f}/s", file=sys.stderr)
print(f"verify: {'OK' if ok else 'MISMATCH'}", file=sys.stderr)
name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
print(json.dumps(dict(
    id=f"e2e-{backend}", title=f"End to end to the sandbox, {name}, 1 node, one number at --mps {mps:.0f}",
    value=round(rate, 1), unit="messages/s", healthz_rps=h["rate"], ratio=round(rate / h["rate"], 4),
    ratio_kind="rate", messages=accepted, seconds=round(secs, 2), steady_rate=round(steady, 1), mps=mps,
    send_rate=s["rate"], send_p50_ms=s["p50_ms"], send_p99_ms=s["p99_ms"], load1=cpu["load1"],
    other_cores=cpu["other_cores"], server_cores=cpu["server_cores"], db_cores=cpu["db_cores"],
    gen_cores=cpu["gen_cores"], healthz_other_cores=h["other_cores"], verify="OK" if ok else "MISMATCH",
    verify_detail=f"{distinct} distinct in the sandbox, {attempts} hand-overs, for {accepted} accepted",
    command=command)))
sys.exit(0 if ok else 1)
PY
)
emit "$summary"
