#!/usr/bin/env bash
# Inbound-to-reply latency for a static pathway node: a number whose config names a pathway
# of static `text` nodes joined by an `alwaysPick` edge (no model involved), a user texting it
# through POST /v1/sandbox/inbound, and the time until the agent's reply is in the user's
# sandbox inbox (GET /v1/sandbox/messages). p50/p99 over BENCH_REPLY_CONVERSATIONS new
# conversations, one at a time (bench/reply.py). The path measured: inbound procedure,
# the agent turn worker running the pathway, the reply's send, the dispatch worker, the
# sandbox write, and the client's poll (every BENCH_REPLY_POLL_MS).
#
#   bench/reply.sh                                  # SQLite
#   BENCH_BACKEND=postgres PARLEY_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres bench/reply.sh
#
# The agent number is added at --mps 1000 so its pacing never holds a reply back (at the
# default 10 mps, replies less than 100 ms apart would wait for their slot).
# The /healthz phase (wrk, BENCH_DURATION) on the same server gives the reference rate; the
# ratio reported for a latency is latency x healthz rate: how many /healthz answers the same
# server gives in that time (a uniformly slower machine leaves it unchanged).
# Knobs: BENCH_REPLY_CONVERSATIONS=200 BENCH_REPLY_POLL_MS=2 BENCH_DURATION=10s
# BENCH_CONNECTIONS=64 BENCH_THREADS=2 BENCH_PORT PARLEY_BIN BENCH_RESULTS BENCH_COMMAND
# BENCH_KEEP BENCH_TMPDIR.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
CONVERSATIONS=${BENCH_REPLY_CONVERSATIONS:-200}
POLL_MS=${BENCH_REPLY_POLL_MS:-2}
BACKEND=${BENCH_BACKEND:-sqlite}
COMMAND=${BENCH_COMMAND:-bench/reply.sh}
NUMBER=+15550100001
need_tools
resolve_bin

new_dir; dir=$DIR
new_database "$BACKEND" "$dir"
url=$DB_URL
export PARLEY_DISPATCH__ENABLED=true
start_nodes 1 "$url" "$dir"
org=$(default_org "$dir")
"$BIN" number add "$NUMBER" --org "$org" --mps 1000 --database-url "$url" >/dev/null

api() { # $1 = path, $2 = JSON body
    curl -fsS -X POST "http://127.0.0.1:$PORT$1" -H "authorization: $KEY" \
        -H 'content-type: application/json' -d "$2"
}
pathway=$(api /v1/pathway/create '{"name": "bench static reply"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["pathway_id"])')
# Two static nodes: the start node, and the reply the user's first text moves to through
# an alwaysPick edge. Neither needs a model (docs/PATHWAYS.md, "Does it need a model?").
api "/v1/pathway/$pathway" '{
  "nodes": [
    {"id": "start", "type": "Default", "data": {"name": "Start", "isStart": true, "text": "Hi, this is the bench."}},
    {"id": "reply", "type": "Default", "data": {"name": "Reply", "text": "Thanks, we got your message."}}
  ],
  "edges": [
    {"id": "always", "source": "start", "target": "reply", "type": "custom", "data": {"alwaysPick": true}}
  ]}' >/dev/null
api /v1/sms/number/update "{\"phone_number\": \"$NUMBER\", \"pathway_id\": \"$pathway\"}" >/dev/null

results="$dir/results.jsonl"
log "phase healthz ($DURATION)"
wrk_phase send.lua healthz "$dir" "$url" healthz >"$results"
log "phase reply: $CONVERSATIONS conversations, one at a time, polling every $POLL_MS ms"
cpu_begin "$url"
lat=$(python3 "$BENCH_ROOT/bench/reply.py" --port "$PORT" --key "$KEY" --agent "$NUMBER" \
    --conversations "$CONVERSATIONS" --poll-ms "$POLL_MS")
cpu=$(cpu_end "$url" 0)
# What the replies said, so a reader can tell which node answered.
said=$(sql "$url" "SELECT body, COUNT(*) FROM sandbox_inbox WHERE from_number = '$NUMBER' GROUP BY body")
stop_nodes

summary=$(python3 - "$results" "$lat" "$cpu" "$BACKEND" "$COMMAND" "$said" <<'PY'
import json, sys
path, lat, cpu, backend, command, said = sys.argv[1:7]
lat, cpu = json.loads(lat), json.loads(cpu)
h = json.loads(open(path).readline())
print(f"\nreplies {lat['replied']}/{lat['conversations']}: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, "
      f"max {lat['max_ms']} ms (inbound POST alone p50 {lat['inbound_post_p50_ms']} ms); "
      f"healthz {h['rate']:.0f}/s; sandbox bodies: {said!r}", file=sys.stderr)
ok = lat["missing"] == 0
name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
print(json.dumps(dict(
    id=f"reply-{backend}", title=f"Inbound to reply, static pathway node, {name}, 1 node (p50)",
    value=lat["p50_ms"], unit="ms", p99_ms=lat["p99_ms"], max_ms=lat["max_ms"],
    healthz_rps=h["rate"], ratio=round(lat["p50_ms"] / 1000 * h["rate"], 1), ratio_kind="latency",
    p99_ratio=round(lat["p99_ms"] / 1000 * h["rate"], 1), conversations=lat["conversations"],
    replied=lat["replied"], poll_ms=lat["poll_ms"], inbound_post_p50_ms=lat["inbound_post_p50_ms"],
    client_healthz_p50_ms=lat["client_healthz_p50_ms"], load1=cpu["load1"], other_cores=cpu["other_cores"],
    server_cores=cpu["server_cores"], db_cores=cpu["db_cores"], healthz_other_cores=h["other_cores"],
    verify="OK" if ok else "MISMATCH", verify_detail=f"{lat['replied']} of {lat['conversations']} replied; bodies {said!r}",
    command=command)))
sys.exit(0 if ok else 1)
PY
)
emit "$summary"
