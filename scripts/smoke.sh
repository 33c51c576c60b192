#!/usr/bin/env bash
# Post-deploy smoke check of a wxlogin stack, with no real WeChat code and nothing written:
# the JWKS is served (and cacheable), a malformed login code is refused before WeChat is
# called (400 INVALID_REQUEST, the error shape of the design), and a protected route refuses
# a request without a token and one with a forged token.
# Usage: scripts/smoke.sh <ApiUrl output> [protected path, default /auth/me]
set -euo pipefail
base="${1:?usage: $0 <ApiUrl> [protected path]}"
base="${base%/}"
protected="${2:-/auth/me}"
failures=0
body=$(mktemp); trap 'rm -f "$body"' EXIT

# request METHOD PATH [curl args...] -> prints the status; the body is in $body.
request() {
  local method="$1" path="$2"; shift 2
  curl -s -o "$body" -w '%{http_code}' --max-time 15 -X "$method" "$base$path" "$@" || true
}
check() {  # check NAME CONDITION-EXIT-CODE DETAIL
  if [ "$2" -eq 0 ]; then printf 'ok    %s\n' "$1"; else printf 'FAIL  %s: %s\n' "$1" "$3"; failures=$((failures + 1)); fi
}
json() {  # json PYTHON-EXPRESSION-ON-v: exit 0 when true
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); sys.exit(0 if ('"$1"') else 1)' "$body" 2>/dev/null
}

status=$(request GET /.well-known/jwks.json -D "$body.h")
ok=1; [ "$status" = 200 ] && json 'len(v["keys"]) >= 1 and all(k.get("kid") and k.get("kty") and k.get("alg") for k in v["keys"])' && ok=0
check "JWKS served with at least one key" $ok "HTTP $status $(head -c 200 "$body")"
ok=1; grep -qi '^cache-control: .*max-age=' "$body.h" && ok=0
check "JWKS carries Cache-Control max-age" $ok "$(grep -i '^cache-control' "$body.h" || echo 'no Cache-Control')"
rm -f "$body.h"

status=$(request POST /auth/login -H 'content-type: application/json' -d '{"code":"not a code!"}')
ok=1; [ "$status" = 400 ] && json 'v["error"]["code"] == "INVALID_REQUEST" and v["error"]["request_id"]' && ok=0
check "malformed login code refused (400 INVALID_REQUEST)" $ok "HTTP $status $(head -c 200 "$body")"

status=$(request GET "$protected")
ok=1; case "$status" in 401|403) ok=0;; esac
check "$protected without a token refused (401/403)" $ok "HTTP $status"

forged="eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFZERTQSIsImtpZCI6ImZvcmdlZCJ9.eyJzdWIiOiJ1LWZvcmdlZCIsImV4cCI6NDEwMjQ0NDgwMH0.$(printf 'x%.0s' $(seq 1 86))"
status=$(request GET "$protected" -H "authorization: Bearer $forged")
ok=1; case "$status" in 401|403) ok=0;; esac
check "$protected with a forged token refused (401/403)" $ok "HTTP $status"

if [ "$failures" -gt 0 ]; then echo "smoke: $failures check(s) failed against $base"; exit 1; fi
echo "smoke: all checks passed against $base"
