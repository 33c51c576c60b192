//! A conformance suite for the `Store` port: every operation's documented semantics, checked
//! the same way against every implementation (in-memory here, DynamoDB on moto in the tests
//! crate). Each check makes its own random ids, so checks can share one table.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;
use crate::crypto::{random_bytes, random_id};
use crate::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};
use crate::tokens::{Keyring, PublishedKeys};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// A fixed "now" for the checks (2027-01-15); only relative times matter.
pub const NOW: u64 = 1_800_000_000;

/// Runs every check against `store`.
pub async fn run_all<S: Store>(store: &S) {
    login_code_claims(store).await;
    login_code_concurrent_claims(store).await;
    touch_openid_link(store).await;
    create_user(store).await;
    create_user_unionid(store).await;
    create_user_concurrent(store).await;
    unionid_links(store).await;
    link_openid(store).await;
    link_openid_phone_guard(store).await;
    sessions(store).await;
    session_expiry(store).await;
    start_session_family_collision(store).await;
    rotate_family(store).await;
    rotate_family_concurrent(store).await;
    revoke_family(store).await;
    user_version(store).await;
    create_user_phone(store).await;
    bind_phone(store).await;
    phone_code_claims(store).await;
    phone_code_concurrent_claims(store).await;
    end_all_sessions(store).await;
    start_session_without_key(store).await;
    published_keys(store).await;
    hit_counter(store).await;
    hit_counter_concurrent(store).await;
    read_counter(store).await;
    sms_code_attempts(store).await;
    sms_code_consume(store).await;
    sms_code_concurrent(store).await;
    set_password_hash(store).await;
    set_profile(store).await;
    create_user_profile_fields(store).await;
}

// ---- fresh ids -------------------------------------------------------------------------

pub fn app() -> AppId {
    AppId::parse(&format!("wx{}", random_id(10))).unwrap()
}

pub fn openid() -> OpenId {
    OpenId::parse(&format!("o_{}", random_id(16))).unwrap()
}

pub fn unionid() -> UnionId {
    UnionId::parse(&format!("un_{}", random_id(16))).unwrap()
}

pub fn phone() -> PhoneNumber {
    let digits: String = random_bytes::<8>()
        .iter()
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    PhoneNumber::from_parts("86", &format!("139{digits}")).unwrap()
}

fn user(phone: Option<PhoneNumber>) -> User {
    User {
        phone,
        ..User::new(UserId::new_random(), NOW)
    }
}

fn family(user_id: &UserId, appid: &AppId, openid: &OpenId, expires_at: u64) -> Family {
    Family {
        id: random_id(16),
        user_id: user_id.clone(),
        appid: appid.clone(),
        openid: openid.clone(),
        secret_hash: random_id(32),
        created_at: NOW,
        expires_at,
        revoked: false,
        retired: Vec::new(),
    }
}

fn session_key(appid: &AppId, openid: &OpenId, expires_at: u64) -> SessionKeyRecord {
    SessionKeyRecord {
        appid: appid.clone(),
        openid: openid.clone(),
        session_key: random_id(16),
        expires_at,
    }
}

/// Polls all futures concurrently on the current task (no spawning, so they may borrow).
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

// ---- login codes -----------------------------------------------------------------------

/// A code is Fresh once, Replayed until it expires, and Fresh again once `now >= expires_at`;
/// claims are per app.
pub async fn login_code_claims<S: Store>(store: &S) {
    let appid = app();
    let digest = random_id(32);
    let exp = NOW + 300;
    let claim =
        |now: u64, expires_at: u64| store.claim_login_code(&appid, &digest, now, expires_at);

    assert_eq!(claim(NOW, exp).await.unwrap(), CodeClaim::Fresh);
    assert_eq!(claim(NOW, exp).await.unwrap(), CodeClaim::Replayed);
    assert_eq!(
        claim(exp - 1, exp + 300).await.unwrap(),
        CodeClaim::Replayed
    );
    // Expired (`expires_at <= now`) counts as absent: the claim is fresh again, and renewed.
    assert_eq!(claim(exp, exp + 300).await.unwrap(), CodeClaim::Fresh);
    assert_eq!(
        claim(exp + 299, exp + 900).await.unwrap(),
        CodeClaim::Replayed
    );
    assert_eq!(claim(exp + 300, exp + 900).await.unwrap(), CodeClaim::Fresh);

    // The same digest in another app is another code.
    let other = app();
    assert_eq!(
        store
            .claim_login_code(&other, &digest, NOW, exp)
            .await
            .unwrap(),
        CodeClaim::Fresh
    );
}

/// Eight simultaneous claims of one code: exactly one is Fresh.
pub async fn login_code_concurrent_claims<S: Store>(store: &S) {
    let appid = app();
    let digest = random_id(32);
    let claims = join_all(
        (0..8)
            .map(|_| store.claim_login_code(&appid, &digest, NOW, NOW + 300))
            .collect(),
    )
    .await;
    let fresh = claims
        .into_iter()
        .map(Result::unwrap)
        .filter(|c| *c == CodeClaim::Fresh)
        .count();
    assert_eq!(fresh, 1, "exactly one concurrent claim is fresh");
}

// ---- openid links ----------------------------------------------------------------------

/// `touch_openid_link`: None for an unknown openid (and creates nothing); after
/// `create_user` it finds the user; a unionid is recorded once and never erased.
pub async fn touch_openid_link<S: Store>(store: &S) {
    let (appid, oid, u1, u2) = (app(), openid(), unionid(), unionid());
    assert_eq!(
        store
            .touch_openid_link(&appid, &oid, Some(&u1), NOW)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .touch_openid_link(&appid, &oid, None, NOW)
            .await
            .unwrap(),
        None,
        "touching an unknown openid creates nothing"
    );

    let p = phone();
    let u = user(Some(p.clone()));
    assert_eq!(
        store.create_user(&u, &appid, &oid, None).await.unwrap(),
        CreateUserOutcome::Created
    );
    let linked = |had_unionid| LinkedUser {
        user_id: u.id.clone(),
        phone: Some(p.clone()),
        had_unionid,
    };
    assert_eq!(
        store
            .touch_openid_link(&appid, &oid, None, NOW + 1)
            .await
            .unwrap(),
        Some(linked(false))
    );
    assert_eq!(
        store
            .touch_openid_link(&appid, &oid, Some(&u1), NOW + 2)
            .await
            .unwrap(),
        Some(linked(false)),
        "had_unionid reports the state before this login"
    );
    assert_eq!(
        store
            .touch_openid_link(&appid, &oid, None, NOW + 3)
            .await
            .unwrap(),
        Some(linked(true)),
        "a later touch without a unionid does not erase it"
    );
    assert_eq!(
        store
            .touch_openid_link(&appid, &oid, Some(&u2), NOW + 4)
            .await
            .unwrap(),
        Some(linked(true))
    );
    assert_eq!(
        store
            .touch_openid_link(&appid, &oid, None, NOW + 5)
            .await
            .unwrap(),
        Some(linked(true))
    );
    // touch records the login on the link only: it never links unionids to users.
    assert_eq!(store.find_unionid_user(&u1).await.unwrap(), None);
    assert_eq!(store.find_unionid_user(&u2).await.unwrap(), None);

    // The link is per app.
    assert_eq!(
        store
            .touch_openid_link(&app(), &oid, None, NOW)
            .await
            .unwrap(),
        None
    );
}

// ---- users -----------------------------------------------------------------------------

/// `create_user` then `get_user`; a second user for the same (appid, openid) is refused and
/// leaves nothing behind; the same openid in another app is another identity.
pub async fn create_user<S: Store>(store: &S) {
    let (appid, oid) = (app(), openid());
    assert_eq!(store.get_user(&UserId::new_random()).await.unwrap(), None);

    let first = user(None);
    assert_eq!(
        store.create_user(&first, &appid, &oid, None).await.unwrap(),
        CreateUserOutcome::Created
    );
    let stored = store.get_user(&first.id).await.unwrap().unwrap();
    let mut expected = first.clone();
    expected.openids.insert(appid.clone(), oid.clone());
    assert_eq!(
        stored, expected,
        "get_user returns the user with its openid"
    );

    let second = user(Some(phone()));
    assert_eq!(
        store
            .create_user(&second, &appid, &oid, None)
            .await
            .unwrap(),
        CreateUserOutcome::OpenIdTaken
    );
    assert_eq!(store.get_user(&second.id).await.unwrap(), None);
    // ...also when the loser brings a unionid: no unionid link is left behind either.
    let u = unionid();
    assert_eq!(
        store
            .create_user(&second, &appid, &oid, Some(&u))
            .await
            .unwrap(),
        CreateUserOutcome::OpenIdTaken
    );
    assert_eq!(store.get_user(&second.id).await.unwrap(), None);
    assert_eq!(store.find_unionid_user(&u).await.unwrap(), None);
    let linked = store
        .touch_openid_link(&appid, &oid, None, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(linked.user_id, first.id, "the first owner keeps the openid");

    // Same openid string, another app: a separate identity.
    let other_app = app();
    assert_eq!(
        store
            .create_user(&second, &other_app, &oid, None)
            .await
            .unwrap(),
        CreateUserOutcome::Created
    );
    let stored = store.get_user(&second.id).await.unwrap().unwrap();
    assert_eq!(stored.phone, second.phone);
    assert_eq!(
        stored.openids.into_iter().collect::<Vec<_>>(),
        vec![(other_app, oid)]
    );
}

/// `create_user` with a unionid links it; another openid with the same unionid is refused
/// (`UnionIdTaken`) without a user or an openid link left behind.
pub async fn create_user_unionid<S: Store>(store: &S) {
    let (appid, oid, u) = (app(), openid(), unionid());
    let first = user(None);
    assert_eq!(
        store
            .create_user(&first, &appid, &oid, Some(&u))
            .await
            .unwrap(),
        CreateUserOutcome::Created
    );
    assert_eq!(store.find_unionid_user(&u).await.unwrap(), Some(first.id));
    assert_eq!(
        store
            .touch_openid_link(&appid, &oid, None, NOW)
            .await
            .unwrap()
            .map(|l| l.had_unionid),
        Some(true),
        "create_user records the unionid on the link"
    );

    let (other_app, other_oid) = (app(), openid());
    let second = user(None);
    assert_eq!(
        store
            .create_user(&second, &other_app, &other_oid, Some(&u))
            .await
            .unwrap(),
        CreateUserOutcome::UnionIdTaken
    );
    assert_eq!(store.get_user(&second.id).await.unwrap(), None);
    assert_eq!(
        store
            .touch_openid_link(&other_app, &other_oid, None, NOW)
            .await
            .unwrap(),
        None,
        "a refused create_user leaves no openid link"
    );
}

/// Eight simultaneous first logins of one openid with different user ids: one Created, the
/// others OpenIdTaken, one user.
pub async fn create_user_concurrent<S: Store>(store: &S) {
    let (appid, oid) = (app(), openid());
    let users: Vec<User> = (0..8).map(|_| user(None)).collect();
    let outcomes: Vec<CreateUserOutcome> = join_all(
        users
            .iter()
            .map(|u| store.create_user(u, &appid, &oid, None))
            .collect(),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    let created: Vec<&User> = users
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o == CreateUserOutcome::Created)
        .map(|(u, _)| u)
        .collect();
    assert_eq!(created.len(), 1, "exactly one Created: {outcomes:?}");
    assert!(
        outcomes
            .iter()
            .filter(|o| **o != CreateUserOutcome::Created)
            .all(|o| *o == CreateUserOutcome::OpenIdTaken),
        "the others are OpenIdTaken: {outcomes:?}"
    );
    let winner = created[0];
    for u in &users {
        let stored = store.get_user(&u.id).await.unwrap();
        assert_eq!(
            stored.is_some(),
            u.id == winner.id,
            "only the winner exists"
        );
    }
    let linked = store
        .touch_openid_link(&appid, &oid, None, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(linked.user_id, winner.id);
}

/// `find_unionid_user` and `put_unionid_link_if_absent`, which never overwrites.
pub async fn unionid_links<S: Store>(store: &S) {
    let u = unionid();
    let (a, b) = (UserId::new_random(), UserId::new_random());
    assert_eq!(store.find_unionid_user(&u).await.unwrap(), None);
    store.put_unionid_link_if_absent(&u, &a).await.unwrap();
    assert_eq!(store.find_unionid_user(&u).await.unwrap(), Some(a.clone()));
    store.put_unionid_link_if_absent(&u, &b).await.unwrap();
    assert_eq!(
        store.find_unionid_user(&u).await.unwrap(),
        Some(a),
        "an existing unionid link is not overwritten"
    );

    // Nor one made by create_user.
    let (u2, owner) = (unionid(), user(None));
    assert_eq!(
        store
            .create_user(&owner, &app(), &openid(), Some(&u2))
            .await
            .unwrap(),
        CreateUserOutcome::Created
    );
    store.put_unionid_link_if_absent(&u2, &b).await.unwrap();
    assert_eq!(store.find_unionid_user(&u2).await.unwrap(), Some(owner.id));
}

/// `link_openid`: Linked (user gains the app, link records the unionid), OpenIdTaken,
/// UserHasOtherOpenId (also with a stale read), UserChanged for a missing user; refusals
/// write nothing.
pub async fn link_openid<S: Store>(store: &S) {
    let (app1, app2) = (app(), app());
    let (oid1, oid2) = (openid(), openid());
    let owner = user(None);
    assert_eq!(
        store.create_user(&owner, &app1, &oid1, None).await.unwrap(),
        CreateUserOutcome::Created
    );
    let read = store.get_user(&owner.id).await.unwrap().unwrap();

    let u = unionid();
    assert_eq!(
        store
            .link_openid(&read, &app2, &oid2, Some(&u), NOW + 10)
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
    let after = store.get_user(&owner.id).await.unwrap().unwrap();
    assert_eq!(after.openids.get(&app1), Some(&oid1));
    assert_eq!(after.openids.get(&app2), Some(&oid2));
    assert_eq!(after.openids.len(), 2);
    assert_eq!(after.phone, None);
    assert_eq!(
        store
            .touch_openid_link(&app2, &oid2, None, NOW + 11)
            .await
            .unwrap(),
        Some(LinkedUser {
            user_id: owner.id.clone(),
            phone: None,
            had_unionid: true,
        }),
        "the new link points at the user and records the unionid"
    );
    // The unionid link item is the caller's business.
    assert_eq!(store.find_unionid_user(&u).await.unwrap(), None);

    // The openid is someone's already (here: owner's own).
    let other = user(None);
    assert_eq!(
        store
            .create_user(&other, &app(), &openid(), None)
            .await
            .unwrap(),
        CreateUserOutcome::Created
    );
    let other_read = store.get_user(&other.id).await.unwrap().unwrap();
    assert_eq!(
        store
            .link_openid(&other_read, &app2, &oid2, None, NOW + 12)
            .await
            .unwrap(),
        LinkOutcome::OpenIdTaken
    );
    assert!(
        !store
            .get_user(&other.id)
            .await
            .unwrap()
            .unwrap()
            .openids
            .contains_key(&app2)
    );

    // The user already has another openid for that app: with a fresh read...
    let oid3 = openid();
    assert_eq!(
        store
            .link_openid(&after, &app2, &oid3, None, NOW + 13)
            .await
            .unwrap(),
        LinkOutcome::UserHasOtherOpenId
    );
    // ...and with a stale one that predates the first link.
    assert_eq!(
        store
            .link_openid(&read, &app2, &oid3, None, NOW + 14)
            .await
            .unwrap(),
        LinkOutcome::UserHasOtherOpenId
    );
    assert_eq!(
        store
            .touch_openid_link(&app2, &oid3, None, NOW + 15)
            .await
            .unwrap(),
        None,
        "a refused link writes no link item"
    );
    assert_eq!(
        store
            .get_user(&owner.id)
            .await
            .unwrap()
            .unwrap()
            .openids
            .get(&app2),
        Some(&oid2)
    );

    // A user that does not exist (deleted, or never created).
    let ghost = user(None);
    let (app4, oid4) = (app(), openid());
    assert_eq!(
        store
            .link_openid(&ghost, &app4, &oid4, None, NOW + 16)
            .await
            .unwrap(),
        LinkOutcome::UserChanged
    );
    assert_eq!(store.get_user(&ghost.id).await.unwrap(), None);
    assert_eq!(
        store
            .touch_openid_link(&app4, &oid4, None, NOW + 17)
            .await
            .unwrap(),
        None
    );
}

/// `link_openid` requires the user's phone unchanged since read: a read with a phone the
/// stored user lacks, without the phone it has, or with another phone is `UserChanged` and
/// writes nothing; a matching phone links and the link carries the phone.
pub async fn link_openid_phone_guard<S: Store>(store: &S) {
    // Stored user without a phone, read claims one.
    let owner = user(None);
    assert_eq!(
        store
            .create_user(&owner, &app(), &openid(), None)
            .await
            .unwrap(),
        CreateUserOutcome::Created
    );
    let mut forged = store.get_user(&owner.id).await.unwrap().unwrap();
    forged.phone = Some(phone());
    let (app2, oid2) = (app(), openid());
    assert_eq!(
        store
            .link_openid(&forged, &app2, &oid2, None, NOW)
            .await
            .unwrap(),
        LinkOutcome::UserChanged
    );
    assert_eq!(
        store
            .touch_openid_link(&app2, &oid2, None, NOW)
            .await
            .unwrap(),
        None,
        "UserChanged writes no link item"
    );
    assert!(
        !store
            .get_user(&owner.id)
            .await
            .unwrap()
            .unwrap()
            .openids
            .contains_key(&app2)
    );

    // Stored user with a phone.
    let p = phone();
    let phoned = user(Some(p.clone()));
    assert_eq!(
        store
            .create_user(&phoned, &app(), &openid(), None)
            .await
            .unwrap(),
        CreateUserOutcome::Created
    );
    let read = store.get_user(&phoned.id).await.unwrap().unwrap();
    assert_eq!(read.phone, Some(p.clone()));
    let (app3, oid3) = (app(), openid());
    for stale_phone in [None, Some(phone())] {
        let stale = User {
            phone: stale_phone,
            ..read.clone()
        };
        assert_eq!(
            store
                .link_openid(&stale, &app3, &oid3, None, NOW)
                .await
                .unwrap(),
            LinkOutcome::UserChanged
        );
        assert_eq!(
            store
                .touch_openid_link(&app3, &oid3, None, NOW)
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(
        store
            .link_openid(&read, &app3, &oid3, None, NOW)
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
    assert_eq!(
        store
            .touch_openid_link(&app3, &oid3, None, NOW)
            .await
            .unwrap(),
        Some(LinkedUser {
            user_id: phoned.id.clone(),
            phone: Some(p),
            had_unionid: false,
        })
    );
}

// ---- sessions --------------------------------------------------------------------------

/// `start_session` stores the key and the family; `put_session_key` replaces the key;
/// unknown ones are None.
pub async fn sessions<S: Store>(store: &S) {
    let (appid, oid, uid) = (app(), openid(), UserId::new_random());
    assert_eq!(
        store.get_session_key(&appid, &oid, NOW).await.unwrap(),
        None
    );
    assert_eq!(store.get_family(&random_id(16), NOW).await.unwrap(), None);

    let key = session_key(&appid, &oid, NOW + 3600);
    let fam = family(&uid, &appid, &oid, NOW + 86_400);
    store.start_session(Some(&key), &fam).await.unwrap();
    assert_eq!(
        store.get_session_key(&appid, &oid, NOW).await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(
        store.get_family(&fam.id, NOW).await.unwrap(),
        Some(fam.clone())
    );
    // Per (appid, openid).
    assert_eq!(
        store.get_session_key(&app(), &oid, NOW).await.unwrap(),
        None
    );
    assert_eq!(
        store.get_session_key(&appid, &openid(), NOW).await.unwrap(),
        None
    );

    let newer = session_key(&appid, &oid, NOW + 7200);
    store.put_session_key(&newer).await.unwrap();
    assert_eq!(
        store.get_session_key(&appid, &oid, NOW + 1).await.unwrap(),
        Some(newer)
    );

    // A second login's session replaces the key and adds a second family.
    let key2 = session_key(&appid, &oid, NOW + 3600);
    let fam2 = family(&uid, &appid, &oid, NOW + 86_400);
    store.start_session(Some(&key2), &fam2).await.unwrap();
    assert_eq!(
        store.get_session_key(&appid, &oid, NOW).await.unwrap(),
        Some(key2)
    );
    assert_eq!(store.get_family(&fam.id, NOW).await.unwrap(), Some(fam));
    assert_eq!(store.get_family(&fam2.id, NOW).await.unwrap(), Some(fam2));
}

/// Session keys and families read as None once `now >= expires_at`, though the items may
/// still be there (DynamoDB deletes late; moto never).
pub async fn session_expiry<S: Store>(store: &S) {
    let (appid, oid) = (app(), openid());
    let key = session_key(&appid, &oid, NOW + 100);
    let fam = family(&UserId::new_random(), &appid, &oid, NOW + 200);
    store.start_session(Some(&key), &fam).await.unwrap();

    assert_eq!(
        store.get_session_key(&appid, &oid, NOW + 99).await.unwrap(),
        Some(key)
    );
    assert_eq!(
        store
            .get_session_key(&appid, &oid, NOW + 100)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .get_session_key(&appid, &oid, NOW + 10_000)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_family(&fam.id, NOW + 199).await.unwrap(),
        Some(fam.clone())
    );
    assert_eq!(store.get_family(&fam.id, NOW + 200).await.unwrap(), None);
    assert_eq!(store.get_family(&fam.id, NOW + 10_000).await.unwrap(), None);
    // Reading at an earlier time shows the items were not deleted, only filtered.
    assert_eq!(store.get_family(&fam.id, NOW).await.unwrap(), Some(fam));
}

/// `start_session` is one transaction and never overwrites a family: a family id collision
/// is an error and leaves both the family and the session key as they were.
pub async fn start_session_family_collision<S: Store>(store: &S) {
    let (appid, oid) = (app(), openid());
    let key = session_key(&appid, &oid, NOW + 3600);
    let fam = family(&UserId::new_random(), &appid, &oid, NOW + 86_400);
    store.start_session(Some(&key), &fam).await.unwrap();

    let intruder_key = session_key(&appid, &oid, NOW + 3600);
    let intruder = Family {
        secret_hash: random_id(32),
        user_id: UserId::new_random(),
        ..fam.clone()
    };
    assert!(
        store
            .start_session(Some(&intruder_key), &intruder)
            .await
            .is_err(),
        "a family id collision is refused"
    );
    assert_eq!(store.get_family(&fam.id, NOW).await.unwrap(), Some(fam));
    assert_eq!(
        store.get_session_key(&appid, &oid, NOW).await.unwrap(),
        Some(key),
        "the refused transaction did not write the session key either"
    );
}

// ---- refresh families ------------------------------------------------------------------

/// `rotate_family`: Rotated with the current hash (new hash and expiry stored); Refused with
/// a wrong or an old hash, once expired, and for a missing family.
pub async fn rotate_family<S: Store>(store: &S) {
    let (appid, oid) = (app(), openid());
    let fam = family(&UserId::new_random(), &appid, &oid, NOW + 1000);
    store
        .start_session(Some(&session_key(&appid, &oid, NOW + 1000)), &fam)
        .await
        .unwrap();

    assert_eq!(
        store
            .rotate_family(&fam.id, &random_id(32), "h-wrong", NOW + 2000, NOW)
            .await
            .unwrap(),
        RotateOutcome::Refused,
        "a wrong hash is refused"
    );
    assert_eq!(
        store.get_family(&fam.id, NOW).await.unwrap(),
        Some(fam.clone())
    );

    assert_eq!(
        store
            .rotate_family(&fam.id, &fam.secret_hash, "h2", NOW + 2000, NOW + 10)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    let rotated = Family {
        secret_hash: "h2".into(),
        expires_at: NOW + 2000,
        retired: vec![crate::tokens::refresh::retired_mark(&fam.secret_hash)],
        ..fam.clone()
    };
    assert_eq!(
        store.get_family(&fam.id, NOW + 10).await.unwrap(),
        Some(rotated.clone())
    );
    // Live past the old expiry: the new expiry was stored.
    assert_eq!(
        store.get_family(&fam.id, NOW + 1500).await.unwrap(),
        Some(rotated)
    );

    assert_eq!(
        store
            .rotate_family(&fam.id, &fam.secret_hash, "h3", NOW + 3000, NOW + 20)
            .await
            .unwrap(),
        RotateOutcome::Refused,
        "the old hash (a reused refresh token) is refused"
    );
    assert_eq!(
        store
            .rotate_family(&fam.id, "h2", "h3", NOW + 3000, NOW + 2000)
            .await
            .unwrap(),
        RotateOutcome::Refused,
        "an expired family is refused (now == expires_at)"
    );
    assert_eq!(
        store
            .rotate_family(&fam.id, "h2", "h3", NOW + 3000, NOW + 5000)
            .await
            .unwrap(),
        RotateOutcome::Refused
    );
    assert_eq!(
        store
            .rotate_family(&fam.id, "h2", "h3", NOW + 3000, NOW + 1999)
            .await
            .unwrap(),
        RotateOutcome::Rotated,
        "the refusals changed nothing"
    );
    let mut both = vec![
        crate::tokens::refresh::retired_mark(&fam.secret_hash),
        crate::tokens::refresh::retired_mark("h2"),
    ];
    both.sort();
    assert_eq!(
        store
            .get_family(&fam.id, NOW + 1999)
            .await
            .unwrap()
            .map(|f| f.retired),
        Some(both),
        "every secret rotated away from is remembered, sorted"
    );

    assert_eq!(
        store
            .rotate_family(&random_id(16), "h2", "h3", NOW + 3000, NOW)
            .await
            .unwrap(),
        RotateOutcome::Refused,
        "a missing family is refused"
    );
    assert_eq!(store.get_family(&random_id(16), NOW).await.unwrap(), None);
}

/// Eight simultaneous rotations with the same hash: exactly one wins.
pub async fn rotate_family_concurrent<S: Store>(store: &S) {
    let (appid, oid) = (app(), openid());
    let fam = family(&UserId::new_random(), &appid, &oid, NOW + 1000);
    store
        .start_session(Some(&session_key(&appid, &oid, NOW + 1000)), &fam)
        .await
        .unwrap();
    let hashes: Vec<String> = (0..8).map(|_| random_id(32)).collect();
    let outcomes: Vec<RotateOutcome> = join_all(
        hashes
            .iter()
            .map(|h| store.rotate_family(&fam.id, &fam.secret_hash, h, NOW + 2000, NOW))
            .collect(),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    let winners: Vec<&String> = hashes
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o == RotateOutcome::Rotated)
        .map(|(h, _)| h)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one rotation wins: {outcomes:?}");
    let stored = store.get_family(&fam.id, NOW).await.unwrap().unwrap();
    assert_eq!(&stored.secret_hash, winners[0]);
}

/// `revoke_family` marks the family revoked (still readable, never rotatable); revoking a
/// missing family, or twice, is Ok.
pub async fn revoke_family<S: Store>(store: &S) {
    let (appid, oid) = (app(), openid());
    let fam = family(&UserId::new_random(), &appid, &oid, NOW + 1000);
    store
        .start_session(Some(&session_key(&appid, &oid, NOW + 1000)), &fam)
        .await
        .unwrap();
    store.revoke_family(&fam.id).await.unwrap();
    assert_eq!(
        store.get_family(&fam.id, NOW).await.unwrap(),
        Some(Family {
            revoked: true,
            ..fam.clone()
        })
    );
    assert_eq!(
        store
            .rotate_family(&fam.id, &fam.secret_hash, "h2", NOW + 2000, NOW)
            .await
            .unwrap(),
        RotateOutcome::Refused,
        "a revoked family is refused"
    );
    store.revoke_family(&fam.id).await.unwrap();
    assert_eq!(
        store
            .get_family(&fam.id, NOW)
            .await
            .unwrap()
            .map(|f| f.revoked),
        Some(true)
    );

    let missing = random_id(16);
    store.revoke_family(&missing).await.unwrap();
    assert_eq!(
        store.get_family(&missing, NOW).await.unwrap(),
        None,
        "revoking a missing family creates nothing"
    );
}

// ---- user versions ---------------------------------------------------------------------

/// `User.version`: `create_user` stores version 1; a successful `link_openid` bumps it by
/// one; a `link_openid` with a stale version is `UserChanged` and writes nothing.
pub async fn user_version<S: Store>(store: &S) {
    let (app1, oid1) = (app(), openid());
    let owner = user(None);
    assert_eq!(owner.version, 1);
    assert_eq!(
        store.create_user(&owner, &app1, &oid1, None).await.unwrap(),
        CreateUserOutcome::Created
    );
    let read = store.get_user(&owner.id).await.unwrap().unwrap();
    assert_eq!(read.version, 1, "create_user stores version 1");

    let (app2, oid2) = (app(), openid());
    assert_eq!(
        store
            .link_openid(&read, &app2, &oid2, None, NOW + 1)
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
    let linked = store.get_user(&owner.id).await.unwrap().unwrap();
    assert_eq!(linked.version, 2, "a link bumps the version by one");

    // `read` is stale now (version 1, stored 2): a third app is refused, nothing written.
    let (app3, oid3) = (app(), openid());
    assert_eq!(
        store
            .link_openid(&read, &app3, &oid3, None, NOW + 2)
            .await
            .unwrap(),
        LinkOutcome::UserChanged
    );
    assert_eq!(
        store.get_user(&owner.id).await.unwrap().unwrap(),
        linked,
        "a refused link leaves the user as it was"
    );
    assert_eq!(
        store
            .touch_openid_link(&app3, &oid3, None, NOW + 3)
            .await
            .unwrap(),
        None,
        "a refused link writes no link item"
    );

    // With the fresh read it links, and the version moves on again.
    assert_eq!(
        store
            .link_openid(&linked, &app3, &oid3, None, NOW + 4)
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
    assert_eq!(store.get_user(&owner.id).await.unwrap().unwrap().version, 3);
}

// ---- phones ----------------------------------------------------------------------------

/// `create_user` with a phone writes the phone's ownership item and puts the phone on the
/// link; a second user with the same phone is `PhoneTaken` and leaves nothing behind (no
/// user, no openid link, no unionid link).
pub async fn create_user_phone<S: Store>(store: &S) {
    let (appid, oid, p) = (app(), openid(), phone());
    assert_eq!(store.phone_owner(&p).await.unwrap(), None);
    let first = user(Some(p.clone()));
    assert_eq!(
        store.create_user(&first, &appid, &oid, None).await.unwrap(),
        CreateUserOutcome::Created
    );
    assert_eq!(
        store.phone_owner(&p).await.unwrap(),
        Some(first.id.clone()),
        "create_user writes the phone's ownership item"
    );
    assert_eq!(
        store.get_user(&first.id).await.unwrap().unwrap().phone,
        Some(p.clone())
    );
    assert_eq!(
        store
            .touch_openid_link(&appid, &oid, None, NOW)
            .await
            .unwrap()
            .and_then(|l| l.phone),
        Some(p.clone()),
        "the openid link carries the phone"
    );

    // Another openid (same app, then another app with a unionid) with the same phone.
    for with_unionid in [false, true] {
        let (app2, oid2, u) = (
            if with_unionid { app() } else { appid.clone() },
            openid(),
            unionid(),
        );
        let second = user(Some(p.clone()));
        assert_eq!(
            store
                .create_user(&second, &app2, &oid2, with_unionid.then_some(&u))
                .await
                .unwrap(),
            CreateUserOutcome::PhoneTaken
        );
        assert_eq!(store.get_user(&second.id).await.unwrap(), None, "no user");
        assert_eq!(
            store
                .touch_openid_link(&app2, &oid2, None, NOW)
                .await
                .unwrap(),
            None,
            "no openid link"
        );
        assert_eq!(
            store.find_unionid_user(&u).await.unwrap(),
            None,
            "no unionid link"
        );
        assert_eq!(store.phone_owner(&p).await.unwrap(), Some(first.id.clone()));
    }
}

/// `bind_phone` on a user as read: `Bound`, the user gains the phone and version + 1, the
/// ownership item names it, and every openid link of the user carries the phone. Refusals
/// write nothing: binding again (the user has a phone: `UserChanged`), another user binding
/// the phone (`PhoneTaken`), a stale version and a missing user (`UserChanged`).
pub async fn bind_phone<S: Store>(store: &S) {
    let (app1, oid1, app2, oid2) = (app(), openid(), app(), openid());
    let owner = user(None);
    assert_eq!(
        store.create_user(&owner, &app1, &oid1, None).await.unwrap(),
        CreateUserOutcome::Created
    );
    let read = store.get_user(&owner.id).await.unwrap().unwrap();
    assert_eq!(
        store
            .link_openid(&read, &app2, &oid2, None, NOW)
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
    let read = store.get_user(&owner.id).await.unwrap().unwrap();
    assert_eq!(read.openids.len(), 2);

    let p = phone();
    assert_eq!(
        store.bind_phone(&read, &p).await.unwrap(),
        BindOutcome::Bound
    );
    let bound = store.get_user(&owner.id).await.unwrap().unwrap();
    assert_eq!(
        bound,
        User {
            phone: Some(p.clone()),
            version: read.version + 1,
            ..read.clone()
        },
        "the user gains the phone and version + 1, nothing else"
    );
    assert_eq!(store.phone_owner(&p).await.unwrap(), Some(owner.id.clone()));
    for (appid, oid) in [(&app1, &oid1), (&app2, &oid2)] {
        assert_eq!(
            store
                .touch_openid_link(appid, oid, None, NOW + 1)
                .await
                .unwrap()
                .map(|l| (l.user_id, l.phone)),
            Some((owner.id.clone(), Some(p.clone()))),
            "every openid link of the user carries the phone"
        );
    }

    // Binding again with the fresh read: the user already has a phone, so UserChanged (the
    // phone's ownership item being the user's own does not make it Bound), with the same
    // phone or another one; nothing changes and the other phone stays unowned.
    let q = phone();
    for again in [&p, &q] {
        assert_eq!(
            store.bind_phone(&bound, again).await.unwrap(),
            BindOutcome::UserChanged,
            "a user that has a phone cannot bind one"
        );
        assert_eq!(store.get_user(&owner.id).await.unwrap().unwrap(), bound);
    }
    assert_eq!(store.phone_owner(&p).await.unwrap(), Some(owner.id.clone()));
    assert_eq!(store.phone_owner(&q).await.unwrap(), None);

    // Another user binding the owned phone.
    let (app3, oid3) = (app(), openid());
    let other = user(None);
    assert_eq!(
        store.create_user(&other, &app3, &oid3, None).await.unwrap(),
        CreateUserOutcome::Created
    );
    let other_read = store.get_user(&other.id).await.unwrap().unwrap();
    assert_eq!(
        store.bind_phone(&other_read, &p).await.unwrap(),
        BindOutcome::PhoneTaken
    );
    assert_eq!(
        store.get_user(&other.id).await.unwrap().unwrap(),
        other_read,
        "the refused user is unchanged (no phone, same version)"
    );
    assert_eq!(
        store
            .touch_openid_link(&app3, &oid3, None, NOW + 2)
            .await
            .unwrap()
            .and_then(|l| l.phone),
        None
    );
    assert_eq!(store.phone_owner(&p).await.unwrap(), Some(owner.id.clone()));
    // A bound phone is as taken for a new user as one created with a user.
    let newcomer = user(Some(p.clone()));
    let (app4, oid4) = (app(), openid());
    assert_eq!(
        store
            .create_user(&newcomer, &app4, &oid4, None)
            .await
            .unwrap(),
        CreateUserOutcome::PhoneTaken
    );
    assert_eq!(store.get_user(&newcomer.id).await.unwrap(), None);

    // A stale version (read before a link): UserChanged, nothing written.
    let stale = other_read;
    let (app5, oid5) = (app(), openid());
    assert_eq!(
        store
            .link_openid(&stale, &app5, &oid5, None, NOW + 3)
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
    let current = store.get_user(&other.id).await.unwrap().unwrap();
    assert_eq!(current.version, stale.version + 1);
    let r = phone();
    assert_eq!(
        store.bind_phone(&stale, &r).await.unwrap(),
        BindOutcome::UserChanged
    );
    assert_eq!(store.get_user(&other.id).await.unwrap().unwrap(), current);
    assert_eq!(store.phone_owner(&r).await.unwrap(), None);
    for (appid, oid) in [(&app3, &oid3), (&app5, &oid5)] {
        assert_eq!(
            store
                .touch_openid_link(appid, oid, None, NOW + 4)
                .await
                .unwrap()
                .and_then(|l| l.phone),
            None
        );
    }
    // ...and the fresh read binds it.
    assert_eq!(
        store.bind_phone(&current, &r).await.unwrap(),
        BindOutcome::Bound
    );
    assert_eq!(store.phone_owner(&r).await.unwrap(), Some(other.id.clone()));

    // A user that does not exist.
    let ghost = user(None);
    let s = phone();
    assert_eq!(
        store.bind_phone(&ghost, &s).await.unwrap(),
        BindOutcome::UserChanged
    );
    assert_eq!(store.get_user(&ghost.id).await.unwrap(), None);
    assert_eq!(store.phone_owner(&s).await.unwrap(), None);
}

/// `claim_phone_code`: Fresh for the first openid, then Pending for it until
/// `complete_phone_code`, then Done(phone); OtherOwner for anyone else; Fresh again after
/// `release_phone_code` or once `now >= expires_at` (the old answer gone); per app.
pub async fn phone_code_claims<S: Store>(store: &S) {
    let (appid, digest, o1, o2) = (app(), random_id(32), openid(), openid());
    let exp = NOW + 300;
    let claim = |oid: &OpenId, now: u64, expires_at: u64| {
        let oid = oid.clone();
        let (appid, digest) = (&appid, &digest);
        async move {
            store
                .claim_phone_code(appid, digest, &oid, now, expires_at)
                .await
                .unwrap()
        }
    };

    assert_eq!(claim(&o1, NOW, exp).await, PhoneCodeClaim::Fresh);
    assert_eq!(claim(&o1, NOW + 1, exp).await, PhoneCodeClaim::Pending);
    assert_eq!(claim(&o2, NOW + 1, exp).await, PhoneCodeClaim::OtherOwner);

    let p = phone();
    store
        .complete_phone_code(&appid, &digest, &p)
        .await
        .unwrap();
    assert_eq!(
        claim(&o1, NOW + 2, exp).await,
        PhoneCodeClaim::Done(p.clone())
    );
    assert_eq!(
        claim(&o1, exp - 1, exp + 300).await,
        PhoneCodeClaim::Done(p.clone()),
        "the owner's repeated claim still finds the answer"
    );
    assert_eq!(claim(&o2, NOW + 2, exp).await, PhoneCodeClaim::OtherOwner);

    // The same digest in another app is another code.
    assert_eq!(
        store
            .claim_phone_code(&app(), &digest, &o2, NOW, exp)
            .await
            .unwrap(),
        PhoneCodeClaim::Fresh
    );

    // Released: anyone's, fresh, without the old answer.
    store.release_phone_code(&appid, &digest).await.unwrap();
    assert_eq!(claim(&o2, NOW + 3, exp).await, PhoneCodeClaim::Fresh);
    assert_eq!(claim(&o2, NOW + 3, exp).await, PhoneCodeClaim::Pending);
    assert_eq!(claim(&o1, NOW + 3, exp).await, PhoneCodeClaim::OtherOwner);

    // Expired (`expires_at <= now`): fresh for anyone, the answer forgotten.
    store
        .complete_phone_code(&appid, &digest, &p)
        .await
        .unwrap();
    assert_eq!(
        claim(&o1, exp - 1, exp + 300).await,
        PhoneCodeClaim::OtherOwner
    );
    assert_eq!(claim(&o1, exp, exp + 300).await, PhoneCodeClaim::Fresh);
    assert_eq!(
        claim(&o1, exp + 1, exp + 300).await,
        PhoneCodeClaim::Pending,
        "an expired claim's answer does not carry over"
    );
    assert_eq!(
        claim(&o2, exp + 1, exp + 300).await,
        PhoneCodeClaim::OtherOwner
    );
    // ...also for the same openid.
    assert_eq!(
        claim(&o1, exp + 300, exp + 600).await,
        PhoneCodeClaim::Fresh
    );

    // Releasing or completing a code nobody claimed writes nothing: it stays Fresh.
    let unclaimed = random_id(32);
    store.release_phone_code(&appid, &unclaimed).await.unwrap();
    store
        .complete_phone_code(&appid, &unclaimed, &p)
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_phone_code(&appid, &unclaimed, &o2, NOW, exp)
            .await
            .unwrap(),
        PhoneCodeClaim::Fresh,
        "completing an unclaimed code creates no claim"
    );
}

/// Eight openids claim one phone code at once: exactly one is Fresh, the others OtherOwner.
pub async fn phone_code_concurrent_claims<S: Store>(store: &S) {
    let (appid, digest) = (app(), random_id(32));
    let openids: Vec<OpenId> = (0..8).map(|_| openid()).collect();
    let claims: Vec<PhoneCodeClaim> = join_all(
        openids
            .iter()
            .map(|o| store.claim_phone_code(&appid, &digest, o, NOW, NOW + 300))
            .collect(),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    let fresh: Vec<&OpenId> = openids
        .iter()
        .zip(&claims)
        .filter(|(_, c)| **c == PhoneCodeClaim::Fresh)
        .map(|(o, _)| o)
        .collect();
    assert_eq!(
        fresh.len(),
        1,
        "exactly one concurrent claim is fresh: {claims:?}"
    );
    assert!(
        claims
            .iter()
            .filter(|c| **c != PhoneCodeClaim::Fresh)
            .all(|c| *c == PhoneCodeClaim::OtherOwner),
        "the others are OtherOwner: {claims:?}"
    );
    assert_eq!(
        store
            .claim_phone_code(&appid, &digest, fresh[0], NOW + 1, NOW + 300)
            .await
            .unwrap(),
        PhoneCodeClaim::Pending,
        "the winner holds the claim"
    );
}

// ---- log out everywhere ----------------------------------------------------------------

/// `end_all_sessions` sets `sessions_valid_after` to `now`, never lowers it, changes nothing
/// else (not the version), and creates nothing for a missing user.
pub async fn end_all_sessions<S: Store>(store: &S) {
    let owner = user(None);
    assert_eq!(
        store
            .create_user(&owner, &app(), &openid(), None)
            .await
            .unwrap(),
        CreateUserOutcome::Created
    );
    let read = store.get_user(&owner.id).await.unwrap().unwrap();
    assert_eq!(read.sessions_valid_after, 0);

    store.end_all_sessions(&owner.id, NOW + 100).await.unwrap();
    let after = store.get_user(&owner.id).await.unwrap().unwrap();
    assert_eq!(
        after,
        User {
            sessions_valid_after: NOW + 100,
            ..read.clone()
        },
        "only sessions_valid_after changes (the version does not)"
    );
    for earlier in [NOW + 50, NOW + 100, 0] {
        store.end_all_sessions(&owner.id, earlier).await.unwrap();
        assert_eq!(
            store
                .get_user(&owner.id)
                .await
                .unwrap()
                .unwrap()
                .sessions_valid_after,
            NOW + 100,
            "a smaller or equal now never lowers it"
        );
    }
    store.end_all_sessions(&owner.id, NOW + 200).await.unwrap();
    assert_eq!(
        store
            .get_user(&owner.id)
            .await
            .unwrap()
            .unwrap()
            .sessions_valid_after,
        NOW + 200
    );

    let ghost = UserId::new_random();
    store.end_all_sessions(&ghost, NOW).await.unwrap();
    assert_eq!(
        store.get_user(&ghost).await.unwrap(),
        None,
        "a missing user is not created"
    );
}

/// `start_session` without a key stores the family only (and keeps a key stored before);
/// with a key it stores both.
pub async fn start_session_without_key<S: Store>(store: &S) {
    let (appid, oid, uid) = (app(), openid(), UserId::new_random());
    let fam = family(&uid, &appid, &oid, NOW + 86_400);
    store.start_session(None, &fam).await.unwrap();
    assert_eq!(store.get_family(&fam.id, NOW).await.unwrap(), Some(fam));
    assert_eq!(
        store.get_session_key(&appid, &oid, NOW).await.unwrap(),
        None,
        "no session key is written"
    );

    let key = session_key(&appid, &oid, NOW + 3600);
    let fam2 = family(&uid, &appid, &oid, NOW + 86_400);
    store.start_session(Some(&key), &fam2).await.unwrap();
    assert_eq!(store.get_family(&fam2.id, NOW).await.unwrap(), Some(fam2));
    assert_eq!(
        store.get_session_key(&appid, &oid, NOW).await.unwrap(),
        Some(key.clone())
    );

    let fam3 = family(&uid, &appid, &oid, NOW + 86_400);
    store.start_session(None, &fam3).await.unwrap();
    assert_eq!(store.get_family(&fam3.id, NOW).await.unwrap(), Some(fam3));
    assert_eq!(
        store.get_session_key(&appid, &oid, NOW).await.unwrap(),
        Some(key),
        "a session without a key leaves the stored key alone"
    );
}

// ---- published keys --------------------------------------------------------------------

/// `publish_keys`/`load_keys` (`KeyDirectory`): the store holds one published set. A set
/// replaces it only when it is the same set or the published `current` is its `previous`
/// (a newer keyring); an older or unrelated set never rolls it back; publishing is
/// idempotent. A store (table) may already hold a set of someone else's: then the check
/// can only show that its unrelated sets do not replace it.
pub async fn published_keys<S: Store>(store: &S) {
    let ring = |previous: Option<&str>| {
        let secret = Keyring::generate_secret_json(previous);
        let seed: serde_json::Value = serde_json::from_str(&secret).unwrap();
        let keys = PublishedKeys::of(&Keyring::from_secret_json(&secret).unwrap());
        (seed["current"].as_str().unwrap().to_owned(), keys)
    };
    let (seed1, k1) = ring(None);
    let (seed2, k2) = ring(Some(&seed1));
    let (_, k3) = ring(Some(&seed2));
    let (_, unrelated) = ring(None);
    assert_eq!(k2.previous_kid.as_ref(), Some(&k1.current_kid));
    assert_eq!(k3.previous_kid.as_ref(), Some(&k2.current_kid));

    let before = store.load_keys().await.unwrap();
    store.publish_keys(&k1).await.unwrap();
    if let Some(theirs) = before {
        assert_eq!(
            store.load_keys().await.unwrap(),
            Some(theirs),
            "an unrelated set does not replace the published one"
        );
        return;
    }
    let load = || async { store.load_keys().await.unwrap() };
    assert_eq!(load().await, Some(k1.clone()), "the first set is published");
    store.publish_keys(&k1).await.unwrap();
    assert_eq!(load().await, Some(k1.clone()), "publishing is idempotent");

    store.publish_keys(&k2).await.unwrap();
    assert_eq!(
        load().await,
        Some(k2.clone()),
        "the rotated set replaces it"
    );
    store.publish_keys(&k1).await.unwrap();
    assert_eq!(
        load().await,
        Some(k2.clone()),
        "an older signer does not roll it back"
    );
    store.publish_keys(&k2).await.unwrap();
    assert_eq!(load().await, Some(k2.clone()));

    store.publish_keys(&k3).await.unwrap();
    assert_eq!(
        load().await,
        Some(k3.clone()),
        "a second rotation replaces it, dropping the oldest key"
    );
    for old in [&k1, &k2, &unrelated] {
        store.publish_keys(old).await.unwrap();
        assert_eq!(load().await, Some(k3.clone()));
    }
}

// ---- counters --------------------------------------------------------------------------

/// A fresh counter name.
fn counter_name() -> String {
    format!("check-{}", random_id(16))
}

/// The fixed window of `window` seconds containing `now`: (start, end).
fn window_of(now: u64, window: u64) -> (u64, u64) {
    let start = now - now % window;
    (start, start + window)
}

/// `hit_counter`: Counted(1), Counted(2) … up to `limit`, then `Limited` with `retry_after`
/// the seconds left in the window (at least 1); a refused hit is not counted; the next window
/// starts again at Counted(1); names are independent; a limit of 0 refuses every hit.
pub async fn hit_counter<S: Store>(store: &S) {
    let (name, window, limit) = (counter_name(), 600, 3);
    let (start, end) = window_of(NOW + 123, window);
    let now = start + 123;
    let hit = |name: String, limit: u32, now: u64| async move {
        store.hit_counter(&name, limit, window, now).await.unwrap()
    };

    for n in 1..=limit {
        assert_eq!(hit(name.clone(), limit, now).await, CounterHit::Counted(n));
    }
    assert_eq!(
        hit(name.clone(), limit, now).await,
        CounterHit::Limited {
            retry_after: end - now
        },
        "the window is full: it ends in end - now seconds"
    );
    assert_eq!(
        hit(name.clone(), limit, end - 1).await,
        CounterHit::Limited { retry_after: 1 },
        "in the window's last second, retry after 1"
    );
    assert_eq!(
        hit(name.clone(), limit + 2, start).await,
        CounterHit::Counted(limit + 1),
        "refused hits were not counted (a larger limit counts on from the limit)"
    );

    // The next window starts again, at its first second and at its last.
    assert_eq!(hit(name.clone(), limit, end).await, CounterHit::Counted(1));
    assert_eq!(
        hit(name.clone(), limit, end + window - 1).await,
        CounterHit::Counted(2)
    );

    // Another name is another counter.
    let other = counter_name();
    assert_eq!(hit(other.clone(), limit, now).await, CounterHit::Counted(1));
    assert_eq!(
        hit(name.clone(), limit, now).await,
        CounterHit::Limited {
            retry_after: end - now
        },
        "the other name's hit did not touch this one"
    );

    // A limit of 0: the window already holds 0 hits, so every hit is refused.
    let zero = counter_name();
    assert_eq!(
        hit(zero.clone(), 0, now).await,
        CounterHit::Limited {
            retry_after: end - now
        },
        "limit 0 refuses the first hit"
    );
    assert_eq!(
        store.read_counter(&zero, window, now).await.unwrap(),
        0,
        "and counts nothing"
    );
}

/// Eight simultaneous hits with limit 3: exactly 3 Counted (1, 2, 3) and 5 Limited.
pub async fn hit_counter_concurrent<S: Store>(store: &S) {
    let (name, window) = (counter_name(), 3600);
    let (_, end) = window_of(NOW, window);
    let hits: Vec<CounterHit> = join_all(
        (0..8)
            .map(|_| store.hit_counter(&name, 3, window, NOW))
            .collect(),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    let mut counted: Vec<u32> = hits
        .iter()
        .filter_map(|h| match h {
            CounterHit::Counted(n) => Some(*n),
            CounterHit::Limited { .. } => None,
        })
        .collect();
    counted.sort_unstable();
    assert_eq!(counted, vec![1, 2, 3], "exactly 3 counted: {hits:?}");
    let limited = hits
        .iter()
        .filter(|h| {
            **h == CounterHit::Limited {
                retry_after: end - NOW,
            }
        })
        .count();
    assert_eq!(limited, 5, "the other 5 are limited: {hits:?}");
    assert_eq!(store.read_counter(&name, window, NOW).await.unwrap(), 3);
}

/// `read_counter`: 0 for an unknown name; the hits counted in the window containing `now`
/// (read anywhere in that window, refused hits not included); 0 in the next window.
pub async fn read_counter<S: Store>(store: &S) {
    let (name, window) = (counter_name(), 60);
    let (start, end) = window_of(NOW + 30, window);
    let read = |now: u64| {
        let name = name.clone();
        async move { store.read_counter(&name, window, now).await.unwrap() }
    };
    assert_eq!(read(NOW).await, 0, "an unknown name reads 0");

    for expected in 1..=2 {
        store
            .hit_counter(&name, 5, window, start + 30)
            .await
            .unwrap();
        assert_eq!(read(start + 30).await, expected);
    }
    assert_eq!(read(start).await, 2, "the window's first second");
    assert_eq!(read(end - 1).await, 2, "the window's last second");
    assert_eq!(read(end).await, 0, "the next window");
    assert_eq!(read(start - 1).await, 0, "the window before");

    for _ in 0..4 {
        store
            .hit_counter(&name, 3, window, start + 31)
            .await
            .unwrap();
    }
    assert_eq!(read(start + 31).await, 3, "refused hits are not counted");

    store.hit_counter(&name, 3, window, end).await.unwrap();
    assert_eq!(read(end).await, 1, "the next window counts on its own");
    assert_eq!(read(start).await, 3, "and leaves this one alone");
    assert_eq!(
        store
            .read_counter(&counter_name(), window, start)
            .await
            .unwrap(),
        0
    );
}

// ---- SMS codes -------------------------------------------------------------------------

/// `attempt_sms_code`: None with no code; the stored hash exactly `max` times while the code
/// is live, then None; None once `now >= expires_at`; `put_sms_code` again replaces the hash
/// and resets the attempts; phones are independent.
pub async fn sms_code_attempts<S: Store>(store: &S) {
    let (p, exp) = (phone(), NOW + 300);
    let (h1, h2, h3) = (random_id(32), random_id(32), random_id(32));
    let attempt = |max: u32, now: u64| {
        let p = p.clone();
        async move { store.attempt_sms_code(&p, max, now).await.unwrap() }
    };
    assert_eq!(attempt(5, NOW).await, None, "no code");

    store.put_sms_code(&p, &h1, exp).await.unwrap();
    for i in 0..3 {
        assert_eq!(attempt(3, NOW + i).await, Some(h1.clone()), "attempt {i}");
    }
    assert_eq!(attempt(3, NOW + 3).await, None, "the attempts are used up");
    assert_eq!(attempt(3, NOW + 4).await, None, "and stay used up");

    // Another phone has its own code (none yet).
    let other = phone();
    assert_eq!(store.attempt_sms_code(&other, 3, NOW).await.unwrap(), None);

    // A new code replaces the hash and starts its attempts at 0.
    store.put_sms_code(&p, &h2, exp).await.unwrap();
    for i in 0..3 {
        assert_eq!(attempt(3, NOW + 10).await, Some(h2.clone()), "attempt {i}");
    }
    assert_eq!(attempt(3, NOW + 10).await, None);

    // Expiry: live until `now >= expires_at`, whatever attempts are left.
    store.put_sms_code(&p, &h3, exp).await.unwrap();
    assert_eq!(attempt(3, exp - 1).await, Some(h3.clone()));
    assert_eq!(attempt(3, exp).await, None, "expired at expires_at");
    assert_eq!(attempt(3, exp + 1).await, None, "and after");

    // max 0 allows no attempt.
    store.put_sms_code(&p, &h1, exp).await.unwrap();
    assert_eq!(attempt(0, NOW).await, None);
    assert_eq!(attempt(1, NOW).await, Some(h1.clone()));
}

/// `consume_sms_code`: true with the right hash, after which the code is gone (attempts are
/// None, a second consume is false); a stale hash (the code was replaced) is false and the
/// new code stays; false with no code at all.
pub async fn sms_code_consume<S: Store>(store: &S) {
    let (p, exp) = (phone(), NOW + 300);
    let (h1, h2) = (random_id(32), random_id(32));

    store.put_sms_code(&p, &h1, exp).await.unwrap();
    assert_eq!(
        store.attempt_sms_code(&p, 5, NOW).await.unwrap(),
        Some(h1.clone())
    );
    assert!(store.consume_sms_code(&p, &h1).await.unwrap());
    assert_eq!(
        store.attempt_sms_code(&p, 5, NOW).await.unwrap(),
        None,
        "a consumed code is gone"
    );
    assert!(
        !store.consume_sms_code(&p, &h1).await.unwrap(),
        "a code is consumed once"
    );

    // Replaced between attempt and consume: the stale consume fails, the new code stays.
    store.put_sms_code(&p, &h1, exp).await.unwrap();
    assert_eq!(
        store.attempt_sms_code(&p, 5, NOW).await.unwrap(),
        Some(h1.clone())
    );
    store.put_sms_code(&p, &h2, exp).await.unwrap();
    assert!(
        !store.consume_sms_code(&p, &h1).await.unwrap(),
        "a stale hash does not consume the new code"
    );
    assert_eq!(
        store.attempt_sms_code(&p, 5, NOW).await.unwrap(),
        Some(h2.clone()),
        "the new code stays"
    );
    assert!(store.consume_sms_code(&p, &h2).await.unwrap());

    assert!(
        !store.consume_sms_code(&phone(), &h1).await.unwrap(),
        "no code, nothing consumed"
    );
}

/// Eight simultaneous attempts with max 3: exactly 3 get the hash. Eight simultaneous
/// consumes of one code: exactly one is true.
pub async fn sms_code_concurrent<S: Store>(store: &S) {
    let (p, exp, hash) = (phone(), NOW + 300, random_id(32));
    store.put_sms_code(&p, &hash, exp).await.unwrap();
    let attempts: Vec<Option<String>> =
        join_all((0..8).map(|_| store.attempt_sms_code(&p, 3, NOW)).collect())
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    assert_eq!(
        attempts
            .iter()
            .filter(|a| a.as_deref() == Some(hash.as_str()))
            .count(),
        3,
        "exactly max attempts get the hash: {attempts:?}"
    );
    assert_eq!(attempts.iter().filter(|a| a.is_none()).count(), 5);

    store.put_sms_code(&p, &hash, exp).await.unwrap();
    let consumed = join_all((0..8).map(|_| store.consume_sms_code(&p, &hash)).collect())
        .await
        .into_iter()
        .map(Result::unwrap)
        .filter(|c| *c)
        .count();
    assert_eq!(consumed, 1, "exactly one concurrent consume wins");
    assert_eq!(store.attempt_sms_code(&p, 5, NOW).await.unwrap(), None);
}

// ---- passwords and profiles ------------------------------------------------------------

/// `set_password_hash` sets (and replaces) the user's hash and nothing else (not the
/// version); for a missing user it is Ok and creates nothing.
pub async fn set_password_hash<S: Store>(store: &S) {
    let owner = user(None);
    assert_eq!(
        store
            .create_user(&owner, &app(), &openid(), None)
            .await
            .unwrap(),
        CreateUserOutcome::Created
    );
    let read = store.get_user(&owner.id).await.unwrap().unwrap();
    assert_eq!(read.password_hash, None);

    for hash in [
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$bmV3aGFzaA",
    ] {
        store.set_password_hash(&owner.id, hash).await.unwrap();
        assert_eq!(
            store.get_user(&owner.id).await.unwrap().unwrap(),
            User {
                password_hash: Some(hash.to_owned()),
                ..read.clone()
            },
            "only the hash changes (the version does not)"
        );
    }

    let ghost = UserId::new_random();
    store
        .set_password_hash(&ghost, "$argon2id$x")
        .await
        .unwrap();
    assert_eq!(
        store.get_user(&ghost).await.unwrap(),
        None,
        "a missing user is not created"
    );
}

/// `set_profile` sets the given fields only (None leaves a field as it was; both None changes
/// nothing), never the version: a read from before profile and password updates still links
/// an openid. For a missing user it is Ok and creates nothing.
pub async fn set_profile<S: Store>(store: &S) {
    let owner = user(None);
    assert_eq!(
        store
            .create_user(&owner, &app(), &openid(), None)
            .await
            .unwrap(),
        CreateUserOutcome::Created
    );
    let read = store.get_user(&owner.id).await.unwrap().unwrap();
    assert_eq!((&read.nickname, &read.avatar_url), (&None, &None));
    let get = || async { store.get_user(&owner.id).await.unwrap().unwrap() };
    let expect = |nickname: Option<&str>, avatar_url: Option<&str>| User {
        nickname: nickname.map(str::to_owned),
        avatar_url: avatar_url.map(str::to_owned),
        ..read.clone()
    };
    let (nick1, nick2) = ("小明 🐱", "Ming");
    let (url1, url2) = (
        "https://thirdwx.qlogo.cn/mmopen/vi_32/a/132",
        "https://example.com/b.png",
    );

    store
        .set_profile(&owner.id, Some(nick1), None)
        .await
        .unwrap();
    assert_eq!(get().await, expect(Some(nick1), None), "nickname only");
    store
        .set_profile(&owner.id, None, Some(url1))
        .await
        .unwrap();
    assert_eq!(
        get().await,
        expect(Some(nick1), Some(url1)),
        "avatar only; the nickname stays"
    );
    store
        .set_profile(&owner.id, Some(nick2), None)
        .await
        .unwrap();
    assert_eq!(
        get().await,
        expect(Some(nick2), Some(url1)),
        "the avatar stays"
    );
    store
        .set_profile(&owner.id, Some(nick1), Some(url2))
        .await
        .unwrap();
    assert_eq!(get().await, expect(Some(nick1), Some(url2)), "both");
    store.set_profile(&owner.id, None, None).await.unwrap();
    assert_eq!(
        get().await,
        expect(Some(nick1), Some(url2)),
        "neither: nothing changes"
    );

    // Profile and password are not identity changes: the old read is not stale.
    store
        .set_password_hash(&owner.id, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
        .await
        .unwrap();
    assert_eq!(get().await.version, read.version);
    let (app2, oid2) = (app(), openid());
    assert_eq!(
        store
            .link_openid(&read, &app2, &oid2, None, NOW + 1)
            .await
            .unwrap(),
        LinkOutcome::Linked,
        "profile and password updates do not bump the version"
    );
    let linked = get().await;
    assert_eq!(linked.version, read.version + 1);
    assert_eq!(
        (linked.nickname.as_deref(), linked.avatar_url.as_deref()),
        (Some(nick1), Some(url2)),
        "a link keeps the profile"
    );

    let ghost = UserId::new_random();
    store
        .set_profile(&ghost, Some(nick1), Some(url1))
        .await
        .unwrap();
    assert_eq!(
        store.get_user(&ghost).await.unwrap(),
        None,
        "a missing user is not created"
    );
}

/// `create_user` stores the user as given, password hash and profile included.
pub async fn create_user_profile_fields<S: Store>(store: &S) {
    let (appid, oid) = (app(), openid());
    let given = User {
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        nickname: Some("小明".to_owned()),
        avatar_url: Some("https://example.com/a.png".to_owned()),
        ..user(None)
    };
    assert_eq!(
        store.create_user(&given, &appid, &oid, None).await.unwrap(),
        CreateUserOutcome::Created
    );
    let mut expected = given.clone();
    expected.openids.insert(appid, oid);
    assert_eq!(store.get_user(&given.id).await.unwrap(), Some(expected));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_memory_store_conforms() {
        run_all(&InMemoryStore::new()).await;
    }

    #[tokio::test]
    async fn join_all_keeps_order() {
        let outs = join_all((0..5).map(|i| async move { i * 2 }).collect()).await;
        assert_eq!(outs, vec![0, 2, 4, 6, 8]);
    }
}
