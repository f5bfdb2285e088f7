#!/usr/bin/env bash
# Status-callback ingest rate: signed POST /v1/carriers/twilio/status callbacks, as Twilio
# sends them, for existing outbound messages of a Twilio-carrier number, beside the same
# server's /healthz rate in the same run.
#
#   bench/status.sh                                 # SQLite
#   BENCH_BACKEND=postgres PARLEY_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres bench/status.sh
#
# Setup: a config file with a Twilio account (`default`, so it serves every org) and
# `public_base_url`; the Twilio API base_url points at a closed port and dispatch is off,
# so nothing is ever sent to a carrier. BENCH_STATUS_MESSAGES sends through a number on
# carrier `twilio` create the outbound messages (queued, no Twilio sid yet). Then every
# message gets two callbacks, signed as Twilio signs them (HMAC-SHA1 over public_base_url +
# path and the sorted form fields, keyed with the auth token): `sent` (binds the sid
# SM<message id> to the message and moves it to sent), and after all of those, `delivered`.
# wrk replays them (bench/status.lua), each once, for at most BENCH_DURATION; every one is a
# real state change, none a duplicate. The check afterwards: every message the phase's
# `delivered` callbacks reached is `delivered` and carries its sid, and no callback failed.
#
# Knobs: BENCH_STATUS_MESSAGES=8000 (twice as many callbacks: sized so that on the 2-core
# development machine both kinds fit in a 10 s phase; a faster server runs out early, which ends
# the phase, and the rate is over the time it took) BENCH_DURATION=10s BENCH_CONNECTIONS=64 BENCH_THREADS=2
# BENCH_USERS=10000 BENCH_PORT PARLEY_BIN BENCH_RESULTS BENCH_COMMAND BENCH_KEEP BENCH_TMPDIR.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
USERS=${BENCH_USERS:-10000}
MESSAGES=${BENCH_STATUS_MESSAGES:-8000}
BACKEND=${BENCH_BACKEND:-sqlite}
COMMAND=${BENCH_COMMAND:-bench/status.sh}
NUMBER=+15550200000
# A made-up account: the signatures only have to verify against this server's config.
ACCOUNT=AC0123456789abcdef0123456789abcdef
TOKEN=f1e2d3c4b5a6978812345678abcdef00
PUBLIC=https://parley.bench.example
need_tools
resolve_bin

new_dir; dir=$DIR
new_database "$BACKEND" "$dir"
url=$DB_URL
cat >"$dir/parley.toml" <<EOF
public_base_url = "$PUBLIC"
[twilio]
base_url = "http://127.0.0.1:9"
[twilio.accounts.default]
account_sid = "$ACCOUNT"
auth_token = "$TOKEN"
EOF
# No dispatch: the messages stay queued for the callbacks to move, and no send is tried.
export PARLEY_DISPATCH__ENABLED=false
start_nodes 1 "$url" "$dir" --config "$dir/parley.toml"
org=$(default_org "$dir")
"$BIN" number add "$NUMBER" --org "$org" --carrier twilio --mps 1000 --database-url "$url" >/dev/null

log "creating $MESSAGES outbound messages on $NUMBER (carrier twilio)"
DURATION=600s wrk_phase send_limit.lua create "$dir" "$url" send "$USERS" "$NUMBER" "$KEY" "$THREADS" 1 "$MESSAGES" >/dev/null
sql "$url" "SELECT id, from_number, to_number FROM messages WHERE from_number = '$NUMBER' ORDER BY id" >"$dir/messages.txt"
python3 - "$dir/messages.txt" "$dir/callbacks.tsv" "$PUBLIC" "$TOKEN" "$ACCOUNT" <<'PY'
# Signs each callback as Twilio's RequestValidator checks it (see
# crates/parley-server/src/carriers/twilio/signature.rs): base64(HMAC-SHA1(token,
# url + name1 + value1 + ... with the names sorted)).
import base64, hashlib, hmac, sys, urllib.parse
src, dst, public, token, account = sys.argv[1:6]
rows = [l.strip().split("|") for l in open(src) if l.strip()]
with open(dst, "w") as out:
    for status in ("sent", "delivered"):
        for mid, frm, to in rows:
            sid = f"SM{int(mid):032x}"
            params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": account, "From": frm, "To": to,
                      "MessageStatus": status, "SmsStatus": status, "ApiVersion": "2010-04-01"}
            path = f"/v1/carriers/twilio/status?message_id={mid}"
            signed = public + path + "".join(k + params[k] for k in sorted(params))
            sig = base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()
            out.write(f"{path}\t{sig}\t{urllib.parse.urlencode(params)}\n")
print(f"{len(rows)} messages, {2 * len(rows)} callbacks signed", file=sys.stderr)
PY

results="$dir/results.jsonl"
log "phase healthz ($DURATION)"
wrk_phase send.lua healthz "$dir" "$url" healthz >"$results"
log "phase status callbacks (at most $DURATION)"
wrk_phase status.lua status "$dir" "$url" "$dir/callbacks.tsv" "$THREADS" >>"$results"
stop_nodes
counts=$(sql "$url" "SELECT status, COUNT(*), COUNT(provider_sid) FROM messages WHERE from_number = '$NUMBER' GROUP BY status ORDER BY status" | tr '\n' ' ')

summary=$(python3 - "$results" "$counts" "$(wc -l <"$dir/messages.txt")" "$BACKEND" "$COMMAND" <<'PY'
import json, sys
path, counts, messages, backend, command = sys.argv[1:6]
messages = int(messages)
ph = {r["phase"]: r for r in map(json.loads, open(path))}
h, s = ph["healthz"], ph["status"]
by = {}
for c in counts.split():
    st, n, sids = c.split("|")
    by[st] = (int(n), int(sids))
moved = sum(n for st, (n, _) in by.items() if st in ("sent", "delivered"))
bound = sum(sids for _, (_, sids) in by.items())
# The callbacks wrk sent: all 2 x messages (then up to one repeat per connection) unless the
# clock ran out first, in which case every message a `sent` reached is at least sent.
ok = s["errors"] == 0 and bound == moved and (
    s["requests"] < 2 * messages or by.get("delivered", (0, 0))[0] == messages)
print(f"\nstatus callbacks: {s['requests']} in {s['seconds']} s = {s['rate']:.0f}/s (p50 {s['p50_ms']} ms, "
      f"p99 {s['p99_ms']} ms, errors {s['errors']}); healthz {h['rate']:.0f}/s; ratio {s['rate'] / h['rate']:.4f}",
      file=sys.stderr)
print(f"messages by status (count, with sid): {by}; verify {'OK' if ok else 'MISMATCH'}", file=sys.stderr)
name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
print(json.dumps(dict(
    id=f"status-{backend}", title=f"Twilio status callbacks (signed), {name}, 1 node",
    value=s["rate"], unit="callbacks/s", healthz_rps=h["rate"], ratio=round(s["rate"] / h["rate"], 4),
    ratio_kind="rate", p50_ms=s["p50_ms"], p99_ms=s["p99_ms"], errors=s["errors"], callbacks=s["requests"],
    messages=messages, load1=s["load1"], other_cores=s["other_cores"], server_cores=s["server_cores"],
    db_cores=s["db_cores"], gen_cores=s["gen_cores"], healthz_other_cores=h["other_cores"],
    verify="OK" if ok else "MISMATCH", verify_detail=f"messages by status (count, with sid): {by}",
    command=command)))
sys.exit(0 if ok else 1)
PY
)
emit "$summary"
