//! Warm verification cost of one access token, as the authorizer pays it on every request, and
//! the signing cost a login pays, for RS256 and EdDSA:
//! `cargo run --release -p wxlogin --example verify_bench` (scripts/bench.sh runs it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::Instant;
use wxlogin::clock::{Clock, SystemClock};
use wxlogin::config::TokenSettings;
use wxlogin::domain::{AppId, OpenId, UserId};
use wxlogin::tokens::TokenIssuer;
use wxlogin::tokens::issuer::AccessSubject;
use wxlogin::tokens::{Keyring, SigningAlgorithm, TokenVerifier};

fn main() {
    for algorithm in [SigningAlgorithm::Rs256, SigningAlgorithm::EdDsa] {
        bench(algorithm);
    }
}

fn bench(algorithm: SigningAlgorithm) {
    let ring = Keyring::generate(algorithm).unwrap();
    let now = SystemClock.now();
    let (user, app, openid) = (
        UserId::new_random(),
        AppId::parse("wxbench").unwrap(),
        OpenId::parse("obench").unwrap(),
    );
    let issuer = TokenIssuer::new(TokenSettings {
        issuer: "wxlogin".into(),
        audience: "wxlogin-api".into(),
        access_ttl_secs: 7200,
        refresh_ttl_secs: 86_400,
        refresh_max_lifetime_secs: 90 * 86400,
        bind_ttl_secs: 600,
        algorithm,
    });
    let who = AccessSubject {
        user_id: &user,
        appid: &app,
        openid: &openid,
        family_id: "f_bench",
        phone_bound: true,
    };
    let token = issuer.access_token(&ring, &who, now).unwrap();
    let verifier = TokenVerifier::new(
        ring.public.clone(),
        "wxlogin",
        "wxlogin-api",
        Arc::new(SystemClock),
    );
    assert!(verifier.verify_access(&token).is_ok());
    let alg = algorithm.jwa();
    let (median, min) = per_call_us(20_000, || verifier.verify_access(&token).is_ok());
    println!(
        "authorizer     warm verify per token, {alg:<5} (release, 20000 x 5): median {median:.1} us, min {min:.1} us   [target <= 30 us]"
    );
    let (median, min) = per_call_us(500, || issuer.access_token(&ring, &who, now).is_ok());
    println!(
        "signers        sign one access token, {alg:<5} (release, 500 x 5): median {median:.1} us, min {min:.1} us   [{} bytes]",
        token.len()
    );
}

/// Median and minimum microseconds per call of `f` over 5 rounds of `per_round` calls, after
/// a warm-up round.
fn per_call_us(per_round: u32, mut f: impl FnMut() -> bool) -> (f64, f64) {
    for _ in 0..per_round / 10 {
        std::hint::black_box(f());
    }
    let rounds = 5;
    let mut results = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..per_round {
            assert!(std::hint::black_box(f()));
        }
        results.push(started.elapsed().as_secs_f64() * 1e6 / f64::from(per_round));
    }
    results.sort_by(f64::total_cmp);
    (results[rounds / 2], results[0])
}
