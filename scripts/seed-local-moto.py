#!/usr/bin/env python3
"""Seeds a moto server with what a deployed stack holds, for `sam local invoke`.

- the table, shaped as template.yaml's `Table` resource defines it (key schema, attribute
  definitions, billing mode, TTL attribute), created afresh: a rerun starts from an empty table,
  so the sample login code of events/login.json works again;
- the WeChat secret, `{"apps": {"<appid>": "<app secret>"}}` (shared/src/secrets/wechat_apps.rs),
  with the app the fake WeChat runner knows;
- the signing key secret as the first rotation leaves it (shared/src/tokens/keys.rs):
  `{"current": {"alg": "RS256", "pkcs8": "<base64url of a new RSA-2048 PKCS#8 key>"},
  "previous": "<the 64-character seed GenerateSecretString makes>"}`; with
  `--signing-algorithm EdDSA`, `{"current": "<seed>"}`.

The names (table, secret ids) come from events/env.json, the file `sam local invoke
--env-vars` reads, so the seed and the functions cannot disagree.

Usage: .venv/bin/python scripts/seed-local-moto.py [--endpoint http://127.0.0.1:5000]
       [--region us-east-1] [--appid wxlocal0000000000] [--app-secret local-app-secret]
Needs boto3 (moto[server] brings it) and the SAM CLI's YAML loader (aws-sam-cli), both in .venv.
"""

import argparse
import base64
import json
import os
import secrets
import string
import sys

import boto3
from samcli.yamlhelper import yaml_parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def table_definition(template_path):
    template = yaml_parse(open(template_path, encoding="utf-8").read())
    props = template["Resources"]["Table"]["Properties"]
    return {
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }, props.get("TimeToLiveSpecification")


def put_secret(sm, name, value):
    try:
        sm.create_secret(Name=name, SecretString=value)
        return "created"
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=name, SecretString=value)
        return "updated"


def new_rs256_entry():
    """A new RSA-2048 key as the key rotation writes it (cryptography, in .venv with moto)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    der = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {"alg": "RS256", "pkcs8": base64.urlsafe_b64encode(der).rstrip(b"=").decode()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="http://127.0.0.1:5000")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--appid", default="wxlocal0000000000")
    parser.add_argument("--app-secret", default="local-app-secret")
    parser.add_argument("--env-vars", default=os.path.join(ROOT, "events", "env.json"))
    parser.add_argument("--template", default=os.path.join(ROOT, "template.yaml"))
    parser.add_argument("--signing-algorithm", choices=["RS256", "EdDSA"], default="RS256")
    args = parser.parse_args()

    env = json.load(open(args.env_vars, encoding="utf-8"))["Parameters"]
    table_name = env["TABLE_NAME"]
    wechat_id = env["WECHAT_SECRET_ID"]
    signing_id = env["SIGNING_KEY_SECRET_ID"]

    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=args.region,
    )
    ddb = session.client("dynamodb", endpoint_url=args.endpoint)
    sm = session.client("secretsmanager", endpoint_url=args.endpoint)

    definition, ttl = table_definition(args.template)
    if table_name in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName=table_name)
    ddb.create_table(TableName=table_name, **definition)
    ddb.get_waiter("table_exists").wait(TableName=table_name)
    if ttl and ttl.get("Enabled"):
        ddb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    described = ddb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    print(
        f"table {table_name}: key {[k['AttributeName'] for k in definition['KeySchema']]}, "
        f"TTL {described.get('TimeToLiveStatus')} on {described.get('AttributeName')}"
    )

    apps = json.dumps({"apps": {args.appid: args.app_secret}})
    print(f"secret {wechat_id}: {put_secret(sm, wechat_id, apps)} (app {args.appid})")
    alphabet = string.ascii_letters + string.digits
    seed = "".join(secrets.choice(alphabet) for _ in range(64))
    if args.signing_algorithm == "EdDSA":
        keys = json.dumps({"current": seed})
    else:
        keys = json.dumps({"current": new_rs256_entry(), "previous": seed})
    print(f"secret {signing_id}: {put_secret(sm, signing_id, keys)} (a new {args.signing_algorithm} key)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
