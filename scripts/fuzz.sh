#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time: `scripts/fuzz.sh [seconds]`
# (default 20 per target). Installs the pinned cargo-fuzz if missing. Fails if any target
# crashes; libFuzzer says where it wrote the crashing input (fuzz/artifacts/<target>/),
# and fuzz/README.md says how to keep it as a regression.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"
root="$PWD"

CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
# Only a stable toolchain is available; cargo-fuzz passes -Z flags (the sanitizer), which
# RUSTC_BOOTSTRAP lets a stable compiler accept.
export RUSTC_BOOTSTRAP=1

# Fails if fuzz/Cargo.lock is out of date, instead of silently resolving new versions.
cargo metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null

start=$(date +%s)
echo "== fuzz build"
cargo fuzz build
echo "   built in $(($(date +%s) - start))s"

failed=()
for target in $(cargo fuzz list); do
  echo "== fuzz $target (${secs}s)"
  # New inputs libFuzzer finds go to a scratch corpus under fuzz/target (not committed);
  # the committed seeds are only read.
  work="$root/fuzz/target/corpus/$target"
  mkdir -p "$work"
  if ! cargo fuzz run "$target" "$work" "$root/fuzz/corpus/$target" \
      -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
    failed+=("$target")
  fi
done

echo "   fuzzing took $(($(date +%s) - start))s in all"
if ((${#failed[@]})); then
  echo "fuzz targets that crashed: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
  exit 1
fi
