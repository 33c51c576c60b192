"""Our tokens against what AWS documents for exchanging them for temporary AWS credentials: an IAM
OIDC identity provider with sts:AssumeRoleWithWebIdentity, and a Cognito identity pool with that
provider (GetId, then GetCredentialsForIdentity). `federation_problems` checks a token, the
discovery document and the JWKS against every requirement in PROBLEMS (each names where AWS says
it) and returns the ones broken; an access token of the local server breaks none, and a table of
altered tokens shows each check refusing exactly the token that breaks it. The server runs with an
https issuer, as a deployment does (TOKEN_ISSUER=https://<DomainName>), and is read on 127.0.0.1;
one more runs with its own base URL as issuer to follow the discovery document literally.

The recipe's snippets (README, "Temporary AWS credentials for the mini program") are SNIPPETS
below: their aws CLI calls are checked against botocore's service models (AWS's own API
descriptions, the same text as the API references: operation and parameter names, lengths,
patterns, unsigned operations, endpoints), the trust policy is evaluated on real access and bind
tokens, and the mini program's code runs under Node with a recording wx.request. When a README
carries the section, its code blocks must be these snippets.

AWS documents no maximum lifetime (exp - iat) for the web identity token itself; it documents a
5-minute allowance past exp (IAM and Cognito), so an expired token is one more than 5 minutes past.

Run from the repository root: .venv/bin/python tests/scripts/test_federation_claims.py
"""
import base64
import copy
import fnmatch
import json
import re
import shlex
import subprocess
import sys
import time
import unittest
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import botocore.session
import jwt
from botocore import xform_name
from botocore.validate import ParamValidator
from cryptography.hazmat.primitives.asymmetric import ec, rsa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_server import ROOT, LocalServer  # noqa: E402
from test_readme_languages import fenced_blocks  # noqa: E402

ISSUER = "https://api.example.cn"  # TokenIssuer of a deployment with DomainName=api.example.cn
AUDIENCE = "wxlogin-api"  # TokenAudience: the client ID registered with IAM
SKEW = 300

STS = "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html"
IAM_API = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html"
IAM_GUIDE = "https://docs.amazonaws.cn/IAM/latest/UserGuide/identity-providers-oidc.html"
IAM_SKEW = "https://docs.amazonaws.cn/IAM/latest/UserGuide/id_roles_providers_oidc.html"
COGNITO_OIDC = "https://docs.aws.amazon.com/cognito/latest/developerguide/open-id.html"
COGNITO_GETID = "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetId.html"
OIDC_DISCOVERY = "https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata"
OIDC_CORE = "https://openid.net/specs/openid-connect-core-1_0.html"
JWA_RSA_PRIVATE = "https://www.rfc-editor.org/rfc/rfc7518#section-6.3.2"
STS_ALGORITHMS = {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}  # STS, WebIdentityToken

PROBLEMS = {
    "malformed": ("not a JWS compact token with a JSON header and claims", STS),
    "issuer-not-https": ("the issuer (provider URL) must begin with https://", IAM_API),
    "issuer-port": ("the provider URL should not contain a port number", IAM_GUIDE),
    "issuer-query": ("a path is allowed; query parameters (and fragments) are not", IAM_GUIDE),
    "issuer-too-long": ("the provider URL is at most 255 characters", IAM_API),
    "provider-name-too-long": ("a Logins key (issuer minus https://): 128 at most", COGNITO_GETID),
    "iss-mismatch": ("iss must equal the discovery document's issuer exactly", OIDC_DISCOVERY),
    "jwks-uri-not-https": ("jwks_uri must use https", OIDC_DISCOVERY),
    "jwks-uri-not-under-issuer": ("jwks_uri under the issuer: one host, one certificate", IAM_API),
    "alg": ("signed with RSA (RS256/384/512) or ECDSA (ES256/384/512)", STS),
    "alg-not-in-discovery": ("the header alg is one the discovery document names", OIDC_DISCOVERY),
    "kid-missing": ("a kid header to pick the key from the JWKS", OIDC_CORE + "#Signing"),
    "kid-not-in-jwks": ("the kid names a key in the JWKS", OIDC_CORE + "#Signing"),
    "key-not-rsa": ("the key is RSA: Cognito verifies via an RSA public key", COGNITO_OIDC),
    "key-size": ("RSA-2048, what wxlogin publishes", ROOT / "README.md"),
    "jwks-private-material": ("the JWKS carries no private key members", JWA_RSA_PRIVATE),
    "signature": ("the signature verifies with the published key", STS),
    "aud-not-single-string": ("aud is one string: the client ID IAM and Cognito match", IAM_API),
    "aud": ("aud equals the client ID (TokenAudience)", COGNITO_OIDC),
    "client-id-too-long": ("a client ID is at most 255 characters", IAM_API),
    "azp": ("no azp, or azp equal to the client ID: Cognito checks azp first", COGNITO_OIDC),
    "sub-missing": ("sub is the user identifier STS returns", STS),
    "sub-length": ("SubjectFromWebIdentityToken is 6 to 255 characters", STS),
    "sub-personal-data": ("CloudTrail logs sub: no personal data (openid, phone)", STS),
    "timestamps-not-integers": ("iat and exp present, as integers", STS),
    "exp-not-after-iat": ("exp after iat", OIDC_CORE + "#IDToken"),
    "expired": ("exp at most 5 minutes past", IAM_SKEW),
    "token-too-long": ("WebIdentityToken is 4 to 20000 characters", STS),
}


def provider_name(issuer):
    """What IAM and Cognito call the provider: condition-key prefix, ARN suffix, Logins key."""
    return issuer[len("https://"):] if issuer.startswith("https://") else issuer


def unpadded_b64decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def federation_problems(token, discovery, jwks, audience, now=None):
    """The codes of PROBLEMS that the token, discovery document and JWKS break, in table order."""
    try:
        header_part, claims_part, _ = token.split(".")
        header = json.loads(unpadded_b64decode(header_part))
        claims = json.loads(unpadded_b64decode(claims_part))
    except ValueError:
        return ["malformed"]
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return ["malformed"]
    found = (
        issuer_problems(discovery, claims)
        | key_problems(token, header, discovery, jwks)
        | claim_problems(claims, audience, time.time() if now is None else now)
    )
    if not 4 <= len(token) <= 20000:
        found.add("token-too-long")
    return [code for code in PROBLEMS if code in found]


def issuer_problems(discovery, claims):
    issuer, jwks_uri = str(discovery.get("issuer", "")), str(discovery.get("jwks_uri", ""))
    parts, found = urlsplit(issuer), set()
    if parts.scheme != "https":
        found.add("issuer-not-https")
    if parts.port is not None:
        found.add("issuer-port")
    if parts.query or parts.fragment or "?" in issuer or "#" in issuer:
        found.add("issuer-query")
    if len(issuer) > 255:
        found.add("issuer-too-long")
    if len(provider_name(issuer)) > 128:
        found.add("provider-name-too-long")
    if claims.get("iss") != issuer:
        found.add("iss-mismatch")
    if urlsplit(jwks_uri).scheme != "https":
        found.add("jwks-uri-not-https")
    if not jwks_uri.startswith(issuer.rstrip("/") + "/"):
        found.add("jwks-uri-not-under-issuer")
    return found


def key_problems(token, header, discovery, jwks):
    alg, keys, found = header.get("alg"), jwks.get("keys", []), set()
    if alg not in STS_ALGORITHMS:
        found.add("alg")
    if alg not in discovery.get("id_token_signing_alg_values_supported", []):
        found.add("alg-not-in-discovery")
    if any(set(k) & {"d", "p", "q", "dp", "dq", "qi", "k"} for k in keys):
        found.add("jwks-private-material")
    if "kid" not in header:
        return found | {"kid-missing"}
    matching = [k for k in keys if k.get("kid") == header["kid"]]
    if not matching:
        return found | {"kid-not-in-jwks"}
    public = {k: matching[0][k] for k in ("kty", "n", "e") if k in matching[0]}
    try:
        if public.get("kty") != "RSA":
            raise ValueError(public.get("kty"))
        key = jwt.PyJWK(public, algorithm="RS256").key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError):
        return found | {"key-not-rsa"}
    if key.key_size != 2048:
        found.add("key-size")
    if alg in STS_ALGORITHMS:
        only_the_signature = {f"verify_{c}": False for c in ("exp", "iat", "nbf", "aud", "iss")}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
                jwt.decode(token, key, algorithms=[alg], options=only_the_signature)
        except jwt.DecodeError:  # InvalidSignatureError among them
            found.add("signature")
        except jwt.InvalidTokenError:
            pass  # a claim PyJWT checks on its own (sub, jti types): claim_problems names it
    return found


def claim_problems(claims, audience, now):
    aud, sub, found = claims.get("aud"), claims.get("sub"), set()
    if not isinstance(aud, str):
        found.add("aud-not-single-string")
    elif aud != audience:
        found.add("aud")
    if len(audience) > 255:
        found.add("client-id-too-long")
    if "azp" in claims and claims["azp"] != audience:
        found.add("azp")
    if not isinstance(sub, str):
        found.add("sub-missing")
    else:
        if not 6 <= len(sub) <= 255:
            found.add("sub-length")
        openid = claims.get("openid")
        if (openid and openid in sub) or re.search(r"1\d{10}", sub):
            found.add("sub-personal-data")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not all(type(t) is int for t in (iat, exp)):
        found.add("timestamps-not-integers")
    else:
        if exp <= iat:
            found.add("exp-not-after-iat")
        if exp + SKEW < now:
            found.add("expired")
    return found


# The recipe's snippets, in README order; both READMEs carry these blocks byte for byte.

PROVIDER_AND_ROLE_SH = """\
aws iam create-open-id-connect-provider \\
  --url https://api.example.cn \\
  --client-id-list wxlogin-api
aws iam create-role --role-name wxlogin-web-identity \\
  --assume-role-policy-document file://trust-policy.json"""

TRUST_POLICY_JSON = """\
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {"Federated": "arn:aws-cn:iam::123456789012:oidc-provider/api.example.cn"},
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {"StringEquals": {"api.example.cn:aud": "wxlogin-api"}}
    }
  ]
}"""

ASSUME_ROLE_SH = """\
aws sts assume-role-with-web-identity --region cn-north-1 \\
  --role-arn arn:aws-cn:iam::123456789012:role/wxlogin-web-identity \\
  --web-identity-token "$ACCESS_TOKEN" \\
  --role-session-name wxlogin"""

IDENTITY_POOL_SH = """\
aws cognito-identity create-identity-pool --region cn-north-1 \\
  --identity-pool-name wxlogin \\
  --no-allow-unauthenticated-identities \\
  --open-id-connect-provider-arns arn:aws-cn:iam::123456789012:oidc-provider/api.example.cn
aws cognito-identity set-identity-pool-roles --region cn-north-1 \\
  --identity-pool-id cn-north-1:00000000-0000-0000-0000-000000000000 \\
  --roles authenticated=arn:aws-cn:iam::123456789012:role/wxlogin-identity-pool"""

MINIPROGRAM_JS = """\
// A wxlogin access token -> temporary AWS credentials (Cognito identity pool, enhanced flow).
var REGION = 'cn-north-1';
var IDENTITY_POOL_ID = 'cn-north-1:00000000-0000-0000-0000-000000000000';
var PROVIDER = 'api.example.cn'; // TokenIssuer without https://

function cognito(action, body) {
  return new Promise(function (resolve, reject) {
    wx.request({
      url: 'https://cognito-identity.' + REGION + '.amazonaws.com.cn/',
      method: 'POST',
      header: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSCognitoIdentityService.' + action,
      },
      data: JSON.stringify(body),
      success: function (res) { (res.statusCode === 200 ? resolve : reject)(res.data); },
      fail: reject,
    });
  });
}

// Both calls are unsigned: no AWS key ships with the mini program.
function awsCredentials(accessToken) {
  var logins = {};
  logins[PROVIDER] = accessToken;
  return cognito('GetId', { IdentityPoolId: IDENTITY_POOL_ID, Logins: logins })
    .then(function (r) {
      return cognito('GetCredentialsForIdentity', { IdentityId: r.IdentityId, Logins: logins });
    })
    // Credentials: AccessKeyId, SecretKey, SessionToken, Expiration (epoch seconds).
    .then(function (r) { return r.Credentials; });
}"""

SNIPPETS = [
    ("sh", PROVIDER_AND_ROLE_SH),
    ("json", TRUST_POLICY_JSON),
    ("sh", ASSUME_ROLE_SH),
    ("sh", IDENTITY_POOL_SH),
    ("js", MINIPROGRAM_JS),
]
FILES = {"file://trust-policy.json": TRUST_POLICY_JSON}
SECTION_HEADINGS = {
    "README.md": "## Temporary AWS credentials for the mini program",
    "README.zh-CN.md": "## 小程序换取临时 AWS 凭证",
}

BOTOCORE = botocore.session.get_session()


def cli_calls(script, values):
    """[(service, operation, params, region)] of each `aws` command of a shell snippet, its
    arguments read as the CLI reads them (member names in kebab case, `--no-` for false, lists
    as words, maps as k=v), `file://` and `$VAR` arguments replaced from `values`."""
    calls = []
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        assert words[0] == "aws", line
        model = BOTOCORE.get_service_model(words[1])
        operation = next(n for n in model.operation_names if xform_name(n, "-") == words[2])
        shape = model.operation_model(operation).input_shape
        members = {xform_name(m, "-"): m for m in shape.members}
        params, region, args = {}, None, words[3:]
        while args:
            flag = args.pop(0)
            assert flag.startswith("--"), f"{line}: {flag}"
            name = flag[2:]
            taken = []
            while args and not args[0].startswith("--"):
                word = args.pop(0)
                taken.append(values.get(word, word))
            if name == "region":
                region = taken[0]
                continue
            negated = name.startswith("no-") and name not in members
            member = members.get(name[3:] if negated else name)
            assert member, f"{operation} has no parameter --{name}"
            kind = shape.members[member].type_name
            if kind == "boolean":
                params[member] = not negated
            elif kind == "list":
                params[member] = taken
            elif kind == "map":
                params[member] = dict(pair.split("=", 1) for pair in taken[0].split(","))
            else:
                (params[member],) = taken
        calls.append((words[1], operation, params, region))
    return calls


def beyond_botocore(value, shape, path):
    """What botocore's ParamValidator leaves unchecked: string maximum lengths and patterns, list
    and map sizes, through structures, lists and maps. [] when the value fits the model."""
    meta, kind, out = shape.metadata, shape.type_name, []
    if kind == "string":
        if len(value) > meta.get("max", len(value)):
            out.append(f"{path}: longer than {meta['max']}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            out.append(f"{path}: does not match {meta['pattern']}")
    elif kind == "structure":
        for name, item in value.items():
            out += beyond_botocore(item, shape.members[name], f"{path}.{name}")
    elif kind in ("list", "map"):
        if len(value) > meta.get("max", len(value)):
            out.append(f"{path}: more than {meta['max']} entries")
        if kind == "list":
            for i, item in enumerate(value):
                out += beyond_botocore(item, shape.member, f"{path}[{i}]")
        else:
            for key, item in value.items():
                out += beyond_botocore(key, shape.key, f"{path} key")
                out += beyond_botocore(item, shape.value, f"{path}[{key}]")
    return out


def evaluate_trust_policy(policy, claims, provider_arn):
    """Whether the policy lets a web identity token with these claims, from this IAM provider,
    assume the role: an Allow statement for sts:AssumeRoleWithWebIdentity whose every condition
    (StringEquals, StringLike on `<provider>:<claim>`) holds."""
    for statement in policy["Statement"]:
        actions = statement["Action"]
        actions = actions if isinstance(actions, list) else [actions]
        if statement["Effect"] != "Allow" or "sts:AssumeRoleWithWebIdentity" not in actions:
            continue
        if statement["Principal"].get("Federated") != provider_arn:
            continue
        holds = True
        for operator, tests in statement.get("Condition", {}).items():
            for key, wanted in tests.items():
                claim = claims.get(key.rsplit(":", 1)[1])
                wanted = wanted if isinstance(wanted, list) else [wanted]
                if operator == "StringEquals":
                    holds &= claim in wanted
                elif operator == "StringLike":
                    holds &= isinstance(claim, str) and any(
                        fnmatch.fnmatchcase(claim, w) for w in wanted
                    )
                else:
                    raise AssertionError(f"operator {operator} is not evaluated here")
        if holds:
            return True
    return False


def readme_section(text, heading):
    """The level-2 section that starts with `heading`, up to the next level-2 heading."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    if start is None:
        return None
    later = (i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    return "\n".join(lines[start:next(later, len(lines))])


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def jwk_of(private_key, kid, **members):
    module = jwt.algorithms.RSAAlgorithm if isinstance(private_key, rsa.RSAPrivateKey) else None
    module = module or jwt.algorithms.ECAlgorithm
    return dict(json.loads(module.to_jwk(private_key.public_key())), kid=kid, **members)


class FederationClaims(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = LocalServer(ISSUER, SIGNUP_MODE="phone", TOKEN_AUDIENCE=AUDIENCE)
        cls.slash = LocalServer(ISSUER + "/", TOKEN_AUDIENCE=AUDIENCE)
        cls.own_url = LocalServer(TOKEN_AUDIENCE=AUDIENCE)
        cls.eddsa = LocalServer(ISSUER, SIGNING_ALGORITHM="EdDSA", TOKEN_AUDIENCE=AUDIENCE)
        cls.logins = iter(range(1, 10_000))

    @classmethod
    def tearDownClass(cls):
        for server in (cls.server, cls.slash, cls.own_url, cls.eddsa):
            server.stop()

    def access_token(self, server):
        """A fresh access token of a new user, with a phone (phone mode signs up so)."""
        n = next(self.logins)
        answer = server.post("/auth/login", {"code": f"fed{n}-1", "phone_code": f"139{n:08d}p"})
        self.assertEqual(answer["status"], "ok", answer)
        return answer["access_token"]

    def bind_token(self):
        answer = self.server.post("/auth/login", {"code": f"fedbind{next(self.logins)}-1"})
        self.assertEqual(answer["status"], "phone_required", answer)
        return answer["bind_token"]

    @staticmethod
    def published(server):
        """(discovery document, JWKS) as AWS fetches them at the issuer's paths."""
        discovery = server.get("/.well-known/openid-configuration")
        return discovery, server.get(urlsplit(discovery["jwks_uri"]).path)

    def assertMeets(self, problems):
        why = (f"{code}: {PROBLEMS[code][0]} ({PROBLEMS[code][1]})" for code in problems)
        self.assertEqual(problems, [], "\n".join(why))

    # The tokens.

    def test_an_access_token_meets_every_documented_requirement(self):
        token = self.access_token(self.server)
        discovery, jwks = self.published(self.server)
        self.assertEqual(discovery["issuer"], ISSUER)
        self.assertMeets(federation_problems(token, discovery, jwks, AUDIENCE))
        self.assertEqual(provider_name(claims_of(token)["iss"]), "api.example.cn")
        self.assertTrue(claims_of(token)["sub"].startswith("u_"))

    def test_a_trailing_slash_in_the_issuer_is_kept_everywhere_and_nothing_doubles(self):
        token = self.access_token(self.slash)
        discovery, jwks = self.published(self.slash)
        self.assertEqual(discovery["issuer"], ISSUER + "/")
        self.assertEqual(discovery["jwks_uri"], ISSUER + "/.well-known/jwks.json")
        self.assertEqual(claims_of(token)["iss"], ISSUER + "/")
        self.assertMeets(federation_problems(token, discovery, jwks, AUDIENCE))

    def test_the_discovery_document_and_keys_are_where_the_issuer_says(self):
        # Followed literally, as IAM does: <issuer>/.well-known/openid-configuration, jwks_uri.
        server = self.own_url
        token = self.access_token(server)
        discovery = server.get_url(server.issuer + "/.well-known/openid-configuration")
        jwks = server.get_url(discovery["jwks_uri"])
        self.assertIn(jwt.get_unverified_header(token)["kid"], [k["kid"] for k in jwks["keys"]])
        # The signature checks out; an http://127.0.0.1:<port> issuer is just not one IAM takes.
        self.assertEqual(
            federation_problems(token, discovery, jwks, AUDIENCE),
            ["issuer-not-https", "issuer-port", "jwks-uri-not-https"],
        )

    def test_a_bind_token_carries_another_audience(self):
        token = self.bind_token()
        discovery, jwks = self.published(self.server)
        self.assertIn("aud", federation_problems(token, discovery, jwks, AUDIENCE))
        self.assertEqual(claims_of(token)["aud"], AUDIENCE + "/bind")

    def test_an_eddsa_deployment_cannot_federate(self):
        token = self.access_token(self.eddsa)
        discovery, jwks = self.published(self.eddsa)
        self.assertEqual(
            federation_problems(token, discovery, jwks, AUDIENCE), ["alg", "key-not-rsa"]
        )

    def test_each_requirement_refuses_the_token_that_breaks_it(self):
        # A baseline made from the server's token and discovery document, signed with a key of
        # this test so that it can be altered and signed again. Each case breaks one requirement
        # (or two that go together) and must be refused for exactly that.
        real = self.access_token(self.server)
        discovery, _ = self.published(self.server)
        header, claims = jwt.get_unverified_header(real), claims_of(real)
        kid, now = header["kid"], int(time.time())
        key, other = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in "kk")
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        jwk = jwk_of(key, kid, alg="RS256", use="sig")

        def at(issuer):
            jwks_uri = issuer.rstrip("/") + "/.well-known/jwks.json"
            return dict(discovery, issuer=issuer, jwks_uri=jwks_uri)

        def problems(claims_change=(), header_change=(), published=None, keys=None, signer=key,
                     algorithm="RS256", audience=AUDIENCE):
            c, h = dict(claims), {k: v for k, v in header.items() if k != "alg"}
            for target, change in ((c, dict(claims_change)), (h, dict(header_change))):
                for name, value in change.items():
                    target.pop(name) if value is None else target.__setitem__(name, value)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
                token = jwt.encode(c, signer, algorithm=algorithm, headers=h)
            jwks = {"keys": keys or [jwk]}
            return federation_problems(token, published or discovery, jwks, audience)

        long_issuer = ISSUER + "/" + "p" * 130
        longer_issuer = long_issuer + "p" * 120
        cases = [
            ("the baseline", problems(), []),
            ("an http issuer",
             problems({"iss": "http://api.example.cn"}, published=at("http://api.example.cn")),
             ["issuer-not-https", "jwks-uri-not-https"]),
            ("a port", problems({"iss": ISSUER + ":8443"}, published=at(ISSUER + ":8443")),
             ["issuer-port"]),
            ("a query",
             problems({"iss": ISSUER + "/?t"}, published=dict(discovery, issuer=ISSUER + "/?t")),
             ["issuer-query", "jwks-uri-not-under-issuer"]),
            ("a provider name over 128",
             problems({"iss": long_issuer}, published=at(long_issuer)),
             ["provider-name-too-long"]),
            ("a URL over 255", problems({"iss": longer_issuer}, published=at(longer_issuer)),
             ["issuer-too-long", "provider-name-too-long"]),
            ("iss with a slash the issuer lacks", problems({"iss": ISSUER + "/"}),
             ["iss-mismatch"]),
            ("keys on another host",
             problems(published=dict(discovery, jwks_uri="https://keys.example.cn/jwks")),
             ["jwks-uri-not-under-issuer"]),
            ("PS256", problems(algorithm="PS256"), ["alg", "alg-not-in-discovery"]),
            ("RS512, not in discovery", problems(algorithm="RS512"), ["alg-not-in-discovery"]),
            ("no kid", problems(header_change={"kid": None}), ["kid-missing"]),
            ("an unknown kid", problems(header_change={"kid": "elsewhere"}), ["kid-not-in-jwks"]),
            ("an EC key under the kid",
             problems(keys=[jwk_of(ec.generate_private_key(ec.SECP256R1()), kid)]),
             ["key-not-rsa"]),
            ("an RSA-1024 key", problems(keys=[jwk_of(small, kid)], signer=small), ["key-size"]),
            ("a private member", problems(keys=[dict(jwk, d="AQAB")]), ["jwks-private-material"]),
            ("another signer", problems(signer=other), ["signature"]),
            ("aud as a list", problems({"aud": [AUDIENCE]}), ["aud-not-single-string"]),
            ("another aud", problems({"aud": "someone-else"}), ["aud"]),
            ("a client ID of 256", problems({"aud": "a" * 256}, audience="a" * 256),
             ["client-id-too-long"]),
            ("an azp of its own", problems({"azp": claims["appid"]}), ["azp"]),
            ("azp equal to the client ID", problems({"azp": AUDIENCE}), []),
            ("no sub", problems({"sub": None}), ["sub-missing"]),
            ("a 5-character sub", problems({"sub": "u_abc"}), ["sub-length"]),
            ("a 256-character sub", problems({"sub": "u_" + "a" * 254}), ["sub-length"]),
            ("the openid as sub", problems({"sub": claims["openid"]}), ["sub-personal-data"]),
            ("a phone number in sub", problems({"sub": "u_13912345678"}), ["sub-personal-data"]),
            ("a float exp", problems({"exp": claims["exp"] + 0.5}), ["timestamps-not-integers"]),
            ("a string iat", problems({"iat": str(claims["iat"])}), ["timestamps-not-integers"]),
            ("no exp", problems({"exp": None}), ["timestamps-not-integers"]),
            ("exp before iat", problems({"iat": claims["exp"] + 1}), ["exp-not-after-iat"]),
            ("expired 6 minutes ago", problems({"iat": now - 7200, "exp": now - 360}),
             ["expired"]),
            ("expired 4 minutes ago: the skew", problems({"iat": now - 7200, "exp": now - 240}),
             []),
            ("over 20000 characters", problems({"pad": "x" * 15000}), ["token-too-long"]),
            ("not a JWS", federation_problems("not.a-token", discovery, {"keys": []}, AUDIENCE),
             ["malformed"]),
        ]
        for name, found, expected in cases:
            with self.subTest(name):
                self.assertEqual(found, expected)
        covered = {code for _, _, expected in cases for code in expected}
        self.assertEqual(covered, set(PROBLEMS), "every requirement has a case that breaks it")

    # The recipe's snippets.

    def test_the_cli_calls_are_valid_requests_that_name_the_issuer_and_audience(self):
        token = self.access_token(self.server)
        values = dict(FILES, **{"$ACCESS_TOKEN": token})
        calls = [c for info, text in SNIPPETS if info == "sh" for c in cli_calls(text, values)]
        self.assertEqual(
            [(service, operation) for service, operation, _, _ in calls],
            [("iam", "CreateOpenIDConnectProvider"), ("iam", "CreateRole"),
             ("sts", "AssumeRoleWithWebIdentity"), ("cognito-identity", "CreateIdentityPool"),
             ("cognito-identity", "SetIdentityPoolRoles")],
        )
        for service, operation, params, region in calls:
            with self.subTest(operation):
                shape = BOTOCORE.get_service_model(service).operation_model(operation).input_shape
                report = ParamValidator().validate(params, shape)
                self.assertFalse(report.has_errors(), report.generate_report())
                self.assertEqual(beyond_botocore(params, shape, operation), [])
                if region:
                    partition = BOTOCORE.get_partition_for_region(region)
                    self.assertIn(region, BOTOCORE.get_available_regions(service, partition))
        provider, role, assume, pool, roles = (params for _, _, params, _ in calls)
        arn = f"arn:aws-cn:iam::123456789012:oidc-provider/{provider_name(ISSUER)}"
        self.assertEqual(provider, {"Url": ISSUER, "ClientIDList": [AUDIENCE]})
        self.assertEqual(
            json.loads(role["AssumeRolePolicyDocument"])["Statement"][0]["Principal"],
            {"Federated": arn},
        )
        self.assertEqual(assume["RoleArn"], f"arn:aws-cn:iam::123456789012:role/{role['RoleName']}")
        self.assertEqual(assume["WebIdentityToken"], token)
        self.assertEqual(pool["OpenIdConnectProviderARNs"], [arn])
        self.assertFalse(pool["AllowUnauthenticatedIdentities"])
        self.assertTrue(roles["IdentityPoolId"].startswith(calls[4][3] + ":"))
        sts = BOTOCORE.get_service_model("sts").operation_model("AssumeRoleWithWebIdentity")
        self.assertEqual(sts.auth_type, "none", "STS takes the token without an AWS signature")

    def test_the_trust_policy_admits_access_tokens_and_refuses_bind_tokens(self):
        policy = json.loads(TRUST_POLICY_JSON)
        arn = policy["Statement"][0]["Principal"]["Federated"]
        self.assertTrue(arn.endswith(":oidc-provider/" + provider_name(ISSUER)), arn)
        keys = [k for s in policy["Statement"] for t in s["Condition"].values() for k in t]
        self.assertEqual(keys, [provider_name(ISSUER) + ":aud"], "the issuer host, no https://")
        access = claims_of(self.access_token(self.server))
        self.assertTrue(evaluate_trust_policy(policy, access, arn))
        self.assertFalse(evaluate_trust_policy(policy, claims_of(self.bind_token()), arn))
        self.assertFalse(evaluate_trust_policy(policy, access, arn.replace("example.cn", "other")))
        # The optional sub condition: a role for one user admits that user's tokens only.
        one_user = copy.deepcopy(policy)
        one_user["Statement"][0]["Condition"]["StringEquals"]["api.example.cn:sub"] = access["sub"]
        someone_else = claims_of(self.access_token(self.server))
        self.assertTrue(evaluate_trust_policy(one_user, access, arn))
        self.assertFalse(evaluate_trust_policy(one_user, someone_else, arn))

    def test_the_mini_program_sends_unsigned_cognito_requests_with_the_token_as_login(self):
        token = self.access_token(self.server)
        pool = "cn-north-1:11111111-2222-3333-4444-555555555555"
        harness = MINIPROGRAM_JS + """
var sent = [];
var answers = {
  GetId: { IdentityId: POOL },
  GetCredentialsForIdentity: { IdentityId: POOL, Credentials: {
    AccessKeyId: 'ASIAEXAMPLE', SecretKey: 'secret', SessionToken: 'session', Expiration: 1 } },
};
global.wx = { request: function (o) {
  sent.push({ url: o.url, method: o.method, header: o.header, data: o.data });
  o.success({ statusCode: 200, data: answers[o.header['x-amz-target'].split('.')[1]] });
} };
awsCredentials(process.argv[1]).then(function (c) {
  console.log(JSON.stringify({ sent: sent, credentials: c }));
});
""".replace("POOL", repr(pool))
        run = subprocess.run(["node", "-e", harness, token], capture_output=True, text=True,
                             timeout=30)
        self.assertEqual(run.returncode, 0, run.stderr)
        result = json.loads(run.stdout)
        model = BOTOCORE.get_service_model("cognito-identity")
        region = "cn-north-1"
        endpoint = BOTOCORE.create_client(
            "cognito-identity", region_name=region, aws_access_key_id="x", aws_secret_access_key="x"
        ).meta.endpoint_url
        self.assertEqual(len(result["sent"]), 2)
        for request, operation in zip(result["sent"], ["GetId", "GetCredentialsForIdentity"]):
            with self.subTest(operation):
                op = model.operation_model(operation)
                self.assertEqual(op.auth_type, "none", f"{operation} is a public API")
                self.assertEqual(request["url"], endpoint + "/")
                self.assertEqual(request["method"], "POST")
                self.assertEqual(request["header"], {
                    "content-type": "application/x-amz-json-" + model.metadata["jsonVersion"],
                    "x-amz-target": model.metadata["targetPrefix"] + "." + operation,
                })
                body = json.loads(request["data"])
                report = ParamValidator().validate(body, op.input_shape)
                self.assertFalse(report.has_errors(), report.generate_report())
                self.assertEqual(beyond_botocore(body, op.input_shape, operation), [])
                self.assertEqual(body["Logins"], {provider_name(ISSUER): token})
        first, second = (json.loads(r["data"]) for r in result["sent"])
        self.assertTrue(first["IdentityPoolId"].startswith(region + ":"))
        self.assertEqual(second["IdentityId"], pool)
        self.assertEqual(set(result["credentials"]), set(model.shape_for("Credentials").members))
        self.assertEqual(BOTOCORE.get_available_regions("cognito-identity", "aws-cn"), [region],
                         "identity pools in the China regions: Beijing only")

    def test_a_readme_with_the_section_carries_these_snippets(self):
        present = []
        for name, heading in SECTION_HEADINGS.items():
            section = readme_section((ROOT / name).read_text(encoding="utf-8"), heading)
            if section is not None:
                present.append(name)
                blocks = [(info, "\n".join(line for _, line in body))
                          for info, body, _ in fenced_blocks(section)]
                with self.subTest(name):
                    self.assertEqual(blocks, SNIPPETS)
        if not present:
            self.skipTest("neither README carries the federation section yet")


if __name__ == "__main__":
    unittest.main(verbosity=2)
