"""Tokens verified by a JWT library nobody here wrote: PyJWT (with its JWKS client) reads the
local server's discovery document, fetches the JWKS it names and verifies an access token with
the algorithm, audience and issuer pinned; it refuses a bind token (another audience and
type), an expired token, a token for another audience, and the token under another algorithm.
Starts two local servers (target/debug/wxlogin-local: the test command builds it first), one
per signup mode. Run from the repository root: .venv/bin/python tests/scripts/test_independent_verifiers.py
"""
import unittest

import jwt
from jwt import PyJWKClient

from local_server import LocalServer

AUDIENCE = "wxlogin-api"


class IndependentVerifiers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = LocalServer(SIGNUP_MODE="openid")
        cls.phone_server = LocalServer(SIGNUP_MODE="phone")
        cls.eddsa_server = LocalServer(SIGNUP_MODE="openid", SIGNING_ALGORITHM="EdDSA")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.phone_server.stop()
        cls.eddsa_server.stop()

    def discovered_key(self, server, token, algorithm="RS256"):
        document = server.get("/.well-known/openid-configuration")
        self.assertEqual(document["issuer"], server.issuer)
        self.assertEqual(document["jwks_uri"], server.base + "/.well-known/jwks.json")
        self.assertEqual(document["id_token_signing_alg_values_supported"], [algorithm])
        return PyJWKClient(document["jwks_uri"]).get_signing_key_from_jwt(token).key

    def decode(self, server, token, algorithm="RS256", **overrides):
        options = dict(
            algorithms=[algorithm],
            audience=AUDIENCE,
            issuer=server.issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        options.update(overrides)
        return jwt.decode(token, self.discovered_key(server, token, algorithm), **options)

    def test_an_access_token_verifies_with_the_discovered_keys(self):
        session = self.server.post("/auth/login", {"code": "pyjwt-1"})
        token = session["access_token"]
        claims = self.decode(self.server, token)
        self.assertEqual(claims["sub"], session["user"]["id"])
        self.assertEqual(jwt.get_unverified_header(token)["typ"], "at+jwt")

    def test_a_bind_token_is_refused_as_an_access_token(self):
        answer = self.phone_server.post("/auth/login", {"code": "pybind-1"})
        self.assertEqual(answer["status"], "phone_required")
        with self.assertRaises(jwt.InvalidAudienceError):
            self.decode(self.phone_server, answer["bind_token"])

    def test_an_expired_token_is_refused(self):
        token = self.server.post("/auth/login", {"code": "pyexp-1"})["access_token"]
        lifetime = jwt.decode(token, options={"verify_signature": False})
        ttl = lifetime["exp"] - lifetime["iat"]
        self.assertTrue(self.decode(self.server, token), "valid now")
        # A negative leeway moves PyJWT's clock past the expiry without waiting for it (the
        # `iat` check, which the same leeway would move, is left out of this one decode).
        with self.assertRaises(jwt.ExpiredSignatureError):
            self.decode(
                self.server,
                token,
                leeway=-(ttl + 1),
                options={"require": ["exp"], "verify_iat": False},
            )


    def test_another_audience_issuer_or_algorithm_is_refused(self):
        token = self.server.post("/auth/login", {"code": "pyaud-1"})["access_token"]
        with self.assertRaises(jwt.InvalidAudienceError):
            self.decode(self.server, token, audience="someone-else")
        with self.assertRaises(jwt.InvalidIssuerError):
            self.decode(self.server, token, issuer="https://elsewhere.example")
        for other in (["EdDSA"], ["RS512"], ["PS256"], ["HS256"]):
            with self.assertRaises(jwt.InvalidAlgorithmError):
                self.decode(self.server, token, algorithms=other)

    def test_the_default_key_is_rsa_2048_and_an_eddsa_deployment_verifies_under_eddsa(self):
        token = self.server.post("/auth/login", {"code": "pyrsa-1"})["access_token"]
        self.assertEqual(jwt.get_unverified_header(token)["alg"], "RS256")
        self.assertEqual(self.discovered_key(self.server, token).key_size, 2048)
        ed = self.eddsa_server.post("/auth/login", {"code": "pyed-1"})["access_token"]
        self.assertEqual(jwt.get_unverified_header(ed)["alg"], "EdDSA")
        self.assertTrue(self.decode(self.eddsa_server, ed, algorithm="EdDSA"))
        # Each deployment's verifier pins its own algorithm.
        with self.assertRaises(jwt.InvalidAlgorithmError):
            self.decode(self.eddsa_server, ed, algorithm="EdDSA", algorithms=["RS256"])

    def test_a_token_from_another_deployment_is_refused(self):
        # The phone-mode server signs with its own keys: this one's JWKS does not verify them.
        other = self.phone_server.post("/auth/login", {"code": "pyother-1"})["bind_token"]
        with self.assertRaises(jwt.PyJWKClientError):
            PyJWKClient(self.server.base + "/.well-known/jwks.json").get_signing_key_from_jwt(other)


if __name__ == "__main__":
    unittest.main(verbosity=2)
