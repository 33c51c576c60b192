#!/usr/bin/env bash
# Runs every `sam local invoke` line of README.md against a local stack and checks each answer:
#
#   1. Docker: starts dockerd if none answers, and makes the Lambda base image from a Debian
#      debootstrap (with ca-certificates) when it is missing — no image is pulled;
#   2. the functions: scripts/package.sh (sam build) when .aws-sam/build is missing, stale, or
#      built for another architecture;
#   3. moto (tests/moto/serial_moto.py) and the fake WeChat (tests/src/bin/fake-wechat.rs) on
#      0.0.0.0, at the ports events/env.json names, so the containers reach them through the
#      bridge as host.docker.internal; seeded by scripts/seed-local-moto.py (table as the
#      template defines it, both secrets);
#   4. the README's `sam local invoke` lines, in order, each with the tokens of the previous
#      answers put in place of the events' placeholders, and a check per event file (status
#      and key body fields); a result table at the end. Exit status 1 if any check fails, or if
#      the README runs an event this script has no check for.
#
#   scripts/sam-local.sh                  # everything
#   SAM_LOCAL_README=path scripts/sam-local.sh   # the lines of another document
#   SAM_LOCAL_SKIP_BUILD=1 SAM_LOCAL_EXTRA_ARGS='-t DIR/template.yaml' scripts/sam-local.sh
#                                          # other binaries (DIR needs a copy of samconfig.toml)
#
# moto and the fake WeChat are stopped on exit; dockerd (if this script started it) is left
# running for the next run: stop it with `kill $(cat .aws-sam/local/dockerd.pid)`.
# Needs root for dockerd and apt-get (docker.io, debootstrap) on a machine without Docker.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state="$root/.aws-sam/local"
readme="${SAM_LOCAL_README:-README.md}"
mkdir -p "$state"

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

case "$(uname -m)" in
  x86_64) arch=x86_64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "unsupported machine $(uname -m)" >&2; exit 2 ;;
esac
arch="${ARCHITECTURES:-$arch}"
image="public.ecr.aws/lambda/provided:al2023-$arch"

step "Python tools (.venv: SAM CLI, moto)"
if ! .venv/bin/python -c 'import moto, samcli' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
fi
export PATH="$root/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
# Dummy credentials and a fixed region: SAM hands these to the containers, so no real
# credential ever reaches a function here. SAM also lets a shell variable of the same name
# fill a declared variable: clear the ones events/env.json does not set.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL \
  ACCESS_TOKEN_TTL REFRESH_TOKEN_TTL REFRESH_TOKEN_MAX_LIFETIME AUTHORIZER_APP_IDS

# The ports the containers are told about (events/env.json), so the two cannot disagree.
read -r moto_port wechat_port < <(.venv/bin/python - <<'PY'
import json, urllib.parse
env = json.load(open("events/env.json"))["Parameters"]
print(urllib.parse.urlsplit(env["AWS_ENDPOINT_URL"]).port,
      urllib.parse.urlsplit(env["WECHAT_API_BASE"]).port)
PY
)

step "Docker (dockerd, base image $image)"
if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get install -y docker.io debootstrap
  fi
  # --iptables=false: no NAT rules needed, the containers only talk to the host's bridge
  # address; a bridge is needed (SAM reaches the runtime emulator through a published port).
  nohup dockerd --storage-driver=overlay2 --iptables=false >"$state/dockerd.log" 2>&1 &
  echo $! >"$state/dockerd.pid"
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start: $state/dockerd.log" >&2; exit 1; }
  echo "dockerd started (pid $(cat "$state/dockerd.pid"))"
else
  echo "dockerd already running"
fi
if ! docker image inspect "$image" >/dev/null 2>&1; then
  if [ ! -e "$state/rootfs/.complete" ]; then
    command -v debootstrap >/dev/null || apt-get install -y debootstrap
    rm -rf "$state/rootfs"
    # The functions' HTTP clients need the CA certificates to build.
    debootstrap --variant=minbase --include=ca-certificates bookworm "$state/rootfs" \
      http://deb.debian.org/debian >"$state/debootstrap.log" 2>&1
    touch "$state/rootfs/.complete"
  fi
  tar -C "$state/rootfs" --exclude=./.complete -c . | docker import - "$image" >/dev/null
  echo "imported $image"
else
  echo "$image present"
fi

step "Functions (sam build for $arch, if needed)"
needs_build=$(.venv/bin/python - "$arch" <<'PY'
import os, sys
arch = sys.argv[1]
built = ".aws-sam/build/template.yaml"
if not os.path.exists(built):
    sys.exit(print("no build yet"))
# scripts/package.sh stamps the start of its build; a plain `sam build` leaves only the
# built template, written at the end.
started = ".aws-sam/build.started"
stamp = os.path.getmtime(started if os.path.exists(started) else built)
if stamp > os.path.getmtime(built):
    sys.exit(print("the last build did not finish"))
for top in ["template.yaml", "Cargo.toml", "Cargo.lock", "shared", "functions"]:
    for dirpath, _, files in os.walk(top) if os.path.isdir(top) else [("", [], [top])]:
        for f in files:
            if os.path.getmtime(os.path.join(dirpath, f)) > stamp:
                sys.exit(print(f"{os.path.join(dirpath, f)} is newer than the build"))
want = {"x86_64": 62, "arm64": 183}[arch]
for name in sorted(os.listdir(".aws-sam/build")):
    path = os.path.join(".aws-sam/build", name, "bootstrap")
    if os.path.isdir(os.path.dirname(path)):
        if not os.path.exists(path):
            sys.exit(print(f"{path} missing"))
        with open(path, "rb") as f:
            head = f.read(20)
        if int.from_bytes(head[18:20], "little") != want:
            sys.exit(print(f"{path} is not built for {arch}"))
PY
)
if [ -n "${SAM_LOCAL_SKIP_BUILD:-}" ]; then
  echo "skipped (SAM_LOCAL_SKIP_BUILD)"
elif [ -n "$needs_build" ]; then
  echo "building: $needs_build"
  scripts/package.sh "$arch"
else
  echo ".aws-sam/build is up to date ($arch)"
fi

# SAM drops an --env-vars entry the template does not declare, silently: a function without
# AWS_ENDPOINT_URL would talk to real AWS. Refuse to run unless the built template declares
# it for every function, and every other variable of events/env.json for some function.
.venv/bin/python - <<'PY'
import json, sys
from samcli.yamlhelper import yaml_parse
t = yaml_parse(open(".aws-sam/build/template.yaml").read())
glob = t.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
fns = {n: r for n, r in t["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
declared = {n: set(glob) | set(r["Properties"].get("Environment", {}).get("Variables", {})) for n, r in fns.items()}
env = json.load(open("events/env.json"))
problems = [f"{n} does not declare AWS_ENDPOINT_URL" for n, d in declared.items() if "AWS_ENDPOINT_URL" not in d]
problems += [f"no function declares {v}" for v in env["Parameters"] if not any(v in d for d in declared.values())]
for fn, vars_ in env.items():
    if fn != "Parameters":
        problems += [f"{fn} does not declare {v}" for v in vars_ if v not in declared.get(fn, set())]
if problems:
    sys.exit("the built template would drop events/env.json entries:\n  " + "\n  ".join(problems))
print(f"the built template declares every variable of events/env.json ({len(fns)} functions)")
PY

step "moto on 0.0.0.0:$moto_port, fake WeChat on 0.0.0.0:$wechat_port"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$moto_port" "$wechat_port"; do
  if port_busy "$port"; then
    echo "port $port is already in use: stop what listens there (this script resets its state)" >&2
    exit 1
  fi
done
cargo build -j2 --locked -q -p wxlogin-tests --bin fake-wechat
# The recording lets the checks read the SMS code the account function sends through SNS.
rm -f "$state/moto-recording.jsonl"
MOTO_ENABLE_RECORDING=true MOTO_RECORDER_FILEPATH="$state/moto-recording.jsonl" \
  .venv/bin/python tests/moto/serial_moto.py -H 0.0.0.0 -p "$moto_port" >"$state/moto.log" 2>&1 &
pids+=($!)
target/debug/fake-wechat --listen "0.0.0.0:$wechat_port" >"$state/fake-wechat.log" 2>&1 &
pids+=($!)
for port in "$moto_port" "$wechat_port"; do
  for _ in $(seq 100); do port_busy "$port" && break; sleep 0.2; done
  port_busy "$port" || { echo "nothing listens on $port: see $state/*.log" >&2; exit 1; }
done
cat "$state/fake-wechat.log"

step "Seed moto (scripts/seed-local-moto.py)"
.venv/bin/python scripts/seed-local-moto.py --endpoint "http://127.0.0.1:$moto_port"

step "sam local invoke: every line of $readme"
set +e
.venv/bin/python - "$readme" "$arch" "$state" "$moto_port" <<'PY'
import base64, json, os, re, shlex, subprocess, sys, time, urllib.parse

readme, arch, state, moto_port = sys.argv[1:5]
events_out = os.path.join(state, "events")
os.makedirs(events_out, exist_ok=True)

def jwt_header(token):
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))

def sms_code_sent():
    """The 6-digit code of the last SNS Publish moto recorded."""
    code = None
    for line in open(os.path.join(state, "moto-recording.jsonl")):
        entry = json.loads(line)
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        form = urllib.parse.parse_qs(body)
        if form.get("Action") == ["Publish"]:
            found = re.search(r"\b(\d{6})\b", form.get("Message", [""])[0])
            code = found.group(1) if found else code
    return code

def signing_secret(**version):
    """The signing key secret moto holds (AWSCURRENT, or the version asked for), as JSON."""
    import boto3

    secret_id = json.load(open("events/env.json"))["Parameters"]["SIGNING_KEY_SECRET_ID"]
    sm = boto3.client("secretsmanager", endpoint_url=f"http://127.0.0.1:{moto_port}")
    return json.loads(sm.get_secret_value(SecretId=secret_id, **version)["SecretString"])

def secret_current_value():
    return signing_secret(VersionStage="AWSCURRENT")

def secret_pending_value():
    return signing_secret(VersionStage="AWSPENDING")

def secrets_stored():
    """Every secret value the table holds: password and refresh-secret hashes, session_keys,
    SMS code hashes (read from moto, as the functions wrote them)."""
    import boto3

    table = json.load(open("events/env.json"))["Parameters"]["TABLE_NAME"]
    ddb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{moto_port}")
    found = set()
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            for name in ("password_hash", "secret_hash", "session_key", "code"):
                value = item.get(name, {}).get("S")
                if value and len(value) >= 8:
                    found.add(value)
    return found

def keys_and_strings(value):
    """Every object key and string of a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from keys_and_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from keys_and_strings(v)
    elif isinstance(value, str):
        yield value

# What each event must answer. ctx carries what earlier answers taught (tokens, user id), and
# what earlier events did (ctx["deleted"]): an event the README runs twice may answer otherwise.
def tokens(r, ctx):
    assert r["status"] == 200, "status"
    b = r["body"]
    assert b.get("access_token") and b.get("refresh_token"), "tokens in the answer"
    ctx.update(access=b["access_token"], refresh=b["refresh_token"])
    return b

def login(r, ctx):
    b = tokens(r, ctx)
    assert b["status"] == "ok" and b["token_type"] == "Bearer", "status ok, Bearer"
    assert b["user"]["id"].startswith("u_") and b["user"]["created"] is True, "a new user"
    ctx["user"] = b["user"]["id"]
    return f"user {b['user']['id']} created, expires_in {b['expires_in']}"

def refresh(r, ctx):
    old = ctx["refresh"]
    b = tokens(r, ctx)
    assert b["refresh_token"] != old and b["user"]["id"] == ctx["user"], "a new pair, same user"
    return "new token pair, same user"

def phone_bound(r, ctx):
    b = tokens(r, ctx)
    assert b["user"]["phone_bound"] is True and b["user"]["phone"] == "138****8000", "phone bound"
    assert b["user"]["id"] == ctx["user"], "same user"
    return f"phone {b['user']['phone']} bound"

def me(r, ctx):
    if "deleted" in ctx:
        assert r["status"] == 401, "status 401 after me-delete"
        assert r["body"]["error"]["code"] == "UNAUTHORIZED", "error UNAUTHORIZED"
        return f"after me-delete: the same token is refused (401 UNAUTHORIZED, {ctx['deleted']} gone)"
    assert r["status"] == 200, "status"
    b = r["body"]
    assert b["id"] == ctx["user"] and b["phone_bound"] is True, "the caller, phone bound"
    return f"id {b['id']}, phone {b.get('phone')}"

def me_update(r, ctx):
    assert r["status"] == 200, "status"
    assert r["body"].get("nickname") == "\u5c0f\u660e", "nickname set"
    return f"nickname {r['body']['nickname']}"

def error(status, code, why):
    def check(r, ctx):
        assert r["status"] == status, "status"
        assert r["body"]["error"]["code"] == code, f"error {code}"
        return why
    return check

def jwks(r, ctx):
    assert r["status"] == 200, "status"
    kids = [k["kid"] for k in r["body"]["keys"]]
    assert jwt_header(ctx["access"])["kid"] in kids, "the access token's kid is published"
    return f"{len(kids)} key(s), kid {kids[0]}"

def authorizer(r, ctx):
    b = r["raw"]
    assert b.get("isAuthorized") is True, "isAuthorized"
    assert b["context"]["user_id"] == ctx["user"], "context names the user"
    return f"authorized, context {json.dumps(b['context'], sort_keys=True)}"

def sms_sent(r, ctx):
    assert r["status"] == 200 and r["body"]["status"] == "sent", "status sent"
    ctx["sms_code"] = sms_code_sent()
    assert ctx["sms_code"], "SNS Publish reached moto with a code"
    return f"sent via SNS (moto), code {ctx['sms_code']}"

def password_set(r, ctx):
    b = tokens(r, ctx)
    assert b["user"]["id"] == ctx["user"] and b["user"]["phone_bound"] is True, "same user"
    return "password set, fresh tokens (other sessions ended)"

def password_login(r, ctx):
    b = tokens(r, ctx)
    assert b["user"]["id"] == ctx["user"], "same user"
    return "logged in with the password"

def me_export(r, ctx):
    assert r["status"] == 200, "status"
    b = r["body"]
    u = b["user"]
    assert u["id"] == ctx["user"], "the caller's id"
    assert u["phone"] == "+8613800138000" and u["nickname"] == "\u5c0f\u660e", "phone whole, nickname"
    assert u["password_set"] is True, "the password as set"
    assert [w["appid"] for w in b["wechat"]] == ["wxlocal0000000000"], "one WeChat identity"
    assert b["wechat"][0]["session_key_held"] is True, "the session_key as held"
    assert b["current_session"]["expires_at"], "the current session"
    seen = set(keys_and_strings(b))
    named = seen & {"session_key", "password", "password_hash", "secret_hash", "access_token", "refresh_token"}
    assert not named, f"no secret field (found {sorted(named)})"
    stored = secrets_stored()
    assert stored, "moto holds the secrets to look for"
    leaked = [s for s in stored | {ctx["access"], ctx["refresh"]} if any(s in v for v in seen)]
    assert not leaked, f"no secret value ({len(leaked)} found)"
    return (f"user {u['id']}, phone {u['phone']}, password_set, session_key_held; none of the "
            f"{len(stored)} stored secret values nor the tokens")

def me_delete(r, ctx):
    assert r["status"] == 200 and r["body"] == {"status": "deleted"}, "status deleted"
    ctx["deleted"] = ctx["user"]
    return f"user {ctx['user']} deleted"

def key_rotation(r, ctx):
    b = r["raw"]
    assert b == {"step": "createSecret", "done": True}, f"createSecret done ({b})"
    pending = secret_pending_value()
    assert pending["current"]["alg"] == "RS256", "the pending version holds a new RS256 key"
    assert pending["previous"] == secret_current_value()["current"], "the current key becomes previous"
    return "createSecret: a new RS256 key pending, the current one kept as previous"

def logout(r, ctx):
    assert r["status"] == 200 and r["body"] == {"status": "ok"}, "status ok"
    return "logged out"

CHECKS = {
    "events/login.json": (login, "200 + tokens"),
    "events/refresh.json": (refresh, "200 + new pair"),
    "events/phone.json": (phone_bound, "200 + phone bound"),
    "events/me.json": (me, "200 + profile (401 after me-delete)"),
    "events/me-update.json": (me_update, "200 + nickname"),
    "events/me-userinfo.json": (
        error(400, "DECRYPT_FAILED", "sample signature refused (session_key read from moto)"),
        "400 DECRYPT_FAILED",
    ),
    "events/jwks.json": (jwks, "200 + token's kid"),
    "events/key-rotation.json": (key_rotation, "createSecret done"),
    "events/authorizer.json": (authorizer, "isAuthorized true"),
    "events/sms-send.json": (sms_sent, "200 sent"),
    "events/phone-sms.json": (phone_bound, "200 + phone bound"),
    "events/phone-legacy.json": (
        error(400, "DECRYPT_FAILED", "sample encryptedData refused"),
        "400 DECRYPT_FAILED",
    ),
    "events/password-set.json": (password_set, "200 + tokens"),
    "events/password-login.json": (password_login, "200 + tokens"),
    "events/phone-change.json": (
        error(401, "INVALID_CODE", "sample new number 13800138001 was sent no code: refused, nothing moved"),
        "401 INVALID_CODE",
    ),
    "events/me-export.json": (me_export, "200 + own data, no secrets"),
    "events/password-reset.json": (
        error(401, "INVALID_CODE", "sample phone 13800138009 was sent no code (the password passed the policy)"),
        "401 INVALID_CODE",
    ),
    "events/logout.json": (logout, "200 ok"),
    "events/me-delete.json": (me_delete, "200 deleted"),
}

def render(event_path, ctx):
    """The event with the placeholders replaced by what earlier answers gave."""
    text = open(event_path, encoding="utf-8").read()
    if "access" in ctx:
        text = re.sub(r"<access_token[^>]*>", ctx["access"], text)
    event = json.loads(text)
    if isinstance(event.get("body"), str) and event["body"].startswith("{"):
        body = json.loads(event["body"])
        if "refresh_token" in body and "refresh" in ctx:
            body["refresh_token"] = ctx["refresh"]
        if "sms_code" in body and "sms_code" in ctx:
            body["sms_code"] = ctx["sms_code"]
        event["body"] = json.dumps(body, ensure_ascii=False)
    out = os.path.join(events_out, os.path.basename(event_path))
    json.dump(event, open(out, "w", encoding="utf-8"), ensure_ascii=False, indent=2)
    return out

lines = []
for raw in open(readme, encoding="utf-8"):
    if raw.strip().startswith("sam local invoke "):
        lines.append(raw.strip())
if not lines:
    sys.exit(f"no `sam local invoke` line in {readme}")

def event_index(argv):
    flag = next((a for a in ("-e", "--event") if a in argv), None)
    if flag is None:
        sys.exit(f"no -e EVENT in: {shlex.join(argv)}")
    return argv.index(flag) + 1

ctx, rows, failed = {}, [], False
for line in lines:
    argv = shlex.split(line, comments=True)
    fn = argv[3]
    at = event_index(argv)
    event = os.path.normpath(argv[at])
    check, expected = CHECKS.get(event, (None, "?"))
    argv[at] = render(event, ctx)
    # This machine: no registry to pull from, and the architecture the functions were built for.
    argv += ["--skip-pull-image", "--parameter-overrides", f"Architectures={arch}"]
    argv += shlex.split(os.environ.get("SAM_LOCAL_EXTRA_ARGS", ""))
    began = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True)
    took = time.monotonic() - began
    log = os.path.join(state, os.path.basename(event).replace(".json", ".log"))
    open(log, "w").write(f"$ {shlex.join(argv)}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    answer_line = next((l for l in reversed(proc.stdout.strip().splitlines()) if l.startswith("{")), None)
    status, verdict, detail = "-", "FAIL", ""
    try:
        if proc.returncode != 0 or answer_line is None:
            raise AssertionError(f"sam exited {proc.returncode}, no answer (see {log})")
        raw = json.loads(answer_line)
        if "statusCode" in raw:
            body = raw.get("body") or ""
            if raw.get("isBase64Encoded"):
                body = base64.b64decode(body).decode()
            r = {"raw": raw, "status": raw["statusCode"], "body": json.loads(body) if body else None}
            status = str(raw["statusCode"])
        else:
            r = {"raw": raw, "status": None, "body": raw}
            status = "auth"
        if check is None:
            raise AssertionError(f"no check for {event} in scripts/sam-local.sh")
        detail = check(r, ctx)
        verdict = "ok"
    except AssertionError as e:
        detail = f"expected {expected}; failed: {e}; answer {(answer_line or '')[:300]}"
    except (KeyError, TypeError, ValueError) as e:
        detail = f"expected {expected}; unexpected answer ({type(e).__name__} {e}): {(answer_line or '')[:300]}"
    failed |= verdict != "ok"
    rows.append((fn, os.path.basename(event), status, verdict, f"{took:.1f}", detail))
    print(f"{verdict:<4} {fn} {event} ({took:.1f} s) {detail}", flush=True)

print()
print(f"| {'function':<22} | {'event':<20} | {'HTTP':<4} | {'check':<5} | {'s':>5} | detail")
print(f"|{'-' * 24}|{'-' * 22}|{'-' * 6}|{'-' * 7}|{'-' * 7}|--------")
for fn, ev, st, ok, took, detail in rows:
    print(f"| {fn:<22} | {ev:<20} | {st:<4} | {ok:<5} | {took:>5} | {detail}")
ran = {os.path.basename(ev) for _, ev, *_ in rows}
not_run = sorted(e for e in CHECKS if os.path.basename(e) not in ran)
if not_run:
    print(f"\nnote: {readme} runs no line for {', '.join(not_run)}")
sys.exit(1 if failed else 0)
PY
rc=$?
set -e
printf '\nsam-local: %s in %ss (logs and rendered events in %s)\n' \
  "$([ $rc -eq 0 ] && echo 'all checks passed' || echo 'FAILED')" "$(( $(date +%s) - started ))" "$state"
exit $rc
