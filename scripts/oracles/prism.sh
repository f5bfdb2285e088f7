#!/usr/bin/env bash
# Twilio's own OpenAPI description served by Stoplight Prism as a validating mock (ORACLES.md
# item 1). The Twilio carrier's tests run against it when PARLEY_TWILIO_PRISM_URL is set.
#
#   scripts/oracles/prism.sh start   # install if needed, start on 127.0.0.1:$PRISM_PORT (4010),
#                                    # wait until it answers, print the export line
#   scripts/oracles/prism.sh stop
#   scripts/oracles/prism.sh install # install only
#
#   eval "$(scripts/oracles/prism.sh start)"   # sets PARLEY_TWILIO_PRISM_URL
#   cargo test -p parley-server --test it twilio_prism
#
# Needs node + npm with access to the npm registry. Installs into $PARLEY_ORACLE_DIR
# (default target/oracles/prism, ignored by git). Pinned: @stoplight/prism-cli 5.14.2 and
# the spec shipped in @twilio-alpha/mcp 0.7.0 (twilio_api_v2010.json).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${PARLEY_ORACLE_DIR:-$root/target/oracles}/prism
port=${PRISM_PORT:-4010}
spec=$dir/package/twilio-oai/spec/json/twilio_api_v2010.json

install() {
  mkdir -p "$dir"
  cd "$dir"
  if [ ! -x node_modules/.bin/prism ]; then
    npm install --no-audit --no-fund --silent @stoplight/prism-cli@5.14.2 >&2
  fi
  if [ ! -f "$spec" ]; then
    npm pack --silent @twilio-alpha/mcp@0.7.0 >/dev/null
    tar xzf twilio-alpha-mcp-0.7.0.tgz
  fi
}

start() {
  install
  if [ -f "$dir/prism.pid" ] && kill -0 "$(cat "$dir/prism.pid")" 2>/dev/null; then
    echo "export PARLEY_TWILIO_PRISM_URL=http://127.0.0.1:$port"
    return
  fi
  # --errors: a request that breaks the spec gets 4xx with the violations, not a made-up 201.
  nohup "$dir/node_modules/.bin/prism" mock --errors -h 127.0.0.1 -p "$port" "$spec" \
    >"$dir/prism.log" 2>&1 &
  echo $! >"$dir/prism.pid"
  for _ in $(seq 1 120); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
      echo "export PARLEY_TWILIO_PRISM_URL=http://127.0.0.1:$port"
      return
    fi
    kill -0 "$(cat "$dir/prism.pid")" 2>/dev/null || { cat "$dir/prism.log" >&2; exit 1; }
    sleep 1
  done
  echo "prism did not start; see $dir/prism.log" >&2
  exit 1
}

stop() {
  if [ -f "$dir/prism.pid" ]; then
    kill "$(cat "$dir/prism.pid")" 2>/dev/null || true
    rm -f "$dir/prism.pid"
  fi
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop|install" >&2; exit 2 ;;
esac
