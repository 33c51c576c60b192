//! Token decoding: `TokenVerifier::verify_access` / `verify_bind` on arbitrary strings with a
//! real two-key set, and `tokens::refresh::parse`. The verifier must accept exactly the
//! tokens signed here (byte for byte, with their claims) and nothing else; a verifier over
//! another key set accepts nothing; `refresh::parse` agrees with the format restated here.
//!
//! `@A` / `@B` in the input stand for an access / bind token the project's `TokenIssuer`
//! signed at start (random `jti`, so they cannot be in the corpus). The corpus carries fixed
//! tokens signed with the same keys; `WXLOGIN_FUZZ_PRINT_SEEDS=1` prints them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};
use wxlogin::clock::ManualClock;
use wxlogin::domain::{AppId, OpenId, UnionId, UserId};
use wxlogin::tokens::issuer::AccessSubject;
use wxlogin::tokens::verifier::MAX_TOKEN_LEN;
use wxlogin::tokens::{Keyring, TokenIssuer, TokenVerifier, VerifyError, refresh};
use wxlogin_fuzz::{
    CURRENT_SEED, PREVIOUS_SEED, SIGNING_SECRET_JSON, jwt_parts, replace_bytes, sign_with_seed,
};

const NOW: u64 = 1_700_000_000;

struct Setup {
    verifier: TokenVerifier,
    stranger: TokenVerifier,
    /// Every access token signed here, with its claims as JSON.
    access: Vec<(String, Value)>,
    bind: Vec<(String, Value)>,
    issued_access: String,
    issued_bind: String,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let ring = Keyring::from_secret_json(SIGNING_SECRET_JSON).expect("the fuzz keyring");
        let settings = wxlogin_fuzz::token_settings();
        let (iss, aud) = (settings.issuer.clone(), settings.audience.clone());
        let clock = Arc::new(ManualClock::at(NOW));
        let verifier = TokenVerifier::new(ring.public.clone(), &iss, &aud, clock.clone());
        let other = Keyring::from_secret_json(
            r#"{"current":"an-unrelated-seed-0123456789abcdefghijklmn"}"#,
        )
        .expect("another keyring");
        let stranger = TokenVerifier::new(other.public.clone(), &iss, &aud, clock);

        let current_kid = ring.current.kid.clone();
        let previous_kid = ring
            .public
            .public_keys()
            .map(|k| k.kid.clone())
            .find(|k| *k != current_kid)
            .expect("two keys");

        // The project's issuer signs one token of each kind (random jti); the fixed corpus
        // tokens reuse their header and claims with a fixed jti and sub, so they follow the
        // issuer's format and verify in every run.
        let issuer = TokenIssuer::new(settings);
        let user_id = UserId::new_random();
        let appid = AppId::parse("wx4f4bc4dec97d474b").expect("appid");
        let openid = OpenId::parse("oGZUI0egBJY1zhBYw2KhdUfwVJJE").expect("openid");
        let unionid = UnionId::parse("ocMvos6NjeKLIBqg5Mr9QjxrP1FA").expect("unionid");
        let who = AccessSubject {
            user_id: &user_id,
            appid: &appid,
            openid: &openid,
            family_id: "f_fuzzfamily0002",
            phone_bound: true,
        };
        let issued_access = issuer.access_token(&ring, &who, NOW).expect("access token");
        let issued_bind = issuer
            .bind_token(&ring, &appid, &openid, Some(&unionid), NOW)
            .expect("bind token");
        let (access_header, access_claims) = jwt_parts(&issued_access);
        let (bind_header, bind_claims) = jwt_parts(&issued_bind);
        let fixed = |claims: &Value, sub: Option<&str>, jti: &str| {
            let mut c = claims.clone();
            if let Some(sub) = sub {
                c["sub"] = json!(sub);
            }
            c["jti"] = json!(jti);
            c
        };
        let a0 = fixed(&access_claims, Some("u_fuzzuser0001"), "fuzzjti000001");
        let a1 = fixed(&access_claims, Some("u_fuzzuser0002"), "fuzzjti000002");
        let b0 = fixed(&bind_claims, None, "fuzzjti000003");
        let access = vec![
            (
                sign_with_seed(CURRENT_SEED, &access_header, &current_kid, &a0),
                a0,
            ),
            (
                sign_with_seed(PREVIOUS_SEED, &access_header, &previous_kid, &a1),
                a1,
            ),
            (issued_access.clone(), access_claims),
        ];
        let bind = vec![
            (
                sign_with_seed(CURRENT_SEED, &bind_header, &current_kid, &b0),
                b0,
            ),
            (issued_bind.clone(), bind_claims),
        ];

        // The harness is only worth running if the good tokens pass.
        for (token, claims) in &access {
            let got = verifier.verify_access(token).expect("a good access token");
            assert_eq!(&serde_json::to_value(got).expect("claims"), claims);
            assert!(
                verifier.verify_bind(token).is_err(),
                "an access token passed as bind"
            );
        }
        for (token, claims) in &bind {
            let got = verifier.verify_bind(token).expect("a good bind token");
            assert_eq!(&serde_json::to_value(got).expect("claims"), claims);
            assert!(
                verifier.verify_access(token).is_err(),
                "a bind token passed as access"
            );
        }
        if std::env::var_os("WXLOGIN_FUZZ_PRINT_SEEDS").is_some() {
            for (token, _) in [&access[0], &access[1], &bind[0]] {
                println!("{token}");
            }
        }
        Setup {
            verifier,
            stranger,
            access,
            bind,
            issued_access,
            issued_bind,
        }
    })
}

/// The refresh-token format, restated: `f_` + up to 38 of [A-Za-z0-9_], a dot, 43 base64url.
fn refresh_shape(token: &str) -> Option<(&str, &str)> {
    let dot = token.find('.')?;
    let (family, secret) = (&token[..dot], &token[dot + 1..]);
    let family_ok = family.starts_with("f_")
        && family.len() <= 40
        && family
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let secret_ok = secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (family_ok && secret_ok).then_some((family, secret))
}

fn check(s: &Setup, token: &str) {
    match s.verifier.verify_access(token) {
        Ok(claims) => {
            let known = s.access.iter().find(|(t, _)| t == token);
            let (_, expected) =
                known.unwrap_or_else(|| panic!("accepted a foreign access token {token:?}"));
            assert_eq!(&serde_json::to_value(claims).expect("claims"), expected);
        }
        Err(VerifyError::TooLong) => assert!(token.len() > MAX_TOKEN_LEN),
        Err(_) => assert!(
            !s.access.iter().any(|(t, _)| t == token),
            "refused our own access token"
        ),
    }
    match s.verifier.verify_bind(token) {
        Ok(claims) => {
            let known = s.bind.iter().find(|(t, _)| t == token);
            let (_, expected) =
                known.unwrap_or_else(|| panic!("accepted a foreign bind token {token:?}"));
            assert_eq!(&serde_json::to_value(claims).expect("claims"), expected);
        }
        Err(VerifyError::TooLong) => assert!(token.len() > MAX_TOKEN_LEN),
        Err(_) => assert!(
            !s.bind.iter().any(|(t, _)| t == token),
            "refused our own bind token"
        ),
    }
    if token.len() > MAX_TOKEN_LEN {
        assert_eq!(
            s.verifier.verify_access(token).map(|_| ()),
            Err(VerifyError::TooLong)
        );
    }
    assert!(
        s.stranger.verify_access(token).is_err(),
        "another key set accepted {token:?}"
    );
    assert!(
        s.stranger.verify_bind(token).is_err(),
        "another key set accepted {token:?}"
    );

    let parsed = refresh::parse(token);
    match (refresh_shape(token), &parsed) {
        (Some((family, secret)), Some(p)) => {
            assert_eq!(p.family_id, family);
            assert_eq!(
                p.secret_hash,
                wxlogin::crypto::sha256_hex(secret.as_bytes())
            );
            assert_eq!(p.secret_hash.len(), 64);
        }
        (None, None) => {}
        (shape, parsed) => panic!("refresh::parse disagrees: {shape:?} vs {parsed:?}"),
    }
    // A minted token for any family that parses, parses back to its hash.
    if let Some(p) = parsed {
        let minted = refresh::mint(&p.family_id);
        assert_eq!(
            refresh::parse(&minted.token).map(|q| q.secret_hash),
            Some(minted.secret_hash)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let s = setup();
    let data = replace_bytes(data, b"@A", s.issued_access.as_bytes());
    let data = replace_bytes(&data, b"@B", s.issued_bind.as_bytes());
    match std::str::from_utf8(&data) {
        Ok(token) => check(s, token),
        Err(_) => check(s, &String::from_utf8_lossy(&data)),
    }
});
