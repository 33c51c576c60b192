#!/usr/bin/env bash
# Builds the release function binaries and prints their size, cold init, warm latency, calls
# and DynamoDB write units per request, measured under the Lambda Runtime API emulator against
# moto (the authorizer's beside a bare runtime's), then the abuse guard under load (bursts
# over several instances: admitted, refused, upstream calls). WXLOGIN_BENCH_BINARIES=<dir> measures another build's release binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c 'import moto' 2>/dev/null; then
  python3 -m venv .venv && .venv/bin/pip install --quiet -r scripts/requirements-test.txt
fi
export MOTO_PYTHON="$PWD/.venv/bin/python"
# One cargo invocation per function, as each is deployed: features do not unify across them.
for f in code-exchange bind-phone account session authorizer key-rotation; do
  cargo build -j2 --release --locked -p "$f"
  printf '%-14s size (release, stripped): %s bytes\n' "$f" "$(stat -c %s "target/release/$f")"
done
# The floor under the authorizer's cold init and warm invoke: the runtime alone.
cargo build -j2 --release --locked -p wxlogin --features lambda --example bare_runtime
cargo run -j2 --release --locked -p wxlogin --example verify_bench
cargo run -j2 --release --locked -p wxlogin --example ed25519_floor
cargo run -j2 --release --locked -p wxlogin --example password_bench
cargo run -j2 --locked -p wxlogin-tests --bin bench
