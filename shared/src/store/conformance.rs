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
use crate::domain::PhoneNumber;
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
