//! The access gate over the in-memory key directory: cold start on an empty directory, the
//! rate-limited re-read on an unknown kid, and key rotation (previous key honoured, dropped
//! key refused).

use crate::clock::ManualClock;
use crate::config::TokenSettings;
use crate::domain::{AppId, OpenId, UserId};
use crate::gate::{AccessGate, RELOAD_MIN_INTERVAL_SECS};
use crate::store::InMemoryStore;
use crate::tokens::issuer::AccessSubject;
use crate::tokens::{
    KeyDirectory, Keyring, PublishedKeySource as _, PublishedKeys, TokenIssuer, VerifyError,
};
use std::sync::Arc;

const NOW: u64 = 1_700_000_000;
const TTL: u64 = 7200;

fn seed(c: char) -> String {
    c.to_string().repeat(40)
}

/// The keyring a signer holds after rotating to `current` (with `previous` still verifying).
fn ring(current: char, previous: Option<char>) -> Keyring {
    let secret = match previous {
        Some(p) => serde_json::json!({"current": seed(current), "previous": seed(p)}),
        None => serde_json::json!({"current": seed(current)}),
    };
    Keyring::from_secret_json(&secret.to_string()).unwrap()
}

fn issuer() -> TokenIssuer {
    TokenIssuer::new(TokenSettings {
        issuer: "iss".into(),
        audience: "aud".into(),
        access_ttl_secs: TTL,
        refresh_ttl_secs: 30 * 86400,
        refresh_max_lifetime_secs: 90 * 86400,
        bind_ttl_secs: 600,
        algorithm: crate::tokens::SigningAlgorithm::EdDsa,
    })
}

/// An access token signed with `ring`'s current key at `now`.
fn token(ring: &Keyring, now: u64) -> String {
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
    issuer().access_token(ring, &who, now).unwrap()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn publish(store: &InMemoryStore, ring: &Keyring) {
    store.publish_keys(&PublishedKeys::of(ring)).await.unwrap();
    let published = store.load_keys().await.unwrap().unwrap();
    assert_eq!(
        published.current_kid, ring.current.kid,
        "setup: the directory took the set"
    );
}

async fn gate(store: &InMemoryStore, clock: &ManualClock) -> AccessGate<InMemoryStore> {
    AccessGate::load(store.clone(), &issuer().settings, Arc::new(clock.clone()))
        .await
        .unwrap()
}

#[tokio::test]
async fn an_empty_directory_loads_without_error_and_refuses_every_token() {
    let store = InMemoryStore::new();
    let clock = ManualClock::at(NOW);
    let gate = gate(&store, &clock).await;
    assert!(gate.keys().is_empty());
    let k1 = ring('a', None);
    let t1 = token(&k1, NOW);
    // The first unknown kid re-reads the (still empty) directory; later ones do not; none errs.
    for _ in 0..3 {
        assert_eq!(
            gate.verify_access(&t1).await.unwrap_err(),
            VerifyError::UnknownKid
        );
    }
    assert_eq!(
        gate.verify_access("not.a.token").await.unwrap_err(),
        VerifyError::BadHeader
    );
    assert!(gate.keys().is_empty());
}

#[tokio::test]
async fn a_key_published_after_cold_start_is_picked_up_on_the_first_unknown_kid() {
    let store = InMemoryStore::new();
    let clock = ManualClock::at(NOW);
    let gate = gate(&store, &clock).await;
    let k1 = ring('a', None);
    publish(&store, &k1).await;
    let t1 = token(&k1, NOW);
    let claims = gate.verify_access(&t1).await.unwrap();
    assert_eq!(claims.exp, NOW + TTL);
    assert!(gate.keys().find(&k1.current.kid).is_some());
}

#[tokio::test]
async fn a_second_unknown_kid_within_the_reload_interval_does_not_re_read_the_directory() {
    let store = InMemoryStore::new();
    let clock = ManualClock::at(NOW);
    let gate = gate(&store, &clock).await;
    let k1 = ring('a', None);
    publish(&store, &k1).await;
    assert!(
        gate.verify_access(&token(&k1, NOW)).await.is_ok(),
        "first re-read"
    );

    // A rotation lands in the directory right after that re-read.
    let k2 = ring('b', Some('a'));
    publish(&store, &k2).await;
    let t2 = token(&k2, NOW);
    assert_ne!(kid_of(&t2), k1.current.kid);

    // Within the interval the gate does not look: the new kid stays unknown.
    assert_eq!(
        gate.verify_access(&t2).await.unwrap_err(),
        VerifyError::UnknownKid
    );
    clock.advance(RELOAD_MIN_INTERVAL_SECS - 1);
    assert_eq!(
        gate.verify_access(&t2).await.unwrap_err(),
        VerifyError::UnknownKid
    );
    assert!(gate.keys().find(&k2.current.kid).is_none());

    // Once the interval has passed, the next unknown kid re-reads and finds it.
    clock.advance(1);
    assert!(gate.verify_access(&t2).await.is_ok());
    assert!(gate.keys().find(&k2.current.kid).is_some());
}

#[tokio::test]
async fn a_forged_kid_spends_the_re_read_so_a_real_new_kid_waits_for_the_interval() {
    let store = InMemoryStore::new();
    let k1 = ring('a', None);
    publish(&store, &k1).await;
    let clock = ManualClock::at(NOW);
    let gate = gate(&store, &clock).await;
    let forged = token(&ring('z', None), NOW);
    assert_eq!(
        gate.verify_access(&forged).await.unwrap_err(),
        VerifyError::UnknownKid
    );
    let k2 = ring('b', Some('a'));
    publish(&store, &k2).await;
    let t2 = token(&k2, NOW);
    assert_eq!(
        gate.verify_access(&t2).await.unwrap_err(),
        VerifyError::UnknownKid
    );
    clock.advance(RELOAD_MIN_INTERVAL_SECS);
    assert!(gate.verify_access(&t2).await.is_ok());
}

#[tokio::test]
async fn tokens_signed_with_the_previous_key_keep_verifying_after_rotation_until_they_expire() {
    let store = InMemoryStore::new();
    let clock = ManualClock::at(NOW);
    let k1 = ring('a', None);
    publish(&store, &k1).await;
    let gate = gate(&store, &clock).await;
    let old = token(&k1, NOW);
    assert!(gate.verify_access(&old).await.is_ok());

    // Rotate: the signer now holds {current: b, previous: a} and publishes it.
    clock.advance(600);
    let k2 = ring('b', Some('a'));
    publish(&store, &k2).await;
    let new = token(&k2, NOW + 600);
    assert_eq!(kid_of(&new), k2.current.kid, "new tokens use the new kid");
    assert_ne!(kid_of(&new), kid_of(&old));

    // The new kid makes the gate re-read; the old token still verifies with the previous key.
    assert!(gate.verify_access(&new).await.is_ok());
    assert_eq!(gate.keys().public_keys().count(), 2);
    assert!(gate.verify_access(&old).await.is_ok());

    // Until it expires; the new one lives on.
    clock.advance(TTL - 600 - 1);
    assert!(gate.verify_access(&old).await.is_ok());
    clock.advance(1);
    assert_eq!(
        gate.verify_access(&old).await.unwrap_err(),
        VerifyError::Expired
    );
    assert!(gate.verify_access(&new).await.is_ok());
}

#[tokio::test]
async fn a_key_dropped_from_the_directory_two_rotations_later_is_refused_after_a_re_read() {
    let store = InMemoryStore::new();
    let clock = ManualClock::at(NOW);
    let k1 = ring('a', None);
    publish(&store, &k1).await;
    let gate = gate(&store, &clock).await;
    let t1 = token(&k1, NOW);
    assert!(gate.verify_access(&t1).await.is_ok());

    // Two rotations: {b, a} then {c, b}. Key a is no longer published.
    let k2 = ring('b', Some('a'));
    publish(&store, &k2).await;
    let k3 = ring('c', Some('b'));
    publish(&store, &k3).await;
    let published = store.load_keys().await.unwrap().unwrap();
    assert!(published.keys.iter().all(|k| k.kid != k1.current.kid));

    // A token with the newest kid makes the gate re-read the directory.
    let t3 = token(&k3, NOW);
    assert!(gate.verify_access(&t3).await.is_ok());
    assert!(gate.keys().find(&k1.current.kid).is_none());

    // The dropped key's token is refused, well before its own exp; the middle key still works.
    assert_eq!(
        gate.verify_access(&t1).await.unwrap_err(),
        VerifyError::UnknownKid
    );
    assert!(gate.verify_access(&token(&k2, NOW)).await.is_ok());
    // A later re-read (interval passed) does not bring it back.
    clock.advance(RELOAD_MIN_INTERVAL_SECS);
    assert_eq!(
        gate.verify_access(&t1).await.unwrap_err(),
        VerifyError::UnknownKid
    );
}

#[tokio::test]
async fn the_jwks_of_a_warm_instance_shows_a_rotation_within_the_bound() {
    // Before, the JWKS served the keys of the cold start for the instance's whole life.
    let store = InMemoryStore::new();
    let clock = ManualClock::at(NOW);
    let first = ring('a', None);
    publish(&store, &first).await;
    let gate = gate(&store, &clock).await;
    let kids = |set: crate::tokens::PublicKeySet| -> Vec<String> {
        set.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        kids(gate.published_keys().await),
        vec![first.current.kid.clone()]
    );
    let rotated = ring('b', Some('a'));
    publish(&store, &rotated).await;
    clock.advance(crate::gate::JWKS_MAX_AGE_SECS - 1);
    assert_eq!(
        kids(gate.published_keys().await),
        vec![first.current.kid.clone()],
        "inside the bound the held set is served (no read per request)"
    );
    clock.advance(1);
    let served = kids(gate.published_keys().await);
    assert!(served.contains(&rotated.current.kid), "{served:?}");
    assert!(
        served.contains(&first.current.kid),
        "the previous key stays published"
    );
}
