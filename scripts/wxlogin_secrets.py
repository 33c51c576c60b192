"""wxlogin's operator commands for its two secrets, over boto3 (pip install boto3).

Every secret value travels through standard input and the AWS API only: never on a command
line (visible in `ps` and shell history), never printed.

  set-app-secret APPID --secret-id ID       add or replace one app; the app secret on stdin
  rotate-signing-key --secret-id ID         EdDSA deployments: current seed -> previous, a new
                                            current seed (from stdin when piped, else generated).
                                            RS256 keys are rotated by the stack's rotation function:
                                            aws secretsmanager rotate-secret --secret-id ID
"""
import argparse
import getpass
import json
import re
import secrets
import sys

APPID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MIN_SEED_LEN = 32


def client():
    try:
        import boto3
    except ImportError:
        sys.exit("needs boto3: pip install boto3 (or use the repository's .venv/bin/python)")
    return boto3.client("secretsmanager")


def read_stdin_secret(prompt):
    """One line from stdin; prompted without echo on a terminal."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def current_json(sm, secret_id):
    text = sm.get_secret_value(SecretId=secret_id)["SecretString"]
    try:
        return json.loads(text)
    except ValueError:
        sys.exit(f"{secret_id} does not hold JSON; refusing to overwrite it")


def set_app_secret(sm, appid, secret_id):
    if not APPID.match(appid):
        sys.exit(f"{appid!r} is not an AppID")
    app_secret = read_stdin_secret(f"AppSecret of {appid} (not echoed): ").strip()
    if not app_secret or len(app_secret) > 256:
        sys.exit("the app secret is empty or longer than 256 characters")
    value = current_json(sm, secret_id)
    apps = value.get("apps") if isinstance(value, dict) else None
    if not isinstance(apps, dict):
        sys.exit(f'{secret_id} is not {{"apps": {{...}}}}; refusing to overwrite it')
    replaced = appid in apps
    apps[appid] = app_secret
    sm.put_secret_value(SecretId=secret_id, SecretString=json.dumps({"apps": apps}))
    verb = "replaced" if replaced else "added"
    print(f"{appid}: {verb}; the secret holds {len(apps)} app(s); functions use it within 5 minutes")


def rotate_signing_key(sm, secret_id):
    value = current_json(sm, secret_id)
    old = value.get("current") if isinstance(value, dict) else None
    if isinstance(old, dict):
        sys.exit(
            f"{secret_id} holds an {old.get('alg', 'RSA')} key, which the stack's rotation function "
            f"makes: run `aws secretsmanager rotate-secret --secret-id {secret_id}` instead"
        )
    if not isinstance(old, str) or not old:
        sys.exit(f'{secret_id} has no "current" seed; refusing to rotate')
    new = "" if sys.stdin.isatty() else sys.stdin.readline().strip()
    if not new:
        new = secrets.token_urlsafe(48)
    if len(new) < MIN_SEED_LEN:
        sys.exit(f"a seed needs at least {MIN_SEED_LEN} characters")
    if new == old:
        sys.exit("the new seed equals the current one")
    sm.put_secret_value(SecretId=secret_id, SecretString=json.dumps({"current": new, "previous": old}))
    print("rotated: new tokens use the new key within 5 minutes; old tokens verify until they expire")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="wxlogin_secrets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    app = sub.add_parser("set-app-secret")
    app.add_argument("appid")
    app.add_argument("--secret-id", required=True, help="the stack's WeChatSecretArn output")
    rot = sub.add_parser("rotate-signing-key")
    rot.add_argument("--secret-id", required=True, help="the stack's SigningKeySecretArn output")
    args = parser.parse_args(argv)
    sm = client()
    if args.command == "set-app-secret":
        set_app_secret(sm, args.appid, args.secret_id)
    else:
        rotate_signing_key(sm, args.secret_id)


if __name__ == "__main__":
    main()
