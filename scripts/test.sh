#!/usr/bin/env bash
# Runs every test tier on a fresh machine: installs what the tiers need into .venv (moto,
# cfn-lint, SAM CLI), checks the template, format and lints, builds the binaries, runs the
# unit, DynamoDB (moto) and Lambda smoke tiers, then the mini-program client tests in Node.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

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

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy -j2 --workspace --all-targets --locked -- -D warnings

step "cargo build (the smoke tier runs these binaries)"
cargo build -j2 --workspace --locked

step "cargo test: unit, DynamoDB on moto, Lambda smoke tiers"
cargo test -j2 --workspace --locked

step "Mini-program client tests (Node, against the local server)"
if [ -x examples/miniprogram/test/run.sh ]; then
  examples/miniprogram/test/run.sh
fi

printf '\nAll tiers passed in %ss.\n' "$(( $(date +%s) - started ))"
