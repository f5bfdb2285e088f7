#!/usr/bin/env bash
# GET /v1/sms/conversations at 1,000,000 conversations in one org.
#
# Generates the rows directly in the database with SQL (a recursive CTE on SQLite,
# generate_series on PostgreSQL), each conversation with one message, then starts a release
# `parley serve` on it and times list requests with curl: the first page, a middle page (the
# deepest an offset ever walks, since later pages are read from the far end), the last page,
# the first and middle page of every sort, several filters, and `GET /v1/sms/numbers` (which
# counts conversations per number).
#
# Usage:
#   bench/conversations_list.sh                       # SQLite in a temp dir
#   BENCH_BACKEND=postgres BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/test \
#     bench/conversations_list.sh                     # PostgreSQL, in a fresh schema
# Knobs: BENCH_ROWS (default 1000000), BENCH_RUNS (timed requests per case, default 15),
# BENCH_PORT (default 18089), CARGO_TARGET_DIR (where the release binary is built).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${BENCH_ROWS:-1000000}"
RUNS="${BENCH_RUNS:-15}"
PORT="${BENCH_PORT:-18089}"
BACKEND="${BENCH_BACKEND:-sqlite}"
KEY="pk_bench_conversations_list_0123456789abcdef"
TARGET="${CARGO_TARGET_DIR:-target}"
BIN="$TARGET/release/parley"

echo "== building the release binary" >&2
cargo build --release -p parley-server --quiet
WORK="$(mktemp -d)"
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
"$BIN" migrate --database-url "$URL" 2>/dev/null
ORG="$("$BIN" org create bench --api-key "$KEY" --database-url "$URL" 2>/dev/null | sed -E 's/.*"org_id":"([^"]+)".*/\1/')"
for n in 0 1 2 3; do
  "$BIN" number add "+1555010000$n" --org "$ORG" --database-url "$URL" >/dev/null 2>&1
done

# Times are spread over ~11.6 days from 2026-01-01; one conversation in ten is closed and
# timed out; pathways, versions and nodes repeat so sorts and filters see ties and NULLs.
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

# Prints "| case | median ms | p95 ms | rows | totalItems |" for one request, after one
# untimed warm-up.
measure() {
  local name="$1" query="$2" url="http://127.0.0.1:$PORT/v1/sms/conversations?$2"
  [[ "$query" == NUMBERS ]] && url="http://127.0.0.1:$PORT/v1/sms/numbers"
  local body; body="$(curl -sf -H "authorization: $KEY" "$url")" || { echo "| $name | FAILED | | | |"; return; }
  local rows total
  rows="$(jq '.data | length' <<<"$body")"
  total="$(jq '.extra.pagination.totalItems // ([.data[].conversation_count] | add)' <<<"$body")"
  local times=()
  for _ in $(seq 1 "$RUNS"); do
    times+=("$(curl -s -o /dev/null -w '%{time_total}' -H "authorization: $KEY" "$url")")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" -v rows="$rows" -v total="$total" '
    { t[NR] = $1 * 1000 }
    END { m = t[int((NR + 1) / 2)]; p = t[int(NR * 0.95 + 0.999)];
          printf "| %s | %.1f | %.1f | %s | %s |\n", name, m, p, rows, total }'
}

LAST=$(( (ROWS + 24) / 25 ))
MID=$(( LAST / 2 ))
echo "== timing ($RUNS requests per case, milliseconds, loopback HTTP)" >&2
echo
echo "| case | median ms | p95 ms | rows | totalItems |"
echo "|---|---|---|---|---|"
measure "first page (created_at desc, 25)" "page=1&pageSize=25"
measure "middle page $MID (deepest offset walk)" "page=$MID&pageSize=25"
measure "last page $LAST" "page=$LAST&pageSize=25"
measure "first page, pageSize=1000" "page=1&pageSize=1000"
for f in created_at updated_at user_number agent_number is_active message_count curr_pathway_id curr_pathway_version timed_out_at; do
  measure "sortBy=$f asc, first page" "sortBy=$f&sortDir=asc"
  measure "sortBy=$f desc, page $MID" "sortBy=$f&sortDir=desc&page=$MID"
done
filter() { measure "$1" "filters=$(enc "$2")"; }
filter "filter user_number eq" '[{"field":"user_number","operator":"eq","value":"+15550424242"}]'
filter "filter user_number startsWith (1% match)" '[{"field":"user_number","operator":"startsWith","value":"+1555012"}]'
filter "filter user_number contains" '[{"field":"user_number","operator":"contains","value":"4242"}]'
filter "filter created_at range (1 day)" '[{"field":"created_at","operator":"gte","value":"2026-01-05T00:00:00Z"},{"field":"created_at","operator":"lt","value":"2026-01-06T00:00:00Z"}]'
filter "filter is_active eq false" '[{"field":"is_active","operator":"eq","value":false}]'
filter "filter message_count gt 45" '[{"field":"message_count","operator":"gt","value":45}]'
filter "filter variables contains {plan: pro, n: 42}" '[{"field":"variables","operator":"contains","value":{"plan":"pro","n":42}}]'
filter "filter agent_number eq + current_node_id eq" '[{"field":"agent_number","operator":"eq","value":"+15550100002"},{"field":"current_node_id","operator":"eq","value":"node-7"}]'
measure "GET /v1/sms/numbers (counts 1M conversations)" NUMBERS
