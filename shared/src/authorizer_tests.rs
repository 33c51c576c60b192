//! The authorizer's simple response (payload format 2.0): the context of a valid access token,
//! `{"isAuthorized": false, "context": {}}` for every refusal, and never a panic on any event.

use crate::authorizer::{AdmittedApps, authorize};
use crate::clock::ManualClock;
use crate::config::TokenSettings;
use crate::domain::{AppId, OpenId, UserId};
use crate::gate::AccessGate;
use crate::store::InMemoryStore;
use crate::tokens::SigningAlgorithm;
use crate::tokens::issuer::AccessSubject;
use crate::tokens::{KeyDirectory, Keyring, PublishedKeys, TokenIssuer};
use serde_json::{Value, json};
use std::sync::Arc;

const NOW: u64 = 1_700_000_000;
const TTL: u64 = 7200;
const APPID: &str = "wx0123456789abcdef";
const OPENID: &str = "oAbCdEf-user-1";

struct Setup {
    gate: AccessGate<InMemoryStore>,
    ring: Keyring,
    clock: ManualClock,
    issuer: TokenIssuer,
    user_id: UserId,
    /// A good access token for `user_id`, phone bound.
    token: String,
}

async fn setup() -> Setup {
    let store = InMemoryStore::new();
    let ring = Keyring::generate(SigningAlgorithm::Rs256).unwrap();
    store.publish_keys(&PublishedKeys::of(&ring)).await.unwrap();
    let clock = ManualClock::at(NOW);
    let settings = TokenSettings {
        issuer: "iss".into(),
        audience: "aud".into(),
        access_ttl_secs: TTL,
        refresh_ttl_secs: 30 * 86400,
        refresh_max_lifetime_secs: 90 * 86400,
        bind_ttl_secs: 600,
        algorithm: SigningAlgorithm::Rs256,
    };
    let gate = AccessGate::load(store, &settings, Arc::new(clock.clone()))
        .await
        .unwrap();
    let issuer = TokenIssuer::new(settings);
    let user_id = UserId::new_random();
    let who = AccessSubject {
        user_id: &user_id,
        appid: &AppId::parse(APPID).unwrap(),
        openid: &OpenId::parse(OPENID).unwrap(),
        family_id: "f_family0001",
        phone_bound: true,
    };
    let token = issuer.access_token(&ring, &who, NOW).unwrap();
    Setup {
        gate,
        ring,
        clock,
        issuer,
        user_id,
        token,
    }
}

/// A payload-2.0 authorizer event with `Authorization: <value>` as its identity source.
fn event(authorization: &str) -> Value {
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:ap-east-1:123456789012:abc/$default/GET/me",
        "identitySource": [authorization],
        "routeKey": "GET /me",
        "headers": {"authorization": authorization},
        "requestContext": {"requestId": "req-1"},
    })
}

fn refusal() -> Value {
    json!({"isAuthorized": false, "context": {}})
}

/// A refusal exactly: two keys, `isAuthorized` false, `context` an empty object (not null).
fn assert_refused(response: &Value, what: &str) {
    assert_eq!(response, &refusal(), "{what}");
    assert!(
        response["context"]
            .as_object()
            .is_some_and(|c| c.is_empty()),
        "{what}"
    );
}

#[tokio::test]
async fn a_valid_token_is_authorized_with_exactly_the_four_context_keys() {
    let s = setup().await;
    let response = authorize(
        &s.gate,
        &AdmittedApps::default(),
        &event(&format!("Bearer {}", s.token)),
    )
    .await;
    assert_eq!(
        response,
        json!({
            "isAuthorized": true,
            "context": {
                "user_id": s.user_id.as_str(),
                "appid": APPID,
                "openid": OPENID,
                "phone_bound": true,
            }
        })
    );
    assert_eq!(response.as_object().unwrap().len(), 2);
    assert_eq!(response["context"].as_object().unwrap().len(), 4);
    assert!(response["context"]["phone_bound"].is_boolean());
}

#[tokio::test]
async fn the_token_is_taken_from_the_identity_source() {
    let s = setup().await;
    let mut ev = event(&format!("Bearer {}", s.token));
    ev.as_object_mut().unwrap().remove("headers");
    assert_eq!(
        authorize(&s.gate, &AdmittedApps::default(), &ev).await["isAuthorized"],
        true
    );
}

#[tokio::test]
async fn the_identity_source_wins_over_the_authorization_header() {
    let s = setup().await;
    let mut ev = event("Bearer not-a-token");
    ev["headers"]["authorization"] = json!(format!("Bearer {}", s.token));
    assert_refused(
        &authorize(&s.gate, &AdmittedApps::default(), &ev).await,
        "identitySource is read first",
    );
}

#[tokio::test]
async fn the_token_falls_back_to_the_authorization_header() {
    let s = setup().await;
    let good = format!("Bearer {}", s.token);
    for identity_source in [
        None,
        Some(json!([])),
        Some(json!([null])),
        Some(json!([123])),
    ] {
        let mut ev = event(&good);
        match identity_source.clone() {
            Some(v) => ev["identitySource"] = v,
            None => {
                ev.as_object_mut().unwrap().remove("identitySource");
            }
        }
        assert_eq!(
            authorize(&s.gate, &AdmittedApps::default(), &ev).await["isAuthorized"],
            true,
            "identitySource {identity_source:?}"
        );
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let s = setup().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = authorize(
            &s.gate,
            &AdmittedApps::default(),
            &event(&format!("{scheme} {}", s.token)),
        )
        .await;
        assert_eq!(response["isAuthorized"], true, "{scheme}");
    }
    let spaced = format!("  Bearer   {}  ", s.token);
    assert_eq!(
        authorize(&s.gate, &AdmittedApps::default(), &event(&spaced)).await["isAuthorized"],
        true
    );
}

#[tokio::test]
async fn a_missing_or_foreign_scheme_or_an_empty_value_is_refused() {
    let s = setup().await;
    assert_eq!(
        authorize(
            &s.gate,
            &AdmittedApps::default(),
            &event(&format!("Bearer {}", s.token))
        )
        .await["isAuthorized"],
        true,
        "control"
    );
    for value in [
        s.token.clone(),
        format!("Basic {}", s.token),
        format!("Token {}", s.token),
        format!("Bearer{}", s.token),
        format!("Bearer:{}", s.token),
        "Basic dXNlcjpwYXNz".to_owned(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Bearer    ".to_owned(),
        String::new(),
        " ".to_owned(),
    ] {
        assert_refused(
            &authorize(&s.gate, &AdmittedApps::default(), &event(&value)).await,
            &value,
        );
    }
}

#[tokio::test]
async fn every_bad_token_gets_the_same_refusal() {
    let s = setup().await;
    let appid = AppId::parse(APPID).unwrap();
    let openid = OpenId::parse(OPENID).unwrap();
    let bind = s
        .issuer
        .bind_token(&s.ring, &appid, &openid, None, NOW)
        .unwrap();
    let other_key = Keyring::generate(SigningAlgorithm::Rs256).unwrap();
    let foreign = s
        .issuer
        .access_token(
            &other_key,
            &AccessSubject {
                user_id: &s.user_id,
                appid: &appid,
                openid: &openid,
                family_id: "f_family0001",
                phone_bound: true,
            },
            NOW,
        )
        .unwrap();
    let mut tampered = s.token.clone();
    tampered.pop();
    tampered.push(if s.token.ends_with('A') { 'Q' } else { 'A' });
    let refresh = crate::tokens::refresh::mint("f_family0001").token;
    for token in [
        bind,
        foreign,
        tampered,
        refresh,
        "a.b.c".to_owned(),
        "x".repeat(8 * 1024),
    ] {
        assert_refused(
            &authorize(
                &s.gate,
                &AdmittedApps::default(),
                &event(&format!("Bearer {token}")),
            )
            .await,
            &token,
        );
    }
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let s = setup().await;
    let ev = event(&format!("Bearer {}", s.token));
    assert_eq!(
        authorize(&s.gate, &AdmittedApps::default(), &ev).await["isAuthorized"],
        true
    );
    s.clock.advance(TTL);
    assert_refused(
        &authorize(&s.gate, &AdmittedApps::default(), &ev).await,
        "expired",
    );
}

#[tokio::test]
async fn malformed_events_are_refused_without_a_panic() {
    let s = setup().await;
    let good = format!("Bearer {}", s.token);
    let events = [
        json!(null),
        json!([]),
        json!([good]),
        json!(42),
        json!(true),
        json!(good),
        json!({}),
        json!({"identitySource": good}),
        json!({"identitySource": {"0": good}}),
        json!({"identitySource": [123]}),
        json!({"identitySource": [null]}),
        json!({"identitySource": [[good]]}),
        json!({"identitySource": []}),
        json!({"headers": null}),
        json!({"headers": []}),
        json!({"headers": {"authorization": 123}}),
        json!({"headers": {"authorization": [good]}}),
        json!({"headers": {"authorization": null}}),
        json!({"requestContext": {"requestId": 7}, "identitySource": ["Bearer x"]}),
        json!({"requestContext": null, "identitySource": ["Bearer x"]}),
    ];
    for ev in events {
        assert_refused(
            &authorize(&s.gate, &AdmittedApps::default(), &ev).await,
            &ev.to_string(),
        );
    }
}

#[tokio::test]
async fn a_token_of_another_app_is_refused_by_an_authorizer_admitting_only_its_app() {
    // Before AUTHORIZER_APP_IDS, one issuer/audience for all appids let a token of app A
    // through app B's routes.
    let s = setup().await;
    let ev = event(&format!("Bearer {}", s.token));
    let other = AdmittedApps::new(vec!["wxfedcba9876543210".into()]);
    assert_refused(
        &authorize(&s.gate, &other, &ev).await,
        "token of another app",
    );
    let own = AdmittedApps::new(vec!["wxfedcba9876543210".into(), APPID.into()]);
    assert_eq!(authorize(&s.gate, &own, &ev).await["isAuthorized"], true);
}
