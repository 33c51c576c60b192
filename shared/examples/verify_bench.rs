//! Warm verification cost of one access token, as the authorizer pays it on every request:
//! `cargo run --release -p wxlogin --example verify_bench` (scripts/bench.sh runs it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::Instant;
use wxlogin::clock::{Clock, SystemClock};
use wxlogin::config::TokenSettings;
use wxlogin::domain::{AppId, OpenId, UserId};
use wxlogin::tokens::TokenIssuer;
use wxlogin::tokens::issuer::AccessSubject;
use wxlogin::tokens::{Keyring, TokenVerifier};

fn main() {
    let ring = Keyring::generate().unwrap();
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
    for _ in 0..2_000 {
        std::hint::black_box(verifier.verify_access(std::hint::black_box(&token)).is_ok());
    }
    let rounds = 5;
    let per_round = 20_000;
    let mut results = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..per_round {
            std::hint::black_box(verifier.verify_access(std::hint::black_box(&token)).is_ok());
        }
        results.push(started.elapsed().as_secs_f64() * 1e6 / per_round as f64);
    }
    results.sort_by(f64::total_cmp);
    println!(
        "authorizer     warm verify per token (release, {per_round} x {rounds}): median {:.1} us, min {:.1} us   [target <= 30 us]",
        results[rounds / 2],
        results[0]
    );
}
