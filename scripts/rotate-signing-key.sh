#!/usr/bin/env bash
# Rotates the token signing key without downtime: the current seed becomes "previous" (still
# verifies) and a new random seed becomes "current" (signs). Running functions pick it up within
# 5 minutes (their secret cache), publish the new public key, then sign with it; authorizers
# learn the new kid on first sight. Tokens signed with the old key keep working until they
# expire. Wait at least ACCESS_TOKEN_TTL (+ the authorizer cache TTL) before rotating again:
# the next rotation drops today's "previous".
# Usage: scripts/rotate-signing-key.sh <SigningKeySecretArn output of the stack>
set -euo pipefail
secret_id="${1:?usage: $0 <signing key secret id or ARN>}"
current_json=$(aws secretsmanager get-secret-value --secret-id "$secret_id" --query SecretString --output text)
new_json=$(CURRENT_JSON="$current_json" python3 - <<'PY'
import json, os, secrets
old = json.loads(os.environ["CURRENT_JSON"])["current"]
print(json.dumps({"current": secrets.token_urlsafe(48), "previous": old}))
PY
)
aws secretsmanager put-secret-value --secret-id "$secret_id" --secret-string "$new_json" >/dev/null
echo "rotated: new tokens use the new key within 5 minutes; old tokens verify until they expire"
