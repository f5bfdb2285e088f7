#!/usr/bin/env bash
# GET /v1/sms/conversations at 1,000,000 conversations in one org, beside the same server's
# /healthz in the same run (the machines are shared and noisy: compare the ratio across runs,
# read the milliseconds as context).
#
# Generates the rows directly in the database with SQL (a recursive CTE on SQLite,
# generate_series on PostgreSQL), each conversation with one message, starts a release
# `parley serve` on it and times requests with curl, one at a time: first pages, deep pages
# by number and by cursor, every sort both ways, every filter operator on several fields,
# `variables` containment, and `GET /v1/sms/numbers` (conversation counts per number).
# Every list row reports `extra.pagination.totalItems`, which each request computes.
#
# Usage:
#   bench/conversations_list.sh                       # SQLite in a temp dir
#   BENCH_BACKEND=postgres BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/test \
#     bench/conversations_list.sh                     # PostgreSQL, in a fresh schema
# Knobs: BENCH_ROWS (default 1000000), BENCH_RUNS (timed requests per case, default 11),
# BENCH_PORT (default 18089), PARLEY_BIN (use this binary instead of building one),
# BENCH_TMPDIR (where the SQLite file goes, default /tmp).
# A server without cursor support (before it existed) gets "n/a" in the cursor rows.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${BENCH_ROWS:-1000000}"
RUNS="${BENCH_RUNS:-11}"
PORT="${BENCH_PORT:-18089}"
BACKEND="${BENCH_BACKEND:-sqlite}"
KEY="pk_bench_conversations_list_0123456789abcdef"

if [[ -n "${PARLEY_BIN:-}" ]]; then
  BIN="$PARLEY_BIN"
else
  echo "== building the release binary" >&2
  cargo build --release -p parley-server --quiet
  BIN="${CARGO_TARGET_DIR:-target}/release/parley"
fi
WORK="$(mktemp -d -p "${BENCH_TMPDIR:-/tmp}")"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [[ "$BACKEND" == postgres && -n "${SCHEMA:-}" ]]; then
    psql "$BENCH_PG_URL" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

case "$BACKEND" in
  sqlite)
    DB="$WORK/bench.db"
    URL="sqlite://$DB?mode=rwc"
    sql() { sqlite3 "$DB"; }
    SEQ="WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < $ROWS - 1)"
    FROM_SEQ="FROM seq"
    HEX8="printf('%08x', i)"; HEX12="printf('%012x', i)"; PAD7="printf('%07d', i)"
    VARS="json_object('plan', CASE i % 3 WHEN 0 THEN 'pro' WHEN 1 THEN 'free' ELSE 'team' END, 'n', i % 100)"
    ANALYZE="ANALYZE;"
    ;;
  postgres)
    : "${BENCH_PG_URL:?set BENCH_PG_URL=postgres://…}"
    SCHEMA="bench_$$"
    psql "$BENCH_PG_URL" -qc "CREATE SCHEMA $SCHEMA" >/dev/null
    SEP='?'; [[ "$BENCH_PG_URL" == *\?* ]] && SEP='&'
    URL="${BENCH_PG_URL}${SEP}options=-c%20search_path%3D$SCHEMA"
    sql() { PGOPTIONS="-c search_path=$SCHEMA" psql "$BENCH_PG_URL" -q -v ON_ERROR_STOP=1 >/dev/null; }
    SEQ=""
    FROM_SEQ="FROM generate_series(0::bigint, $ROWS - 1) AS g(i)"
    HEX8="lpad(to_hex(i), 8, '0')"; HEX12="lpad(to_hex(i), 12, '0')"; PAD7="lpad(i::text, 7, '0')"
    VARS="json_build_object('plan', CASE i % 3 WHEN 0 THEN 'pro' WHEN 1 THEN 'free' ELSE 'team' END, 'n', i % 100)::text"
    ANALYZE="VACUUM ANALYZE conversations; VACUUM ANALYZE messages;"
    ;;
  *) echo "BENCH_BACKEND must be sqlite or postgres" >&2; exit 2 ;;
esac

echo "== schema, org and numbers ($BACKEND)" >&2
"$BIN" migrate --database-url "$URL" >/dev/null
ORG="$("$BIN" org create bench --api-key "$KEY" --database-url "$URL" | sed -E 's/.*"org_id":"([^"]+)".*/\1/')"
for n in 0 1 2 3; do
  "$BIN" number add "+1555010000$n" --org "$ORG" --database-url "$URL" >/dev/null
done

# Times are spread over ~11.6 days from 2026-01-01; one conversation in ten is closed and
# timed out; pathways, versions and nodes repeat so sorts and filters see ties and NULLs.
# (The conversation counters, where the schema has them, are kept by its triggers.)
T0=1767225600000
echo "== generating $ROWS conversations and $ROWS messages" >&2
GEN_START=$(date +%s)
sql <<SQL
$SEQ
INSERT INTO conversations (id, org_id, user_number, agent_number, channel, is_active, ended_reason,
  timed_out_at, created_at, updated_at, last_message_at, message_count, request_data, variables,
  pathway_id, pathway_version, current_node_id)
SELECT $HEX8 || '-0000-7000-8000-' || $HEX12, '$ORG', '+1555' || $PAD7, '+1555010000' || (i % 4), 'sms',
  CASE WHEN i % 10 = 0 THEN 0 ELSE 1 END, CASE WHEN i % 10 = 0 THEN 'timeout' END,
  CASE WHEN i % 10 = 0 THEN $T0 + i * 1000 + 3600000 END,
  $T0 + i * 1000, $T0 + i * 1000 + (i * 7919) % 86400000, $T0 + i * 1000, 1 + (i * 31) % 50,
  $VARS, $VARS,
  CASE WHEN i % 5 = 0 THEN NULL ELSE 'pw-' || (i % 7) END,
  CASE WHEN i % 4 = 0 THEN NULL ELSE 'v' || (i % 3) END, 'node-' || (i % 20)
$FROM_SEQ;
$SEQ
INSERT INTO messages (org_id, conversation_id, direction, sender, body, from_number, to_number, channel,
  status, encoding, segments, created_at, updated_at)
SELECT '$ORG', $HEX8 || '-0000-7000-8000-' || $HEX12, 'outbound', 'AGENT', 'Hello number ' || i,
  '+1555010000' || (i % 4), '+1555' || $PAD7, 'sms', 'delivered', 'GSM-7', 1, $T0 + i * 1000, $T0 + i * 1000
$FROM_SEQ;
$ANALYZE
SQL
echo "   generated in $(( $(date +%s) - GEN_START )) s" >&2

echo "== starting parley" >&2
PARLEY_DISPATCH__ENABLED=false PARLEY_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "$URL" \
  >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

enc() { jq -rn --arg v "$1" '$v|@uri'; }
BASE="http://127.0.0.1:$PORT"

# Median of RUNS timed requests to a URL (after one untimed warm-up), in ms.
median_ms() {
  local url="$1" times=()
  curl -s -o /dev/null -m 120 -H "authorization: $KEY" "$url"
  for _ in $(seq 1 "$RUNS"); do
    times+=("$(curl -s -o /dev/null -m 120 -w '%{time_total}' -H "authorization: $KEY" "$url")")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 * 1000 } END { printf "%.2f", t[int((NR + 1) / 2)] }'
}

HEALTHZ_MS="$(median_ms "$BASE/healthz")"

# Prints "| case | median ms | p95 ms | x healthz | rows | totalItems |".
measure() {
  local name="$1" url="$2"
  local body; body="$(curl -sf -m 120 -H "authorization: $KEY" "$url")" || { echo "| $name | FAILED | | | | |"; return; }
  local rows total
  rows="$(jq '.data | length' <<<"$body")"
  total="$(jq '.extra.pagination.totalItems // ([.data[].conversation_count] | add)' <<<"$body")"
  local times=()
  for _ in $(seq 1 "$RUNS"); do
    times+=("$(curl -s -o /dev/null -m 120 -w '%{time_total}' -H "authorization: $KEY" "$url")")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" -v rows="$rows" -v total="$total" -v h="$HEALTHZ_MS" '
    { t[NR] = $1 * 1000 }
    END { m = t[int((NR + 1) / 2)]; p = t[int(NR * 0.95 + 0.999)];
          printf "| %s | %.1f | %.1f | %.1f | %s | %s |\n", name, m, p, m / h, rows, total }'
}
list() { measure "$1" "$BASE/v1/sms/conversations?$2"; }
filter() { list "$1" "filters=$(enc "$2")"; }
# The cursor that starts the same page as `page=$2` of the query $3 (read once, untimed).
cursor_for() {
  curl -sf -m 120 -H "authorization: $KEY" "$BASE/v1/sms/conversations?$2&page=$(( $1 - 1 ))" |
    jq -r '.extra.pagination.next_cursor // empty'
}
list_cursor() {
  local name="$1" page="$2" query="$3" c
  c="$(cursor_for "$page" "$query")"
  if [[ -z "$c" ]]; then echo "| $name | n/a | | | | |"; return; fi
  list "$name" "$query&cursor=$(enc "$c")"
}

LAST=$(( (ROWS + 24) / 25 ))
MID=$(( LAST / 2 ))
DEEP=10000
echo "== timing ($RUNS requests per case after a warm-up, loopback HTTP, one at a time)" >&2
echo
echo "$BACKEND, $ROWS conversations in one org; binary $BIN; load before timing: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "GET /healthz median: $HEALTHZ_MS ms ('x healthz' = case median / this)"
echo
echo "| case | median ms | p95 ms | x healthz | rows | totalItems |"
echo "|---|---|---|---|---|---|"
list "first page (created_at desc, 25)" "page=1&pageSize=25"
list "page $DEEP (offset 249,975)" "page=$DEEP&pageSize=25"
list_cursor "cursor at the start of page $DEEP" "$DEEP" "pageSize=25"
list "page $MID (middle: the deepest offset walk)" "page=$MID&pageSize=25"
list_cursor "cursor at the start of page $MID" "$MID" "pageSize=25"
list "last page $LAST" "page=$LAST&pageSize=25"
list "first page, pageSize=1000" "page=1&pageSize=1000"
for f in created_at updated_at user_number agent_number is_active message_count curr_pathway_id curr_pathway_version timed_out_at; do
  list "sortBy=$f asc, first page" "sortBy=$f&sortDir=asc"
  list "sortBy=$f desc, first page" "sortBy=$f&sortDir=desc"
  list "sortBy=$f desc, page $DEEP" "sortBy=$f&sortDir=desc&page=$DEEP"
  list_cursor "sortBy=$f desc, cursor at page $DEEP" "$DEEP" "sortBy=$f&sortDir=desc&pageSize=25"
done
U='"field":"user_number"'
for op in eq contains startsWith endsWith gt gte lt lte; do
  case "$op" in
    eq) v="+15550424242" ;; contains) v="4242" ;; startsWith) v="+1555012" ;; endsWith) v="4242" ;;
    gt|gte) v="+15550990000" ;; lt|lte) v="+15550010000" ;;
  esac
  filter "user_number $op $v" "[{$U,\"operator\":\"$op\",\"value\":\"$v\"}]"
done
filter "agent_number eq (1 in 4)" '[{"field":"agent_number","operator":"eq","value":"+15550100002"}]'
filter "agent_number eq + current_node_id eq" '[{"field":"agent_number","operator":"eq","value":"+15550100002"},{"field":"current_node_id","operator":"eq","value":"node-6"}]'
filter "current_node_id eq (1 in 20)" '[{"field":"current_node_id","operator":"eq","value":"node-7"}]'
filter "current_node_id startsWith node-1" '[{"field":"current_node_id","operator":"startsWith","value":"node-1"}]'
filter "curr_pathway_id eq null" '[{"field":"curr_pathway_id","operator":"eq","value":null}]'
filter "curr_pathway_version eq v2" '[{"field":"curr_pathway_version","operator":"eq","value":"v2"}]'
for op in eq gt gte lt lte; do
  case "$op" in
    eq) v="2026-01-05T00:00:00Z" ;; gt|gte) v="2026-01-12T00:00:00Z" ;; lt|lte) v="2026-01-02T00:00:00Z" ;;
  esac
  filter "created_at $op $v" "[{\"field\":\"created_at\",\"operator\":\"$op\",\"value\":\"$v\"}]"
done
filter "created_at range (1 day)" '[{"field":"created_at","operator":"gte","value":"2026-01-05T00:00:00Z"},{"field":"created_at","operator":"lt","value":"2026-01-06T00:00:00Z"}]'
filter "updated_at gt 2026-01-12" '[{"field":"updated_at","operator":"gt","value":"2026-01-12T00:00:00Z"}]'
filter "timed_out_at eq null (9 in 10)" '[{"field":"timed_out_at","operator":"eq","value":null}]'
for op in eq gt lt; do
  filter "message_count $op 45" "[{\"field\":\"message_count\",\"operator\":\"$op\",\"value\":45}]"
done
filter "is_active eq false (1 in 10)" '[{"field":"is_active","operator":"eq","value":false}]'
filter "is_active eq true (9 in 10)" '[{"field":"is_active","operator":"eq","value":true}]'
filter "variables contains {plan: pro, n: 42}" '[{"field":"variables","operator":"contains","value":{"plan":"pro","n":42}}]'
filter "variables contains {plan: pro}" '[{"field":"variables","operator":"contains","value":{"plan":"pro"}}]'
measure "GET /v1/sms/numbers (counts 1M conversations)" "$BASE/v1/sms/numbers"
echo
echo "load after timing: $(cut -d' ' -f1-3 /proc/loadavg)"
