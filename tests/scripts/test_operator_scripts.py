"""The operator scripts against a real local AWS (moto's server, started here): the template's
secret resources deployed twice keep an app added in between, and the scripts take every
secret from standard input. Run by scripts/test.sh with the repository's .venv python.

moto's CloudFormation has no AWS::SecretsManager::Secret, so `deploy` plays CloudFormation's
part for these two resources: it resolves the template's properties for the given parameters
(Ref, Fn::Sub, Fn::If over the template's conditions), creates the secret on the first deploy
(SecretString, or GenerateSecretString's template + generated key) and, on a later deploy,
rewrites SecretString exactly when the resolved property changed - CloudFormation's update
rule. The last test shows the previous template's secret failing this check."""
import json
import logging
import os
import socket
import subprocess
import sys
import unittest
from pathlib import Path

import boto3
from cfnlint.decode import decode
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[2]
REGION = "cn-north-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def template_of(path):
    template, errors = decode(str(path))
    assert not errors, errors
    return template


def resolve(node, params, conditions):
    """The value CloudFormation gives a property under `params`."""
    if isinstance(node, list):
        return [resolve(n, params, conditions) for n in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return params[node["Ref"]]
    if set(node) == {"Fn::Sub"}:
        text = node["Fn::Sub"]
        for name, value in params.items():
            text = text.replace("${" + name + "}", value)
        assert "${" not in text, text
        return text
    if set(node) == {"Fn::If"}:
        name, yes, no = node["Fn::If"]
        return resolve(yes if conditions[name] else no, params, conditions)
    return {k: resolve(v, params, conditions) for k, v in node.items()}


def condition_values(template, params):
    def value(node):
        if isinstance(node, dict) and set(node) == {"Fn::Equals"}:
            a, b = (resolve(x, params, {}) for x in node["Fn::Equals"])
            return a == b
        if isinstance(node, dict) and set(node) == {"Fn::Not"}:
            return not value(node["Fn::Not"][0])
        if isinstance(node, dict) and set(node) == {"Fn::And"}:
            return all(value(x) for x in node["Fn::And"])
        if isinstance(node, dict) and set(node) == {"Condition"}:
            return value(template["Conditions"][node["Condition"]])
        raise AssertionError(f"unsupported condition {node}")
    return {name: value(c) for name, c in template.get("Conditions", {}).items()}


def parameters(template, overrides):
    params = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
    params.update(overrides)
    return params


SECRETS = ("WeChatSecret", "SigningKeySecret")


class OperatorScripts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        port = free_port()
        cls.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        cls.server.start()
        cls.env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
                       AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                       AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION, PYTHON=sys.executable)
        kwargs = dict(endpoint_url=cls.env["AWS_ENDPOINT_URL"], region_name=REGION,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
        cls.sm = boto3.client("secretsmanager", **kwargs)
        cls.stacks = {}

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def deploy(self, name, appid, template=None):
        """CloudFormation's create/update of the template's two secrets (see the module doc);
        returns {logical id: ARN} like the stack's outputs."""
        template = template or template_of(ROOT / "template.yaml")
        params = parameters(template, {"WeChatAppId": appid})
        conditions = condition_values(template, params)
        stack = self.stacks.setdefault(name, {})
        arns = {}
        for logical in SECRETS:
            props = resolve(template["Resources"][logical]["Properties"], params, conditions)
            held = stack.get(logical)
            if held is None:
                if "SecretString" in props:
                    value = props["SecretString"]
                else:
                    gen = props["GenerateSecretString"]
                    body = json.loads(gen["SecretStringTemplate"])
                    body[gen["GenerateStringKey"]] = self.sm.get_random_password(
                        PasswordLength=gen["PasswordLength"],
                        ExcludePunctuation=gen.get("ExcludePunctuation", False))["RandomPassword"]
                    value = json.dumps(body)
                arn = self.sm.create_secret(Name=f"{name}-{logical}", SecretString=value)["ARN"]
                stack[logical] = (arn, props)
            else:
                arn, before = held
                if props.get("SecretString") != before.get("SecretString"):
                    self.sm.update_secret(SecretId=arn, SecretString=props["SecretString"])
                stack[logical] = (arn, props)
            arns[logical + "Arn"] = arn
        return arns

    def run_script(self, script, *args, stdin=""):
        return subprocess.run([str(ROOT / "scripts" / script), *args], input=stdin, text=True,
                              capture_output=True, env=self.env, timeout=60)

    def apps(self, arn):
        return json.loads(self.sm.get_secret_value(SecretId=arn)["SecretString"])["apps"]

    def test_an_app_added_between_two_deploys_survives_the_second(self):
        outputs = self.deploy("wxlogin-secrets", "wxfirst")
        arn = outputs["WeChatSecretArn"]
        self.assertEqual(self.apps(arn), {}, "the template writes no app and no placeholder")
        added = self.run_script("set-app-secret.sh", "wxfirst", "--secret-id", arn,
                                stdin="first-app-secret\n")
        self.assertEqual(added.returncode, 0, added.stderr)
        second = self.run_script("set-app-secret.sh", "wxsecond", "--secret-id", arn,
                                 stdin="second-app-secret\n")
        self.assertEqual(second.returncode, 0, second.stderr)
        for out in (added, second):
            self.assertNotIn("app-secret", out.stdout + out.stderr, "the secret is never printed")
        # A redeploy with another WeChatAppId: CloudFormation has nothing of the secret to rewrite.
        again = self.deploy("wxlogin-secrets", "wxchanged")
        self.assertEqual(again["WeChatSecretArn"], arn, "the same secret, not a replacement")
        self.assertEqual(self.apps(arn),
                         {"wxfirst": "first-app-secret", "wxsecond": "second-app-secret"})
        replaced = self.run_script("set-app-secret.sh", "wxfirst", "--secret-id", arn,
                                   stdin="rotated-app-secret\n")
        self.assertEqual(replaced.returncode, 0, replaced.stderr)
        self.assertIn("replaced", replaced.stdout)
        self.assertEqual(self.apps(arn)["wxfirst"], "rotated-app-secret")

    def test_set_app_secret_refuses_bad_input_and_writes_nothing(self):
        arn = self.deploy("wxlogin-refusals", "wxone")["WeChatSecretArn"]
        for args, stdin in ((["wxone"], ""), (["wx one"], "s\n"), (["wxone"], "x" * 300 + "\n")):
            out = self.run_script("set-app-secret.sh", *args, "--secret-id", arn, stdin=stdin)
            self.assertNotEqual(out.returncode, 0, (args, out.stdout))
        self.assertEqual(self.apps(arn), {})
        self.sm.put_secret_value(SecretId=arn, SecretString="not json")
        out = self.run_script("set-app-secret.sh", "wxone", "--secret-id", arn, stdin="s\n")
        self.assertNotEqual(out.returncode, 0)
        self.assertEqual(self.sm.get_secret_value(SecretId=arn)["SecretString"], "not json")

    def test_rotation_takes_the_seed_from_stdin_or_generates_one(self):
        arn = self.deploy("wxlogin-rotation", "wxone")["SigningKeySecretArn"]
        first = json.loads(self.sm.get_secret_value(SecretId=arn)["SecretString"])
        self.assertGreaterEqual(len(first["current"]), 32, "the template generates a seed")
        seed = "s" * 20 + "piped-seed-from-stdin"
        piped = self.run_script("rotate-signing-key.sh", "--secret-id", arn, stdin=seed + "\n")
        self.assertEqual(piped.returncode, 0, piped.stderr)
        self.assertNotIn(seed, piped.stdout + piped.stderr)
        after = json.loads(self.sm.get_secret_value(SecretId=arn)["SecretString"])
        self.assertEqual(after, {"current": seed, "previous": first["current"]})
        generated = self.run_script("rotate-signing-key.sh", "--secret-id", arn)
        self.assertEqual(generated.returncode, 0, generated.stderr)
        last = json.loads(self.sm.get_secret_value(SecretId=arn)["SecretString"])
        self.assertEqual(last["previous"], seed)
        self.assertGreaterEqual(len(last["current"]), 32)
        self.assertNotEqual(last["current"], seed)
        short = self.run_script("rotate-signing-key.sh", "--secret-id", arn, stdin="short\n")
        self.assertNotEqual(short.returncode, 0)
        self.assertEqual(json.loads(self.sm.get_secret_value(SecretId=arn)["SecretString"]), last)

    def test_an_rs256_key_is_left_to_the_rotation_function(self):
        arn = self.deploy("wxlogin-rs256", "wxone")["SigningKeySecretArn"]
        seed = json.loads(self.sm.get_secret_value(SecretId=arn)["SecretString"])["current"]
        # What the first run of the rotation function leaves.
        rotated = json.dumps({"current": {"alg": "RS256", "pkcs8": "MIIE"}, "previous": seed,
                              "rotated_at": 1})
        self.sm.put_secret_value(SecretId=arn, SecretString=rotated)
        out = self.run_script("rotate-signing-key.sh", "--secret-id", arn, stdin="s" * 40 + "\n")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("aws secretsmanager rotate-secret", out.stderr)
        self.assertEqual(self.sm.get_secret_value(SecretId=arn)["SecretString"], rotated)

    def test_the_previous_template_would_have_wiped_the_added_app(self):
        """The check above can fail: the secret as the template wrote it before this change
        named WeChatAppId, so a redeploy with another AppID rewrote it and lost the apps."""
        old = template_of(ROOT / "template.yaml")
        old["Parameters"]["WeChatAppSecret"] = {"Type": "String", "Default": ""}
        old["Conditions"]["HasAppSecret"] = {"Fn::Not": [{"Fn::Equals": [{"Ref": "WeChatAppSecret"}, ""]}]}
        old["Resources"]["WeChatSecret"]["Properties"]["SecretString"] = {"Fn::If": [
            "HasAppSecret",
            {"Fn::Sub": '{"apps": {"${WeChatAppId}": "${WeChatAppSecret}"}}'},
            {"Fn::Sub": '{"apps": {"${WeChatAppId}": "REPLACE_WITH_THE_APP_SECRET"}}'},
        ]}
        arn = self.deploy("wxlogin-old", "wxfirst", template=old)["WeChatSecretArn"]
        added = self.run_script("set-app-secret.sh", "wxsecond", "--secret-id", arn, stdin="s2\n")
        self.assertEqual(added.returncode, 0, added.stderr)
        self.deploy("wxlogin-old", "wxchanged", template=old)
        self.assertEqual(self.apps(arn), {"wxchanged": "REPLACE_WITH_THE_APP_SECRET"})


if __name__ == "__main__":
    unittest.main()
