//! The "Tokens" rows of bad-inputs.md against `TokenVerifier`: every bad token is refused, and
//! each test first shows that the untampered token from the same setup is accepted.

use super::algorithm::SigningAlgorithm;
use super::claims::TokenUse;
use super::issuer::{AccessSubject, TokenIssuer};
use super::keys::{Keyring, PublicKeySet};
use super::public_key::PublicMaterial;
use super::refresh;
use super::verifier::{MAX_TOKEN_LEN, TokenVerifier, VerifyError};
use crate::clock::ManualClock;
use crate::config::TokenSettings;
use crate::crypto::{b64url, b64url_decode};
use crate::domain::{AppId, OpenId, UserId};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::Arc;

const NOW: u64 = 1_700_000_000;
const TTL: u64 = 7200;
const ISS: &str = "https://login.example.com";
const AUD: &str = "wxlogin-api";

/// One keyring, one verifier over its public keys, one good access token and its claims.
struct Setup {
    ring: Keyring,
    clock: ManualClock,
    verifier: TokenVerifier,
    issuer: TokenIssuer,
    token: String,
    claims: Value,
}

/// The production default, RS256; the tests that depend on the algorithm also run `EdDsa`.
fn setup() -> Setup {
    setup_with(SigningAlgorithm::Rs256)
}

fn setup_with(algorithm: SigningAlgorithm) -> Setup {
    let ring = Keyring::generate(algorithm).unwrap();
    let clock = ManualClock::at(NOW);
    let verifier = TokenVerifier::new(ring.public.clone(), ISS, AUD, Arc::new(clock.clone()));
    let issuer = TokenIssuer::new(TokenSettings {
        issuer: ISS.into(),
        audience: AUD.into(),
        access_ttl_secs: TTL,
        refresh_ttl_secs: 30 * 86400,
        refresh_max_lifetime_secs: 90 * 86400,
        bind_ttl_secs: 600,
        algorithm,
    });
    let token = access_token(&issuer, &ring).unwrap();
    let claims = payload_of(&token);
    Setup {
        ring,
        clock,
        verifier,
        issuer,
        token,
        claims,
    }
}

/// An access token for a new user of one app, issued by `issuer` with `ring` at `NOW`.
fn access_token(issuer: &TokenIssuer, ring: &Keyring) -> Result<String, crate::error::AppError> {
    let user_id = UserId::new_random();
    let appid = AppId::parse("wx0123456789abcdef").unwrap();
    let openid = OpenId::parse("oAbCdEf-user-1").unwrap();
    let who = AccessSubject {
        user_id: &user_id,
        appid: &appid,
        openid: &openid,
        family_id: "f_family0001",
        phone_bound: false,
    };
    issuer.access_token(ring, &who, NOW)
}

impl Setup {
    /// The header our issuer writes: our algorithm, `typ` at+jwt, our kid.
    fn header(&self) -> Header {
        let mut header = Header::new(self.ring.current.algorithm().jose());
        header.typ = Some(super::claims::ACCESS_TOKEN_TYPE.into());
        header.kid = Some(self.ring.current.kid.clone());
        header
    }

    /// Signs any header and claims with our real private key.
    fn sign(&self, header: &Header, claims: &Value) -> String {
        self.ring
            .current
            .sign_with_header_as_given(header, claims)
            .unwrap()
    }

    /// The claims of the good token with one field set (or removed when `value` is None).
    fn claims_with(&self, field: &str, value: Option<Value>) -> Value {
        let mut claims = self.claims.clone();
        let map = claims.as_object_mut().unwrap();
        match value {
            Some(v) => map.insert(field.to_owned(), v),
            None => map.remove(field),
        };
        claims
    }

    fn refused(&self, token: &str) -> VerifyError {
        self.verifier.verify_access(token).unwrap_err()
    }

    /// The controls: the issued token verifies, and so does our own re-signing of its claims
    /// (so a refusal in the test is down to the one thing it changed).
    fn assert_controls_pass(&self) {
        let claims = self.verifier.verify_access(&self.token).unwrap();
        assert_eq!(claims.token_use, TokenUse::Access);
        let resigned = self.sign(&self.header(), &self.claims);
        assert!(self.verifier.verify_access(&resigned).is_ok());
    }
}

fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.');
    let (h, p, s) = (it.next(), it.next(), it.next());
    assert!(it.next().is_none(), "a JWS has three parts");
    (h.unwrap().into(), p.unwrap().into(), s.unwrap().into())
}

fn b64_json(value: &Value) -> String {
    b64url(value.to_string().as_bytes())
}

fn payload_of(token: &str) -> Value {
    let (_, payload, _) = parts(token);
    serde_json::from_slice(&b64url_decode(&payload).unwrap()).unwrap()
}

// ---- alg: none and algorithm confusion ----

#[test]
fn alg_none_with_an_empty_signature_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    let (_, payload, _) = parts(&s.token);
    for alg in ["none", "None", "NONE"] {
        let header = b64_json(&json!({"alg": alg, "typ": "JWT", "kid": s.ring.current.kid}));
        let forged = format!("{header}.{payload}.");
        assert_eq!(s.refused(&forged), VerifyError::BadHeader, "alg {alg}");
    }
}

#[test]
fn alg_none_carrying_the_original_signature_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    let (_, payload, signature) = parts(&s.token);
    let header = b64_json(&json!({"alg": "none", "typ": "JWT", "kid": s.ring.current.kid}));
    let forged = format!("{header}.{payload}.{signature}");
    assert_eq!(s.refused(&forged), VerifyError::BadHeader);
}

#[test]
fn hs256_signed_with_our_public_key_as_the_hmac_secret_is_refused() {
    for algorithm in [SigningAlgorithm::Rs256, SigningAlgorithm::EdDsa] {
        let s = setup_with(algorithm);
        s.assert_controls_pass();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(s.ring.current.kid.clone());
        let member = match &s.ring.current.public.material {
            PublicMaterial::Ed25519 { x } => x.clone(),
            PublicMaterial::Rsa { n, .. } => n.clone(),
        };
        let raw = b64url_decode(&member).unwrap();
        let jwk = s.ring.current.public.jwk().to_string();
        // The raw key bytes, the JWKS member's text and the whole JWK: every guess.
        for secret in [raw.as_slice(), member.as_bytes(), jwk.as_bytes()] {
            let forged =
                jsonwebtoken::encode(&header, &s.claims, &EncodingKey::from_secret(secret))
                    .unwrap();
            assert_eq!(s.refused(&forged), VerifyError::BadHeader, "{algorithm:?}");
        }
    }
}

#[test]
fn a_valid_signature_under_a_header_whose_alg_was_changed_is_refused() {
    for algorithm in [SigningAlgorithm::Rs256, SigningAlgorithm::EdDsa] {
        let s = setup_with(algorithm);
        s.assert_controls_pass();
        let (_, payload, signature) = parts(&s.token);
        let others = [
            "HS256", "RS256", "RS384", "RS512", "ES256", "PS256", "EdDSA", "eddsa", "rs256",
            "Ed25519", "",
        ];
        for alg in others.into_iter().filter(|a| *a != algorithm.jwa()) {
            let header = b64_json(&json!({"alg": alg, "typ": "JWT", "kid": s.ring.current.kid}));
            let forged = format!("{header}.{payload}.{signature}");
            assert_eq!(
                s.refused(&forged),
                VerifyError::BadHeader,
                "{algorithm:?}: alg {alg:?}"
            );
        }
    }
}

#[test]
fn a_verifier_pinned_to_one_algorithm_refuses_good_tokens_of_the_other() {
    let rsa = setup_with(SigningAlgorithm::Rs256);
    let ed = setup_with(SigningAlgorithm::EdDsa);
    rsa.assert_controls_pass();
    ed.assert_controls_pass();
    // A verifier holding both keys, pinned to RS256: the EdDSA token is refused by its header.
    let both = PublicKeySet::new(
        vec![
            rsa.ring.current.public.clone(),
            ed.ring.current.public.clone(),
        ],
        SigningAlgorithm::Rs256,
    )
    .unwrap();
    let pinned = TokenVerifier::new(both, ISS, AUD, Arc::new(rsa.clock.clone()));
    assert!(pinned.verify_access(&rsa.token).is_ok());
    assert_eq!(
        pinned.verify_access(&ed.token).unwrap_err(),
        VerifyError::BadHeader
    );
}

#[test]
fn an_issuer_configured_for_rs256_signs_nothing_with_an_ed25519_key() {
    let ed = setup_with(SigningAlgorithm::EdDsa);
    let mut settings = ed.issuer.settings.clone();
    settings.algorithm = SigningAlgorithm::Rs256;
    assert!(access_token(&TokenIssuer::new(settings), &ed.ring).is_err());
}

// ---- kid ----

#[test]
fn an_unknown_kid_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    let ours = s.ring.current.kid.clone();
    for kid in [
        "AAAAAAAAAAAAAAAA".to_owned(),
        ours.to_ascii_lowercase(),
        format!("{ours} "),
        format!("{ours}x"),
        ours[..15].to_owned(),
        String::new(),
    ] {
        if kid == ours {
            continue;
        }
        let mut header = s.header();
        header.kid = Some(kid.clone());
        assert_eq!(
            s.refused(&s.sign(&header, &s.claims)),
            VerifyError::UnknownKid,
            "kid {kid:?}"
        );
    }
}

#[test]
fn a_token_without_a_kid_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    let mut header = s.header();
    header.kid = None;
    assert_eq!(
        s.refused(&s.sign(&header, &s.claims)),
        VerifyError::UnknownKid
    );
}

#[test]
fn a_path_like_or_url_kid_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    for kid in [
        "../../etc/passwd",
        "/dev/null",
        "https://attacker.example/jwks.json",
        "file:///dev/null",
        "..\\..\\windows\\win.ini",
    ] {
        let mut header = s.header();
        header.kid = Some(kid.to_owned());
        assert_eq!(
            s.refused(&s.sign(&header, &s.claims)),
            VerifyError::UnknownKid,
            "kid {kid:?}"
        );
    }
}

// ---- headers that name a key ----

#[test]
fn a_jku_header_is_refused_even_on_a_correctly_signed_token() {
    let s = setup();
    s.assert_controls_pass();
    let mut header = s.header();
    header.jku = Some("https://attacker.example/jwks.json".into());
    assert_eq!(
        s.refused(&s.sign(&header, &s.claims)),
        VerifyError::BadHeader
    );
}

#[test]
fn an_x5u_header_is_refused_even_on_a_correctly_signed_token() {
    let s = setup();
    s.assert_controls_pass();
    let mut header = s.header();
    header.x5u = Some("https://attacker.example/cert.pem".into());
    assert_eq!(
        s.refused(&s.sign(&header, &s.claims)),
        VerifyError::BadHeader
    );
}

#[test]
fn a_jwk_header_is_refused_even_when_it_embeds_our_own_public_key() {
    let s = setup();
    s.assert_controls_pass();
    let ours: Jwk = serde_json::from_value(s.ring.public.jwks()["keys"][0].clone()).unwrap();
    let mut header = s.header();
    header.jwk = Some(ours);
    let token = s.sign(&header, &s.claims);
    // The header parses (so the refusal is the jwk rule, not a malformed header).
    assert!(jsonwebtoken::decode_header(&token).unwrap().jwk.is_some());
    assert_eq!(s.refused(&token), VerifyError::BadHeader);
}

#[test]
fn an_x5c_header_is_refused_even_on_a_correctly_signed_token() {
    let s = setup();
    s.assert_controls_pass();
    let mut header = s.header();
    header.x5c = Some(vec!["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA".into()]);
    assert_eq!(
        s.refused(&s.sign(&header, &s.claims)),
        VerifyError::BadHeader
    );
}

// ---- claims ----

#[test]
fn exp_given_as_a_string_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    let exp = (NOW + TTL).to_string();
    let claims = s.claims_with("exp", Some(json!(exp)));
    assert_eq!(
        s.refused(&s.sign(&s.header(), &claims)),
        VerifyError::Invalid
    );
}

#[test]
fn a_token_without_exp_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    let claims = s.claims_with("exp", None);
    assert_eq!(
        s.refused(&s.sign(&s.header(), &claims)),
        VerifyError::Invalid
    );
}

#[test]
fn a_token_without_sub_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    let claims = s.claims_with("sub", None);
    assert_eq!(
        s.refused(&s.sign(&s.header(), &claims)),
        VerifyError::Invalid
    );
}

#[test]
fn a_token_without_aud_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    let claims = s.claims_with("aud", None);
    assert_eq!(
        s.refused(&s.sign(&s.header(), &claims)),
        VerifyError::Invalid
    );
}

#[test]
fn a_token_without_iss_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    let claims = s.claims_with("iss", None);
    assert_eq!(
        s.refused(&s.sign(&s.header(), &claims)),
        VerifyError::Invalid
    );
}

#[test]
fn a_token_from_another_issuer_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    for iss in [json!("https://attacker.example"), json!(""), json!([ISS])] {
        let claims = s.claims_with("iss", Some(iss.clone()));
        assert_eq!(
            s.refused(&s.sign(&s.header(), &claims)),
            VerifyError::Invalid,
            "iss {iss}"
        );
    }
}

#[test]
fn a_token_for_another_audience_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    for aud in [json!("another-api"), json!(""), json!(["another-api"])] {
        let claims = s.claims_with("aud", Some(aud.clone()));
        assert_eq!(
            s.refused(&s.sign(&s.header(), &claims)),
            VerifyError::Invalid,
            "aud {aud}"
        );
    }
}

// ---- the wrong kind of token ----

#[test]
fn a_bind_token_is_refused_as_an_access_token() {
    let s = setup();
    s.assert_controls_pass();
    let appid = AppId::parse("wx0123456789abcdef").unwrap();
    let openid = OpenId::parse("oAbCdEf-user-1").unwrap();
    let bind = s
        .issuer
        .bind_token(&s.ring, &appid, &openid, None, NOW)
        .unwrap();
    assert!(
        s.verifier.verify_bind(&bind).is_ok(),
        "control: it is a good bind token"
    );
    assert!(s.verifier.verify_access(&bind).is_err());
}

#[test]
fn access_claims_marked_as_a_bind_token_are_refused_as_an_access_token() {
    let s = setup();
    s.assert_controls_pass();
    let claims = s.claims_with("token_use", Some(json!("bind")));
    assert_eq!(
        s.refused(&s.sign(&s.header(), &claims)),
        VerifyError::WrongType
    );
}

#[test]
fn an_access_token_is_refused_as_a_bind_token() {
    let s = setup();
    s.assert_controls_pass();
    assert_eq!(
        s.verifier.verify_bind(&s.token).unwrap_err(),
        VerifyError::WrongType
    );
}

#[test]
fn a_refresh_token_is_refused_as_an_access_token() {
    let s = setup();
    s.assert_controls_pass();
    let minted = refresh::mint(&refresh::new_family_id());
    assert!(
        refresh::parse(&minted.token).is_some(),
        "control: a good refresh token"
    );
    assert!(s.verifier.verify_access(&minted.token).is_err());
}

// ---- expiry ----

#[test]
fn a_token_is_accepted_until_the_second_before_it_expires() {
    let s = setup();
    s.clock.advance(TTL - 1);
    assert!(s.verifier.verify_access(&s.token).is_ok());
}

#[test]
fn a_token_is_refused_at_exactly_its_exp() {
    let s = setup();
    s.assert_controls_pass();
    s.clock.advance(TTL);
    assert_eq!(s.refused(&s.token), VerifyError::Expired);
}

#[test]
fn a_token_is_refused_after_it_expires() {
    let s = setup();
    s.assert_controls_pass();
    s.clock.advance(TTL + 1);
    assert_eq!(s.refused(&s.token), VerifyError::Expired);
    s.clock.advance(365 * 86400);
    assert_eq!(s.refused(&s.token), VerifyError::Expired);
}

// ---- tampering ----

#[test]
fn a_token_with_a_tampered_signature_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    let (header, payload, signature) = parts(&s.token);
    // Flip a character in the middle (the last one only carries a few significant bits).
    let mut sig: Vec<char> = signature.chars().collect();
    let mid = sig.len() / 2;
    sig[mid] = if sig[mid] == 'A' { 'B' } else { 'A' };
    let sig: String = sig.into_iter().collect();
    assert_ne!(sig, signature);
    assert_eq!(
        s.refused(&format!("{header}.{payload}.{sig}")),
        VerifyError::Invalid
    );
    // And a signature of the right length made of zeros.
    let zeros = b64url(&[0u8; 64]);
    assert_eq!(
        s.refused(&format!("{header}.{payload}.{zeros}")),
        VerifyError::Invalid
    );
}

#[test]
fn a_token_with_a_tampered_payload_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    let (header, _, signature) = parts(&s.token);
    let other = UserId::new_random();
    let claims = s.claims_with("sub", Some(json!(other.as_str())));
    let forged = format!("{header}.{}.{signature}", b64_json(&claims));
    assert_eq!(s.refused(&forged), VerifyError::Invalid);
}

#[test]
fn a_token_signed_by_another_key_that_claims_our_kid_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    let attacker = Keyring::generate(s.ring.current.algorithm()).unwrap();
    let forged = attacker
        .current
        .sign_with_header_as_given(&s.header(), &s.claims)
        .unwrap();
    assert_eq!(s.refused(&forged), VerifyError::Invalid);
}

// ---- size and shape ----

#[test]
fn an_8_kib_token_is_refused_before_parsing_even_when_correctly_signed() {
    let s = setup();
    s.assert_controls_pass();
    let padded = s.claims_with("pad", Some(json!("x".repeat(6 * 1024))));
    let big = s.sign(&s.header(), &padded);
    assert!(big.len() >= 8 * 1024);
    assert_eq!(s.refused(&big), VerifyError::TooLong);
    assert_eq!(s.refused(&"a".repeat(8 * 1024)), VerifyError::TooLong);
}

#[test]
fn the_size_limit_sits_at_max_token_len() {
    let s = setup();
    s.assert_controls_pass();
    // Grow an extra claim until the token crosses the limit: the last one under it verifies,
    // the first one over it does not.
    let mut last_under = None;
    let mut first_over = None;
    for n in 0..MAX_TOKEN_LEN {
        let token = s.sign(
            &s.header(),
            &s.claims_with("pad", Some(json!("x".repeat(n)))),
        );
        if token.len() <= MAX_TOKEN_LEN {
            last_under = Some(token);
        } else {
            first_over = Some(token);
            break;
        }
    }
    let (under, over) = (last_under.unwrap(), first_over.unwrap());
    assert!(under.len() > MAX_TOKEN_LEN - 4);
    assert!(s.verifier.verify_access(&under).is_ok());
    assert_eq!(s.refused(&over), VerifyError::TooLong);
}

#[test]
fn an_empty_token_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    for empty in ["", " ", "\n", "\0"] {
        assert_eq!(s.refused(empty), VerifyError::BadHeader, "{empty:?}");
    }
}

#[test]
fn garbage_with_dots_is_refused_without_a_panic() {
    let s = setup();
    s.assert_controls_pass();
    let (header, payload, signature) = parts(&s.token);
    for garbage in [
        ".".to_owned(),
        "..".to_owned(),
        "...".to_owned(),
        "a.b.c".to_owned(),
        "a.b.c.d".to_owned(),
        "ü.ü.ü".to_owned(),
        "%%%.%%%.%%%".to_owned(),
        "eyJ.eyJ.".to_owned(),
        b64_json(&json!("just a string")) + ".e30.",
        b64_json(&json!([1, 2, 3])) + ".e30.",
        format!("{header}.{payload}"),
        format!("{header}..{signature}"),
        format!(".{payload}.{signature}"),
        format!("{header}.{payload}.{signature}."),
        format!("{header}.{payload}.{signature}.{signature}"),
        format!("{header}.%%%.{signature}"),
        format!(" {}", s.token),
    ] {
        assert!(
            s.verifier.verify_access(&garbage).is_err(),
            "{garbage:?} was accepted"
        );
    }
}

#[test]
fn access_tokens_are_typed_at_jwt_and_a_plain_jwt_typ_is_refused() {
    let s = setup();
    s.assert_controls_pass();
    let header = jsonwebtoken::decode_header(&s.token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let mut plain = s.header();
    plain.typ = Some("JWT".into());
    assert_eq!(
        s.refused(&s.sign(&plain, &s.claims)),
        VerifyError::WrongType
    );
    plain.typ = None;
    assert_eq!(
        s.refused(&s.sign(&plain, &s.claims)),
        VerifyError::WrongType
    );
}

/// What a customer does with our JWKS and a generic JWT library: check signature, `iss` and
/// `aud` (and, with RFC 9068 in mind, `typ`). A bind token must fail that, not only our own
/// `token_use` check (before, it differed from an access token only by that private claim).
#[test]
fn a_generic_jwt_library_checking_aud_refuses_a_bind_token() {
    let s = setup();
    let bind = s
        .issuer
        .bind_token(
            &s.ring,
            &AppId::parse("wx0123456789abcdef").unwrap(),
            &OpenId::parse("oAbCdEf-user-1").unwrap(),
            None,
            NOW,
        )
        .unwrap();
    let header = jsonwebtoken::decode_header(&bind).unwrap();
    assert_eq!(header.typ.as_deref(), Some("wxlogin-bind+jwt"));
    let key = s.ring.public.find(&s.ring.current.kid).unwrap();
    let mut generic = jsonwebtoken::Validation::new(s.ring.current.algorithm().jose());
    generic.set_issuer(&[ISS]);
    generic.set_audience(&[AUD]);
    generic.validate_exp = false;
    assert!(
        jsonwebtoken::decode::<Value>(&s.token, key, &generic).is_ok(),
        "control"
    );
    assert!(jsonwebtoken::decode::<Value>(&bind, key, &generic).is_err());
    // Our verifier still takes it as what it is.
    assert!(s.verifier.verify_bind(&bind).is_ok());
    assert!(s.verifier.verify_access(&bind).is_err());
}
