#!/usr/bin/env bash
# Builds every function as `sam deploy` ships it — `sam build` (SAM's rust-cargolambda builder:
# cargo-lambda, release profile, zig as the linker) into .aws-sam/build — then checks each
# function's `bootstrap`: it exists, is an ELF executable for the chosen architecture, and its
# size is printed. Unattended: no prompt, the defaults come from samconfig.toml.
#
#   scripts/package.sh            # arm64, the template's default (needs the aarch64 std)
#   scripts/package.sh x86_64     # what a machine with only the x86_64 std can build
#   ARCHITECTURES=x86_64 scripts/package.sh
#
# Deploy with the same architecture you built: sam deploy --parameter-overrides Architectures=...
# Not part of scripts/test.sh: a cold build of the five functions takes about 10 minutes on
# 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

arch="${1:-${ARCHITECTURES:-arm64}}"
case "$arch" in
  arm64) want_machine=183 ;;   # EM_AARCH64
  x86_64) want_machine=62 ;;   # EM_X86_64
  *) echo "architecture must be arm64 or x86_64, got '$arch'" >&2; exit 2 ;;
esac

# SAM CLI, cargo-lambda and zig (the ziglang wheel) in .venv; cargo-lambda finds zig through
# the venv's python, so .venv/bin goes first on PATH.
if [ ! -x .venv/bin/sam ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
fi
if ! [ -x .venv/bin/cargo-lambda ] || ! .venv/bin/python -c 'import ziglang' 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check cargo-lambda ziglang
fi
export PATH="$PWD/.venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
# Two jobs (the build machine has 2 cores), and a cargo target directory of its own under
# .aws-sam, so a release build of ten minutes never holds the lock of the workspace's target/.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/.aws-sam/cargo-target}"

started=$(date +%s)
# When the sources were read: a file changed during the build is newer than this stamp, so
# scripts/sam-local.sh rebuilds (the built template's own mtime is the end of the build).
mkdir -p .aws-sam && touch .aws-sam/build.started
sam build --parameter-overrides "Architectures=$arch"
elapsed=$(( $(date +%s) - started ))

# One line per function of the template: its bootstrap, checked.
python3 - "$want_machine" "$arch" <<'PY'
import os, re, struct, sys

want_machine, arch = int(sys.argv[1]), sys.argv[2]
# Function logical ids from template.yaml (top-level resources of type AWS::Serverless::Function).
functions, current = [], None
in_resources = False
for line in open("template.yaml", encoding="utf-8"):
    if re.match(r"^\S", line):
        in_resources = line.startswith("Resources:")
        continue
    if not in_resources:
        continue
    m = re.match(r"^  ([A-Za-z0-9]+):\s*$", line)
    if m:
        current = m.group(1)
    elif current and re.match(r"^    Type:\s*AWS::Serverless::Function\s*$", line):
        functions.append(current)
if not functions:
    sys.exit("no AWS::Serverless::Function in template.yaml")

failed = False
print(f"\n{'function':<24} {'bootstrap':<14} {'size':>10}  check")
for name in functions:
    path = os.path.join(".aws-sam", "build", name, "bootstrap")
    if not os.path.isfile(path):
        print(f"{name:<24} {'missing':<14} {'-':>10}  FAIL: {path} not found")
        failed = True
        continue
    with open(path, "rb") as f:
        head = f.read(20)
    size = os.path.getsize(path)
    problems = []
    if head[:4] != b"\x7fELF":
        problems.append("not an ELF file")
    else:
        if head[4] != 2:
            problems.append("not 64-bit")
        (e_type, e_machine) = struct.unpack("<HH", head[16:20])
        if e_type not in (2, 3):  # ET_EXEC, ET_DYN (PIE)
            problems.append(f"ELF type {e_type} is not an executable")
        if e_machine != want_machine:
            problems.append(f"ELF machine {e_machine}, expected {want_machine} ({arch})")
    if not os.access(path, os.X_OK):
        problems.append("not executable")
    status = "ok" if not problems else "FAIL: " + "; ".join(problems)
    failed |= bool(problems)
    print(f"{name:<24} {'ELF ' + arch:<14} {size / 1e6:>7.2f} MB  {status}")
sys.exit(1 if failed else 0)
PY
printf '\nsam build (%s) took %ss; artifacts in .aws-sam/build\n' "$arch" "$elapsed"
