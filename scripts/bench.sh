#!/usr/bin/env bash
# Builds the release function binaries and prints their size, cold init, warm latency and
# calls per request, measured under the Lambda Runtime API emulator against moto.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c 'import moto' 2>/dev/null; then
  python3 -m venv .venv && .venv/bin/pip install --quiet -r scripts/requirements-test.txt
fi
export MOTO_SERVER="$PWD/.venv/bin/moto_server"
cargo build -j2 --release --locked -p code-exchange -p authorizer -p session
ls -l target/release/code-exchange target/release/authorizer target/release/session
cargo run -j2 --release --locked -p wxlogin --example verify_bench
cargo run -j2 --release --locked -p wxlogin --example ed25519_floor
cargo run -j2 --locked -p wxlogin-tests --bin bench
