//! The `Sessions` suite: session keys and refresh families are stored together, read as
//! absent once expired, never overwritten by a colliding family; rotation has one winner and
//! refuses old, wrong or revoked hashes; "log out everywhere" only moves forward.

use super::fixtures::{
    NOW, account, app, family, join_all_ok, openid, session, session_key, stored_user, user_of,
    winners,
};
use crate::crypto::random_id;
use crate::domain::{AppId, OpenId, UserId};
use crate::store::{Family, Identities, RotateOutcome, SessionKeyRecord, Sessions, User};

/// Runs every check of this suite against `store` (which also holds users: "log out
/// everywhere" is recorded on the user).
pub async fn run_sessions<S: Sessions + Identities>(store: &S) {
    sessions(store).await;
    session_expiry(store).await;
    start_session_family_collision(store).await;
    start_session_without_key(store).await;
    rotate_family(store).await;
    rotate_family_concurrent(store).await;
    revoke_family(store).await;
    end_all_sessions(store).await;
}

/// The live session key of (appid, openid) at `now`.
async fn key_of<S: Sessions>(
    store: &S,
    appid: &AppId,
    openid: &OpenId,
    now: u64,
) -> Option<SessionKeyRecord> {
    store.get_session_key(appid, openid, now).await.unwrap()
}

/// The live family `id` at `now`.
async fn family_of<S: Sessions>(store: &S, id: &str, now: u64) -> Option<Family> {
    store.get_family(id, now).await.unwrap()
}

// ---- sessions --------------------------------------------------------------------------

/// `start_session` stores the key and the family; `put_session_key` replaces the key;
/// unknown ones are None.
pub async fn sessions<S: Sessions>(store: &S) {
    let (appid, oid, uid) = (app(), openid(), UserId::new_random());
    assert_eq!(key_of(store, &appid, &oid, NOW).await, None);
    assert_eq!(family_of(store, &random_id(16), NOW).await, None);

    let key = session_key(&appid, &oid, NOW + 3600);
    let fam = family(&uid, &appid, &oid, NOW + 86_400);
    store.start_session(Some(&key), &fam).await.unwrap();
    assert_eq!(key_of(store, &appid, &oid, NOW).await, Some(key.clone()));
    assert_eq!(family_of(store, &fam.id, NOW).await, Some(fam.clone()));
    // Per (appid, openid).
    assert_eq!(key_of(store, &app(), &oid, NOW).await, None);
    assert_eq!(key_of(store, &appid, &openid(), NOW).await, None);

    let newer = session_key(&appid, &oid, NOW + 7200);
    store.put_session_key(&newer).await.unwrap();
    assert_eq!(key_of(store, &appid, &oid, NOW + 1).await, Some(newer));

    // A second login's session replaces the key and adds a second family.
    let key2 = session_key(&appid, &oid, NOW + 3600);
    let fam2 = family(&uid, &appid, &oid, NOW + 86_400);
    store.start_session(Some(&key2), &fam2).await.unwrap();
    assert_eq!(key_of(store, &appid, &oid, NOW).await, Some(key2));
    assert_eq!(family_of(store, &fam.id, NOW).await, Some(fam));
    assert_eq!(family_of(store, &fam2.id, NOW).await, Some(fam2));
}

/// Session keys and families read as None once `now >= expires_at`, though the items may
/// still be there (DynamoDB deletes late; moto never).
pub async fn session_expiry<S: Sessions>(store: &S) {
    let (key, fam) = session(store, NOW + 100, NOW + 200).await;
    let (appid, oid) = (&key.appid, &key.openid);

    assert_eq!(key_of(store, appid, oid, NOW + 99).await, Some(key.clone()));
    assert_eq!(key_of(store, appid, oid, NOW + 100).await, None);
    assert_eq!(key_of(store, appid, oid, NOW + 10_000).await, None);
    assert_eq!(
        family_of(store, &fam.id, NOW + 199).await,
        Some(fam.clone())
    );
    assert_eq!(family_of(store, &fam.id, NOW + 200).await, None);
    assert_eq!(family_of(store, &fam.id, NOW + 10_000).await, None);
    // Reading at an earlier time shows the items were not deleted, only filtered.
    assert_eq!(family_of(store, &fam.id, NOW).await, Some(fam));
}

/// `start_session` is one transaction and never overwrites a family: a family id collision
/// is an error and leaves both the family and the session key as they were.
pub async fn start_session_family_collision<S: Sessions>(store: &S) {
    let (key, fam) = session(store, NOW + 3600, NOW + 86_400).await;
    let (appid, oid) = (&key.appid, &key.openid);

    let intruder_key = session_key(appid, oid, NOW + 3600);
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
    assert_eq!(family_of(store, &fam.id, NOW).await, Some(fam));
    assert_eq!(
        key_of(store, appid, oid, NOW).await,
        Some(key.clone()),
        "the refused transaction did not write the session key either"
    );
}

/// `start_session` without a key stores the family only (and keeps a key stored before);
/// with a key it stores both.
pub async fn start_session_without_key<S: Sessions>(store: &S) {
    let (appid, oid, uid) = (app(), openid(), UserId::new_random());
    let fam = family(&uid, &appid, &oid, NOW + 86_400);
    store.start_session(None, &fam).await.unwrap();
    assert_eq!(family_of(store, &fam.id, NOW).await, Some(fam));
    assert_eq!(
        key_of(store, &appid, &oid, NOW).await,
        None,
        "no session key is written"
    );

    let key = session_key(&appid, &oid, NOW + 3600);
    let fam2 = family(&uid, &appid, &oid, NOW + 86_400);
    store.start_session(Some(&key), &fam2).await.unwrap();
    assert_eq!(family_of(store, &fam2.id, NOW).await, Some(fam2));
    assert_eq!(key_of(store, &appid, &oid, NOW).await, Some(key.clone()));

    let fam3 = family(&uid, &appid, &oid, NOW + 86_400);
    store.start_session(None, &fam3).await.unwrap();
    assert_eq!(family_of(store, &fam3.id, NOW).await, Some(fam3));
    assert_eq!(
        key_of(store, &appid, &oid, NOW).await,
        Some(key),
        "a session without a key leaves the stored key alone"
    );
}

// ---- refresh families ------------------------------------------------------------------

/// `rotate_family`: Rotated with the current hash (new hash and expiry stored); Refused with
/// a wrong or an old hash, once expired, and for a missing family.
pub async fn rotate_family<S: Sessions>(store: &S) {
    let (_, fam) = session(store, NOW + 1000, NOW + 1000).await;
    let rotate = |old: &str, new: &str, new_expires_at: u64, now: u64| {
        let (old, new) = (old.to_owned(), new.to_owned());
        let id = fam.id.clone();
        async move {
            store
                .rotate_family(&id, &old, &new, new_expires_at, now)
                .await
                .unwrap()
        }
    };

    assert_eq!(
        rotate(&random_id(32), "h-wrong", NOW + 2000, NOW).await,
        RotateOutcome::Refused,
        "a wrong hash is refused"
    );
    assert_eq!(family_of(store, &fam.id, NOW).await, Some(fam.clone()));

    assert_eq!(
        rotate(&fam.secret_hash, "h2", NOW + 2000, NOW + 10).await,
        RotateOutcome::Rotated
    );
    let rotated = Family {
        secret_hash: "h2".into(),
        expires_at: NOW + 2000,
        retired: vec![crate::tokens::refresh::retired_mark(&fam.secret_hash)],
        ..fam.clone()
    };
    assert_eq!(
        family_of(store, &fam.id, NOW + 10).await,
        Some(rotated.clone())
    );
    // Live past the old expiry: the new expiry was stored.
    assert_eq!(family_of(store, &fam.id, NOW + 1500).await, Some(rotated));

    assert_eq!(
        rotate(&fam.secret_hash, "h3", NOW + 3000, NOW + 20).await,
        RotateOutcome::Refused,
        "the old hash (a reused refresh token) is refused"
    );
    assert_eq!(
        rotate("h2", "h3", NOW + 3000, NOW + 2000).await,
        RotateOutcome::Refused,
        "an expired family is refused (now == expires_at)"
    );
    assert_eq!(
        rotate("h2", "h3", NOW + 3000, NOW + 5000).await,
        RotateOutcome::Refused
    );
    assert_eq!(
        rotate("h2", "h3", NOW + 3000, NOW + 1999).await,
        RotateOutcome::Rotated,
        "the refusals changed nothing"
    );
    let mut both = vec![
        crate::tokens::refresh::retired_mark(&fam.secret_hash),
        crate::tokens::refresh::retired_mark("h2"),
    ];
    both.sort();
    assert_eq!(
        family_of(store, &fam.id, NOW + 1999)
            .await
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
    assert_eq!(family_of(store, &random_id(16), NOW).await, None);
}

/// Eight simultaneous rotations with the same hash: exactly one wins.
pub async fn rotate_family_concurrent<S: Sessions>(store: &S) {
    let (_, fam) = session(store, NOW + 1000, NOW + 1000).await;
    let hashes: Vec<String> = (0..8).map(|_| random_id(32)).collect();
    let outcomes: Vec<RotateOutcome> = join_all_ok(
        hashes
            .iter()
            .map(|h| store.rotate_family(&fam.id, &fam.secret_hash, h, NOW + 2000, NOW))
            .collect(),
    )
    .await;
    let won = winners(&hashes, &outcomes, &RotateOutcome::Rotated);
    assert_eq!(won.len(), 1, "exactly one rotation wins: {outcomes:?}");
    let stored = family_of(store, &fam.id, NOW).await.unwrap();
    assert_eq!(&stored.secret_hash, won[0]);
}

/// `revoke_family` marks the family revoked (still readable, never rotatable); revoking a
/// missing family, or twice, is Ok.
pub async fn revoke_family<S: Sessions>(store: &S) {
    let (_, fam) = session(store, NOW + 1000, NOW + 1000).await;
    store.revoke_family(&fam.id).await.unwrap();
    assert_eq!(
        family_of(store, &fam.id, NOW).await,
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
        family_of(store, &fam.id, NOW).await.map(|f| f.revoked),
        Some(true)
    );

    let missing = random_id(16);
    store.revoke_family(&missing).await.unwrap();
    assert_eq!(
        family_of(store, &missing, NOW).await,
        None,
        "revoking a missing family creates nothing"
    );
}

// ---- log out everywhere ----------------------------------------------------------------

/// `end_all_sessions` sets `sessions_valid_after` to `now` and returns it; when it is already
/// `now` or later (a second cut in one second, or a slower clock), it moves one second on, so
/// every cut ends the sessions dated after the one before. It never lowers it, changes nothing
/// else (not the version), and creates nothing for a missing user (`None`).
pub async fn end_all_sessions<S: Sessions + Identities>(store: &S) {
    let read = account(store, None).await.user;
    let owner_id = &read.id;
    assert_eq!(read.sessions_valid_after, 0);

    assert_eq!(
        store.end_all_sessions(owner_id, NOW + 100).await.unwrap(),
        Some(NOW + 100)
    );
    assert_eq!(
        stored_user(store, owner_id).await,
        User {
            sessions_valid_after: NOW + 100,
            ..read.clone()
        },
        "only sessions_valid_after changes (the version does not)"
    );
    for (earlier, expected) in [
        (NOW + 100, NOW + 101),
        (NOW + 50, NOW + 102),
        (0, NOW + 103),
    ] {
        assert_eq!(
            store.end_all_sessions(owner_id, earlier).await.unwrap(),
            Some(expected),
            "{earlier}"
        );
        assert_eq!(
            stored_user(store, owner_id).await.sessions_valid_after,
            expected,
            "an equal or smaller now moves it one on, never back"
        );
    }
    assert_eq!(
        store.end_all_sessions(owner_id, NOW + 200).await.unwrap(),
        Some(NOW + 200)
    );

    let ghost = UserId::new_random();
    assert_eq!(store.end_all_sessions(&ghost, NOW).await.unwrap(), None);
    assert_eq!(
        user_of(store, &ghost).await,
        None,
        "a missing user is not created"
    );
}
