//! What the conformance suites share: fresh ids (so checks can share one table), the records
//! they store, the setups they start from (a user with its first openid link, a session), the
//! reads they check with, and `join_all` for concurrent calls on one task.

use crate::crypto::{random_bytes, random_id};
use crate::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};
use crate::store::{
    CreateUserOutcome, Family, Identities, LinkOutcome, LinkedUser, SessionKeyRecord, Sessions,
    User,
};
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// A fixed "now" for the checks (2027-01-15); only relative times matter.
pub const NOW: u64 = 1_800_000_000;

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

// ---- records ---------------------------------------------------------------------------

/// A new user (not stored), created at `NOW`.
pub fn user(phone: Option<PhoneNumber>) -> User {
    User {
        phone,
        ..User::new(UserId::new_random(), NOW)
    }
}

/// A new live refresh family (not stored) with a fresh id and secret hash.
pub fn family(user_id: &UserId, appid: &AppId, openid: &OpenId, expires_at: u64) -> Family {
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

/// A new session_key record (not stored) with a fresh key.
pub fn session_key(appid: &AppId, openid: &OpenId, expires_at: u64) -> SessionKeyRecord {
    SessionKeyRecord {
        appid: appid.clone(),
        openid: openid.clone(),
        session_key: crate::domain::SessionKey::new(random_id(16)),
        expires_at,
    }
}

// ---- setups ----------------------------------------------------------------------------

/// A stored user with its first openid link.
pub struct Account {
    /// The user as read back after `create_user`.
    pub user: User,
    pub appid: AppId,
    pub openid: OpenId,
}

/// What `create_user` answers.
pub async fn try_create<S: Identities>(
    store: &S,
    user: &User,
    appid: &AppId,
    openid: &OpenId,
    unionid: Option<&UnionId>,
) -> CreateUserOutcome {
    store
        .create_user(user, appid, openid, unionid)
        .await
        .unwrap()
}

/// Creates `user` with its first openid link, and checks that it was `Created`.
pub async fn create<S: Identities>(
    store: &S,
    user: &User,
    appid: &AppId,
    openid: &OpenId,
    unionid: Option<&UnionId>,
) {
    assert_eq!(
        try_create(store, user, appid, openid, unionid).await,
        CreateUserOutcome::Created
    );
}

/// What `link_openid` answers for a link without a unionid.
pub async fn try_link<S: Identities>(
    store: &S,
    user: &User,
    appid: &AppId,
    openid: &OpenId,
    now: u64,
) -> LinkOutcome {
    store
        .link_openid(user, appid, openid, None, now)
        .await
        .unwrap()
}

/// A new user (with `phone`, when given) created with a fresh openid in a fresh app.
pub async fn account<S: Identities>(store: &S, phone: Option<PhoneNumber>) -> Account {
    let (new, appid, openid) = (user(phone), app(), openid());
    create(store, &new, &appid, &openid, None).await;
    Account {
        user: stored_user(store, &new.id).await,
        appid,
        openid,
    }
}

/// A session of a fresh (appid, openid): its key and its family, stored by `start_session`.
pub async fn session<S: Sessions>(
    store: &S,
    key_expires_at: u64,
    family_expires_at: u64,
) -> (SessionKeyRecord, Family) {
    let (appid, oid) = (app(), openid());
    let key = session_key(&appid, &oid, key_expires_at);
    let fam = family(&UserId::new_random(), &appid, &oid, family_expires_at);
    store.start_session(Some(&key), &fam).await.unwrap();
    (key, fam)
}

// ---- reads -----------------------------------------------------------------------------

/// The user as stored, if it exists.
pub async fn user_of<S: Identities>(store: &S, user_id: &UserId) -> Option<User> {
    store.get_user(user_id).await.unwrap()
}

/// The stored user, which must exist.
pub async fn stored_user<S: Identities>(store: &S, user_id: &UserId) -> User {
    user_of(store, user_id).await.unwrap()
}

/// What the openid link says (`touch_openid_link` without a unionid at `now`).
pub async fn link_of<S: Identities>(
    store: &S,
    appid: &AppId,
    openid: &OpenId,
    now: u64,
) -> Option<LinkedUser> {
    store
        .touch_openid_link(appid, openid, None, now)
        .await
        .unwrap()
}

// ---- concurrency -----------------------------------------------------------------------

/// `join_all` of store calls, each of which must succeed.
pub async fn join_all_ok<F, T, E>(futures: Vec<F>) -> Vec<T>
where
    F: Future<Output = Result<T, E>>,
    E: Debug,
{
    join_all(futures)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

/// The `items` whose outcome (same position in `outcomes`) is `won`.
pub fn winners<'a, T, O: PartialEq>(items: &'a [T], outcomes: &[O], won: &O) -> Vec<&'a T> {
    items
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| *o == won)
        .map(|(item, _)| item)
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn join_all_keeps_order() {
        let outs = join_all((0..5).map(|i| async move { i * 2 }).collect()).await;
        assert_eq!(outs, vec![0, 2, 4, 6, 8]);
    }
}
