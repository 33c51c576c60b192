"""openapi.yaml against the running code: schemathesis generates requests for every operation of
the description and sends them to a local server (target/debug/wxlogin-local: the test command
builds it first); every answer must be no 5xx and conform to the description (a documented
status, its content type, its headers, its body schema). Bearer operations get a real access
token minted by the server itself (POST /auth/login), a fresh one per example, so that a
DELETE /auth/me or a logout in one example does not turn the rest into 401s; some examples
carry a phone-bound user's token, some none at all. Bounded and deterministic: a fixed seed,
MAX_EXAMPLES per operation, no shrinking. A second pass sends bodies that break the request
schemas (negative generation) and requires each to be refused with a 4xx.
Run from the repository root: .venv/bin/python tests/scripts/test_openapi.py
"""
import itertools
import json
import os
import sys
import unittest
import urllib.error
import urllib.request
from pathlib import Path

import hypothesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local_server import LocalServer

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi.yaml"
MAX_EXAMPLES = int(os.environ.get("OPENAPI_MAX_EXAMPLES", "25"))
NEGATIVE_EXAMPLES = int(os.environ.get("OPENAPI_NEGATIVE_EXAMPLES", "15"))
SEED = 20261202
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


class Tokens:
    """Fresh access tokens from the server's own login, each of its own user (the lenient fake
    WeChat's user is the code up to its first `-`: schema-1, schema2-1, schema3-1, …); every
    other one for a user with a phone bound in the same request (a lenient phone code's
    leading 11 digits are the number)."""

    def __init__(self, server):
        self.server = server
        self.counter = itertools.count(1)

    def fresh(self, with_phone=False):
        n = next(self.counter)
        body = {"code": "schema-1" if n == 1 else f"schema{n}-1"}
        if with_phone:
            body["phone_code"] = f"139{n:08d}p"
        answer = self.server.post("/auth/login", body)
        if answer.get("status") != "ok" or "phone_error" in answer:
            raise RuntimeError(f"login for a token failed: {answer}")
        return answer["access_token"]


def describe(case, response):
    body = case.body if not isinstance(case.body, schemathesis.core.NotSet) else None
    return (
        f"{case.method} {case.formatted_path} body={json.dumps(body, ensure_ascii=False)[:300]}"
        f" -> {response.status_code} {response.text[:300]}"
    )


class OpenApiConformance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The login and phone limits off: every example mints a token (the other limits,
        # SMS and password ones among them, stay as deployed and answer 429 when reached).
        cls.server = LocalServer(
            SIGNUP_MODE="openid", LIMIT_LOGIN_PER_ADDRESS="off", LIMIT_PHONE_PER_ADDRESS="off"
        )
        cls.tokens = Tokens(cls.server)
        # The one named in the brief, and proof that minting works before fuzzing starts.
        cls.tokens.fresh()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def exercise(self, mode, max_examples, with_body_only=False):
        """Runs every operation's generated (and, when positive, its documented example)
        requests; returns the figures, the status codes seen and the failures."""
        schema = schemathesis.openapi.from_path(str(SPEC))
        operations = [result.ok() for result in schema.get_all_operations()]
        checks = CHECKS + ([negative_data_rejection] if mode == GenerationMode.NEGATIVE else [])
        figures = {"operations": 0, "examples": 0}
        failures = []
        statuses = {}
        for operation in operations:
            if with_body_only and "requestBody" not in operation.definition.raw:
                continue
            figures["operations"] += 1
            secured = bool(operation.definition.raw.get("security"))
            seen = {"n": 0}

            strategies = [operation.as_strategy(generation_mode=mode)]
            if mode == GenerationMode.POSITIVE:
                strategies += list(schema.get_strategies_from_examples(operation))

            @settings(
                max_examples=max_examples,
                phases=[Phase.explicit, Phase.generate],
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                print_blob=False,
            )
            @hypothesis.seed(SEED)
            @given(case=st.one_of(strategies))
            def run(case):
                seen["n"] += 1
                headers = {}
                # Most examples of a bearer operation carry a live token, every fifth none;
                # every other token is a phone-bound user's.
                if secured and seen["n"] % 5 != 0:
                    token = self.tokens.fresh(with_phone=seen["n"] % 2 == 0)
                    headers["Authorization"] = f"Bearer {token}"
                response = case.call(base_url=self.server.base, headers=headers, timeout=30)
                key = f"{operation.method.upper()} {operation.path}"
                statuses.setdefault(key, set()).add(response.status_code)
                try:
                    case.validate_response(response, checks=checks, headers=headers)
                except (Failure, FailureGroup) as error:
                    found = error.exceptions if isinstance(error, FailureGroup) else [error]
                    detail = "\n    ".join(
                        f"{f.title}: {str(f.message)[:600]}" for f in found
                    )
                    failures.append(f"{describe(case, response)}\n    {detail}")

            run()
            figures["examples"] += seen["n"]
        return figures, statuses, failures

    def report(self, label, figures, statuses, failures):
        for key in sorted(statuses):
            print(f"  {key}: {sorted(statuses[key])}", file=sys.stderr)
        print(
            f"schemathesis {schemathesis.SCHEMATHESIS_VERSION}, {label}:"
            f" {figures['operations']} operations, {figures['examples']} examples,"
            f" {len(failures)} failures",
            file=sys.stderr,
        )
        for failure in failures[:40]:
            print("FAILURE " + failure, file=sys.stderr)
        if failures:
            self.fail(f"{len(failures)} answers break openapi.yaml (listed above)")

    def test_every_operation_conforms(self):
        """Valid requests (and each operation's documented example): no 5xx, every answer as
        documented."""
        self.report("positive", *self.exercise(GenerationMode.POSITIVE, MAX_EXAMPLES))

    def test_bodies_the_description_refuses_are_refused(self):
        """Bodies that break the request schemas (unknown fields: `additionalProperties:
        false`, wrong types, missing fields, two proofs at once): refused with a 4xx, never
        a 5xx, still answered as documented."""
        self.report(
            "negative bodies",
            *self.exercise(GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES, with_body_only=True),
        )

if __name__ == "__main__":
    unittest.main()
