//! Tokens an attacker or a buggy client would present (bad-inputs.md, Tokens), each paired with
//! what it tries. Built with the real signing key where only one detail should make it fail,
//! so a verifier that ignores that detail is caught.
// Test-support code: `Value` indexing below only ever writes keys of JSON objects built here.
#![allow(clippy::indexing_slicing)]

use crate::crypto::b64url;
use crate::tokens::{Keyring, PublicMaterial, SigningAlgorithm};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The claims of a valid access token for `sub`, valid until `exp`.
pub fn access_claims(issuer: &str, audience: &str, now: u64) -> Value {
    json!({
        "iss": issuer, "aud": audience, "sub": "u_hostile", "appid": "wxhostile", "openid": "ohostile",
        "iat": now, "exp": now + 600, "jti": "j", "token_use": "access", "sid": "f_hostile", "phone_bound": false
    })
}

fn signed(ring: &Keyring, header: &Header, claims: &Value) -> String {
    ring.current
        .sign_with_header_as_given(header, claims)
        .unwrap_or_default()
}

/// The header our issuer writes on access tokens.
fn ed_header(ring: &Keyring) -> Header {
    let mut h = Header::new(ring.current.algorithm().jose());
    h.typ = Some(crate::tokens::claims::ACCESS_TOKEN_TYPE.to_owned());
    h.kid = Some(ring.current.kid.clone());
    h
}

fn raw(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

/// A well-formed access token signed by `ring` (the control: it must be accepted).
pub fn valid(ring: &Keyring, issuer: &str, audience: &str, now: u64) -> String {
    signed(
        ring,
        &ed_header(ring),
        &access_claims(issuer, audience, now),
    )
}

/// Every hostile variant, by name.
pub fn all(ring: &Keyring, issuer: &str, audience: &str, now: u64) -> Vec<(&'static str, String)> {
    let good = access_claims(issuer, audience, now);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = good.clone();
        f(&mut c);
        signed(ring, &ed_header(ring), &c)
    };
    let header_with = |f: &dyn Fn(&mut Header)| {
        let mut h = ed_header(ring);
        f(&mut h);
        signed(ring, &h, &good)
    };
    let valid_token = valid(ring, issuer, audience, now);
    let parts: Vec<&str> = valid_token.split('.').collect();
    let (h64, p64, s64) = (
        parts.first().copied().unwrap_or(""),
        parts.get(1).copied().unwrap_or(""),
        parts.get(2).copied().unwrap_or(""),
    );
    // The public key's bytes as an HMAC secret: the classic algorithm-confusion forgery.
    let public_raw = match &ring.current.public.material {
        PublicMaterial::Ed25519 { x } => crate::crypto::b64url_decode(x),
        PublicMaterial::Rsa { n, .. } => crate::crypto::b64url_decode(n),
    }
    .unwrap_or_default();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(ring.current.kid.clone());
    let hs256 = jsonwebtoken::encode(&hs_header, &good, &EncodingKey::from_secret(&public_raw))
        .unwrap_or_default();
    // Signed by a stranger's key under our kid, once with our algorithm and once with the
    // other one (a verifier must pin the algorithm, not take it from the header).
    let under_our_kid = |algorithm: SigningAlgorithm| {
        Keyring::generate(algorithm)
            .ok()
            .map(|o| {
                let mut h = Header::new(algorithm.jose());
                h.typ = Some(crate::tokens::claims::ACCESS_TOKEN_TYPE.to_owned());
                h.kid = Some(ring.current.kid.clone());
                signed(&o, &h, &good)
            })
            .unwrap_or_default()
    };
    let ours = ring.current.algorithm();
    let foreign = under_our_kid(ours);
    let other_algorithm = under_our_kid(match ours {
        SigningAlgorithm::Rs256 => SigningAlgorithm::EdDsa,
        SigningAlgorithm::EdDsa => SigningAlgorithm::Rs256,
    });
    let tampered_sig = {
        let mut s: Vec<char> = s64.chars().collect();
        if let Some(c) = s.get_mut(5) {
            *c = if *c == 'A' { 'B' } else { 'A' };
        }
        format!("{h64}.{p64}.{}", s.into_iter().collect::<String>())
    };
    let mut other_sub = good.clone();
    other_sub["sub"] = json!("u_someone_else");
    let tampered_payload = format!("{h64}.{}.{s64}", b64url(other_sub.to_string().as_bytes()));
    let bind = with(&|c| c["token_use"] = json!("bind"));
    // If this fails to build, the "jwk header" token is valid and its refusal test fails.
    let jwk: Option<jsonwebtoken::jwk::Jwk> =
        serde_json::from_value(ring.current.public.jwk()).ok();
    vec![
        (
            "alg none, no signature",
            raw(&json!({"alg": "none", "kid": ring.current.kid}), &good, ""),
        ),
        (
            "alg none, with a signature",
            raw(&json!({"alg": "none", "kid": ring.current.kid}), &good, s64),
        ),
        ("HS256 keyed with our public key", hs256),
        (
            "alg header changed to HS256 over our signature",
            format!(
                "{}.{p64}.{s64}",
                b64url(
                    json!({"alg": "HS256", "kid": ring.current.kid, "typ": "JWT"})
                        .to_string()
                        .as_bytes()
                )
            ),
        ),
        (
            "typ JWT instead of at+jwt",
            header_with(&|h| h.typ = Some("JWT".into())),
        ),
        (
            "typ of a bind token",
            header_with(&|h| h.typ = Some(crate::tokens::claims::BIND_TOKEN_TYPE.into())),
        ),
        ("no typ", header_with(&|h| h.typ = None)),
        (
            "unknown kid",
            header_with(&|h| h.kid = Some("AAAAAAAAAAAAAAAA".into())),
        ),
        (
            "path-like kid",
            header_with(&|h| h.kid = Some("../../etc/passwd".into())),
        ),
        (
            "URL kid",
            header_with(&|h| h.kid = Some("https://evil.example/key".into())),
        ),
        ("no kid", header_with(&|h| h.kid = None)),
        (
            "jku header",
            header_with(&|h| h.jku = Some("https://evil.example/jwks.json".into())),
        ),
        (
            "x5u header",
            header_with(&|h| h.x5u = Some("https://evil.example/cert.pem".into())),
        ),
        ("jwk header", header_with(&|h| h.jwk = jwk.clone())),
        (
            "exp as a string",
            with(&|c| c["exp"] = json!((now + 600).to_string())),
        ),
        (
            "missing exp",
            with(&|c| drop(c.as_object_mut().map(|o| o.remove("exp")))),
        ),
        (
            "missing sub",
            with(&|c| drop(c.as_object_mut().map(|o| o.remove("sub")))),
        ),
        (
            "missing aud",
            with(&|c| drop(c.as_object_mut().map(|o| o.remove("aud")))),
        ),
        (
            "missing iss",
            with(&|c| drop(c.as_object_mut().map(|o| o.remove("iss")))),
        ),
        ("wrong iss", with(&|c| c["iss"] = json!("someone-else"))),
        ("wrong aud", with(&|c| c["aud"] = json!("another-api"))),
        ("bind token", bind),
        (
            "refresh token",
            format!("f_{}.{}", "a".repeat(26), "b".repeat(43)),
        ),
        (
            "expired",
            with(&|c| c["exp"] = json!(now.saturating_sub(1))),
        ),
        ("expiring exactly now", with(&|c| c["exp"] = json!(now))),
        ("tampered signature", tampered_sig),
        ("tampered payload", tampered_payload),
        ("signed by another key under our kid", foreign),
        (
            "signed with the other algorithm under our kid",
            other_algorithm,
        ),
        ("8 KiB token", with(&|c| c["pad"] = json!("x".repeat(8192)))),
        ("empty", String::new()),
        ("garbage with dots", "a.b.c".into()),
    ]
}
