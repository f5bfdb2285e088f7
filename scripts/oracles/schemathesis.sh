#!/usr/bin/env bash
# schemathesis against Parley's own /openapi.json (ORACLES.md item 5): every operation of
# the document, positive and negative generated input, every check. A failure is a 5xx,
# invalid input that was accepted, valid input that was refused, or a response (status,
# content type, headers, body) that the document does not describe.
#
#   bash scripts/oracles/schemathesis.sh                 # builds target/debug/parley
#   PARLEY_BIN=target/debug/parley bash scripts/oracles/schemathesis.sh
#   bash scripts/oracles/schemathesis.sh --include-path-regex '^/v1/sms/numbers'   # extra
#                                        # arguments go to `schemathesis run`
#
# Knobs: ST_MAX_EXAMPLES (20 per operation), ST_MAX_TIME (240 s for the whole run),
# ST_SEED (1), ST_KEEP=1 (keep the temp dir: server log, schemathesis reports).
# Installs schemathesis (pinned) into a venv under $PARLEY_ST_CACHE, by default
# ${XDG_CACHE_HOME:-$HOME/.cache}/parley/schemathesis; needs python3 with venv and access
# to PyPI on the first run only.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${PARLEY_ST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/parley/schemathesis}
version=4.32.5
seed=${ST_SEED:-1}
max_examples=${ST_MAX_EXAMPLES:-20}
max_time=${ST_MAX_TIME:-240}
key=pk_schemathesis_oracle

log() { printf '== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- schemathesis
st=$cache/venv/bin/schemathesis
if ! "$st" --version 2>/dev/null | grep -q "version $version\$"; then
  log "installing schemathesis $version into $cache/venv"
  mkdir -p "$cache"
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

# ---------------------------------------------------------------- server
if [ -n "${PARLEY_BIN:-}" ]; then
  bin=$PARLEY_BIN
else
  log "building (cargo build -p parley-server)"
  (cd "$root" && cargo build --quiet --locked -p parley-server --bin parley)
  bin=${CARGO_TARGET_DIR:-$root/target}/debug/parley
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-st.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "${ST_KEEP:-0}" = 1 ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# Only the variables set here reach the server: a PARLEY_* of the caller's shell (a
# database URL, a model) would change what is being tested. Port 0: the kernel picks a free
# one and the server prints it, so two runs on one machine cannot collide.
env -i PATH="$PATH" HOME="$tmp" \
  PARLEY_API_KEY="$key" \
  PARLEY_SANDBOX__DELIVERY_DELAY_MS=0 \
  PARLEY_BATCHES__DATA_DIR="$tmp/files" \
  PARLEY_LOG="warn" \
  "$bin" serve --listen 127.0.0.1:0 --database-url "sqlite://$tmp/parley.db?mode=rwc" \
  >"$tmp/server.out" 2>"$tmp/server.err" &
pid=$!
base=""
for _ in $(seq 1 100); do
  base=$(sed -n 's/^Parley listening on \(http:[^ ]*\).*/\1/p' "$tmp/server.out")
  [ -n "$base" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$base" ]; then
  echo "parley did not start; its output:" >&2
  cat "$tmp/server.out" "$tmp/server.err" >&2
  exit 1
fi
log "parley on $base (pid $pid, $tmp)"

# ---------------------------------------------------------------- run
# --generation-deterministic (with --seed 1, which schemathesis then reports as unused): the
# same cases in the same order every run, so a failure in CI reproduces locally. --max-time
# ends the run after 240 s, so a slower machine gets through fewer of them (22,837 and
# 23,580 cases in two runs on a shared 2-core machine, about 4 min in all). --mode all: positive (must be accepted and answered as documented)
# and negative (must be refused with a 4xx) input. Checks: all of them.
# --generation-allow-x00 false: Parley refuses a NUL character anywhere in a body or query,
# even in a key it ignores (PostgreSQL can store none; tests/it/bad_input.rs checks every
# endpoint), and JSON Schema has no practical way to say "no NUL in any string or key", so
# generated "valid" input with one would be refused and counted as a false failure.
started=$(date +%s)
status=0
# schemathesis.toml: the operations with rules JSON Schema cannot express (why, for each).
# Run from the temp dir: schemathesis keeps a cache of earlier failures (.schemathesis/ in
# its working directory) and replays them first, so a run would depend on the ones before.
cd "$tmp"
"$st" --config-file "${ST_CONFIG:-$root/scripts/oracles/schemathesis.toml}" run "$base/openapi.json" \
  --header "authorization: $key" \
  --checks all \
  --mode all \
  --generation-allow-x00 false \
  --seed "$seed" --generation-deterministic \
  --max-examples "$max_examples" \
  --max-time "$max_time" \
  --workers 1 \
  --no-color \
  --report junit --report-dir "$tmp/report" \
  "$@" || status=$?
log "schemathesis exit $status after $(($(date +%s) - started)) s"
if [ "$status" != 0 ]; then
  echo "server stderr (last 40 lines):" >&2
  tail -n 40 "$tmp/server.err" >&2
fi
exit "$status"
