#!/usr/bin/env bash
# Rotates the token signing key without downtime: the current seed becomes "previous" (still
# verifies) and a new seed becomes "current" (signs): generated, or read from standard input
# when one is piped in; never taken from the command line. Running functions pick it up within
# 5 minutes (their secret cache), publish the new public key, then sign with it; authorizers
# learn the new kid on first sight. Tokens signed with the old key keep working until they
# expire. Wait at least ACCESS_TOKEN_TTL (+ the authorizer cache TTL) before rotating again:
# the next rotation drops today's "previous".
# Usage: scripts/rotate-signing-key.sh --secret-id <SigningKeySecretArn output>  [< seed.txt]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
[ -x "$here/../.venv/bin/python" ] && [ -z "${PYTHON:-}" ] && python="$here/../.venv/bin/python"
if [ $# -eq 1 ] && [[ "$1" != --* ]]; then set -- --secret-id "$1"; fi  # the old usage
exec "$python" "$here/wxlogin_secrets.py" rotate-signing-key "$@"
