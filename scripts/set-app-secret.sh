#!/usr/bin/env bash
# Adds or replaces one mini program's AppSecret in the WeChat secret. The secret is read from
# standard input (prompted without echo on a terminal), never from the command line.
# Usage: scripts/set-app-secret.sh APPID --secret-id <WeChatSecretArn output>  < secret.txt
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
[ -x "$here/../.venv/bin/python" ] && [ -z "${PYTHON:-}" ] && python="$here/../.venv/bin/python"
exec "$python" "$here/wxlogin_secrets.py" set-app-secret "$@"
