#!/usr/bin/env bash
# Runs every test tier on a fresh machine: installs what the tiers need into .venv (moto,
# cfn-lint, SAM CLI), checks the template, format and lints, builds the binaries, runs the
# unit, DynamoDB (moto) and Lambda smoke tiers, then the mini-program client tests in Node.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)
# A clean clone gains nothing from incremental compilation, and its caches would double the
# workspace crates' share of target/ (CI has little disk). Set CARGO_INCREMENTAL=1 to keep them.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step "Python tools (.venv: moto, cfn-lint, aws-sam-cli)"
if ! .venv/bin/python -c 'import moto, cfnlint, samcli' 2>/dev/null \
   || ! cmp -s scripts/requirements-test.txt .venv/.requirements 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
  cp scripts/requirements-test.txt .venv/.requirements
fi
export MOTO_PYTHON="$PWD/.venv/bin/python"

step "Template: sam validate, sam validate --lint, cfn-lint (default and China regions)"
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
.venv/bin/sam validate --template template.yaml
.venv/bin/sam validate --lint --template template.yaml
# The China regions (partition aws-cn) as well as the default one.
.venv/bin/cfn-lint --regions "$AWS_DEFAULT_REGION" cn-north-1 cn-northwest-1 -- template.yaml

step "Operator scripts (secrets survive redeploys; secrets only on stdin) on moto"
.venv/bin/python tests/scripts/test_operator_scripts.py

step "READMEs: English and Chinese list the same commands and code"
.venv/bin/python tests/scripts/test_readme_languages.py

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy -j2 --workspace --all-targets --locked -- -D warnings

step "cargo build (the smoke tier runs these binaries)"
cargo build -j2 --workspace --locked

step "Post-deploy smoke check (scripts/smoke.sh) against the local server on HOST=0.0.0.0"
smoke_port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HOST=0.0.0.0 PORT="$smoke_port" target/debug/wxlogin-local > target/smoke-local.log 2>&1 &
smoke_pid=$!
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$smoke_port/.well-known/jwks.json" && break; sleep 0.1; done
smoke_rc=0
scripts/smoke.sh "http://127.0.0.1:$smoke_port" || smoke_rc=$?
kill "$smoke_pid" 2>/dev/null || true
[ "$smoke_rc" -eq 0 ] || { cat target/smoke-local.log; exit "$smoke_rc"; }

step "Independent verifiers: PyJWT reads discovery and the JWKS of the local server"
.venv/bin/python tests/scripts/test_independent_verifiers.py
step "Independent verifiers: Node's jose reads discovery and the JWKS of the local server"
(cd tests/node && npm ci --silent --no-audit --no-fund && npm test)
step "Federation: the claims meet IAM OIDC and Cognito identity pool requirements"
.venv/bin/python tests/scripts/test_federation_claims.py

step "API contract: schemathesis sends openapi.yaml's generated requests to the local server"
.venv/bin/python tests/scripts/test_openapi.py

step "cargo test: unit, DynamoDB on moto, Lambda smoke tiers"
cargo test -j2 --workspace --locked

step "Bulk import: 10,000 LeanCloud users through wxlogin-admin against its own moto"
# Its own step (about 30,000 writes, minutes on moto): beside the other tests it would starve
# them of the machine's cores. It prints the throughput, the memory and the conflict report.
# --workspace, as above: the same features, so nothing is compiled again.
cargo test -j2 --workspace --locked -- --ignored --nocapture \
  import::ten_thousand_leancloud_users_import_against_moto

step "Mini-program client tests (Node, against the local server)"
if [ -x examples/miniprogram/test/run.sh ]; then
  examples/miniprogram/test/run.sh
fi

printf '\nAll tiers passed in %ss. Disk used: %s\n' "$(( $(date +%s) - started ))" \
  "$(du -sh target .venv 2>/dev/null | awk '{printf "%s %s  ", $2, $1}')"
