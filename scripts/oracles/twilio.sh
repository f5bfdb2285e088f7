#!/usr/bin/env bash
# Regenerates the Twilio test vectors in crates/parley-server/tests/data/twilio/ with the
# official twilio-python library (PyPI twilio==9.13.0) as the oracle: webhook signatures
# (RequestValidator) and the exact request client.messages.create(...) sends.
#
#   scripts/oracles/twilio.sh
#
# Needs python3 with venv and access to PyPI. Installs into a throwaway directory.
# Afterwards: cargo test -p parley-server --test it twilio_oracle
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
data=$root/crates/parley-server/tests/data/twilio
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$data"

python3 -m venv "$tmp/v"
"$tmp/v/bin/pip" install --quiet --disable-pip-version-check twilio==9.13.0
"$tmp/v/bin/python" "$root/scripts/oracles/twilio_vectors.py" "$data"
