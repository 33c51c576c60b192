#!/usr/bin/env bash
# Runs the mini-program client tests (Node's built-in test runner, no npm packages) against the
# local server binary, which the tests start themselves. Callable from anywhere; extra
# arguments go to `node --test` (e.g. --test-reporter=spec).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"

bin="${WXLOGIN_LOCAL_BIN:-$root/target/debug/wxlogin-local}"
if [ ! -x "$bin" ]; then
  echo "error: the local server binary $bin is missing." >&2
  echo "       Build it first:  cargo build -p wxlogin-local   (or set WXLOGIN_LOCAL_BIN)" >&2
  exit 1
fi
if ! command -v node >/dev/null 2>&1; then
  echo "error: node is not installed (Node.js 20 or newer is needed)." >&2
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "error: Node.js 20 or newer is needed, found $(node --version)." >&2
  exit 1
fi

export WXLOGIN_LOCAL_BIN="$bin"
# The files are named explicitly: given the directory, node --test would also run the helpers
# (fake-wx.js, support.js) as test files, since everything under test/ matches its pattern.
exec node --test "$@" examples/miniprogram/test/*.test.js
