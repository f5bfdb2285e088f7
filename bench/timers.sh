#!/usr/bin/env bash
# Timer firing skew with many pending timers, and memory with a million pending.
#
#   bench/timers.sh                 # SQLite, a fresh file in a temp dir per run
#
# Runs crates/parley-server/examples/timer_bench.rs (release) twice:
#   1. 100,000 timers pending a day ahead, plus BENCH_FIRING (1,000) timeout timers due over
#      BENCH_WINDOW_MS (10 s): the skew ended_at - due_at of the firing ones, p50/p99/max.
#   2. 1,000,000 pending (same firing set): the same skew, and the process's RSS before the
#      worker started, after it ran, and at peak. The worker never loads pending timers, so
#      RSS must not grow with the pending count.
# The load average is printed with each run: these machines are shared.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FIRING=${BENCH_FIRING:-1000}
WINDOW=${BENCH_WINDOW_MS:-10000}
cd "$ROOT"
cargo build --release -q -p parley-server --example timer_bench
BIN="$ROOT/target/release/examples/timer_bench"
for PENDING in 100000 1000000; do
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$BIN" --pending "$PENDING" --firing "$FIRING" --window-ms "$WINDOW"
  echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
done
