//! The `AccountStatus` and `Census` suites: disabling reaches the user and every openid link
//! (a returning login reads only the link), a stale read changes nothing, enabling clears both;
//! the census counts live items by kind and leaves expired ones out.

use super::fixtures::{NOW, account, app, link_of, openid, session_key, stored_user};
use crate::store::{AccountStatus, Census, Identities, LinkOutcome, Sessions, StatusOutcome};

/// Runs every check of this suite against `store`.
pub async fn run_account_status<S: AccountStatus + Census + Identities + Sessions>(store: &S) {
    disabling_reaches_the_user_and_every_link(store).await;
    the_census_counts_live_items_by_kind(store).await;
}

pub async fn disabling_reaches_the_user_and_every_link<S: AccountStatus + Identities>(store: &S) {
    let a = account(store, None).await;
    let (app2, oid2) = (app(), openid());
    assert_eq!(
        store
            .link_openid(&a.user, &app2, &oid2, None, NOW)
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
    let read = stored_user(store, &a.user.id).await;
    assert_eq!(
        store.set_disabled(&read, true).await.unwrap(),
        StatusOutcome::Set
    );
    let disabled = stored_user(store, &a.user.id).await;
    assert!(disabled.disabled);
    assert!(disabled.version > read.version, "the version moves on");
    for (appid, oid) in [(&a.appid, &a.openid), (&app2, &oid2)] {
        assert!(
            link_of(store, appid, oid, NOW).await.unwrap().disabled,
            "{appid:?}"
        );
    }
    // A stale read (the version before) changes nothing.
    assert_eq!(
        store.set_disabled(&read, false).await.unwrap(),
        StatusOutcome::Changed
    );
    assert!(stored_user(store, &a.user.id).await.disabled);
    // Enabled again from a fresh read: user and links.
    assert_eq!(
        store.set_disabled(&disabled, false).await.unwrap(),
        StatusOutcome::Set
    );
    assert!(!stored_user(store, &a.user.id).await.disabled);
    for (appid, oid) in [(&a.appid, &a.openid), (&app2, &oid2)] {
        assert!(!link_of(store, appid, oid, NOW).await.unwrap().disabled);
    }
}

pub async fn the_census_counts_live_items_by_kind<S: Census + Identities + Sessions>(store: &S) {
    let count = |counts: &std::collections::BTreeMap<String, u64>, kind: &str| {
        counts.get(kind).copied().unwrap_or(0)
    };
    let before = store.count_by_kind(NOW).await.unwrap();
    let a = account(store, None).await;
    store
        .put_session_key(&session_key(&a.appid, &a.openid, NOW + 60))
        .await
        .unwrap();
    store
        .put_session_key(&session_key(&app(), &openid(), NOW))
        .await
        .unwrap();
    let after = store.count_by_kind(NOW).await.unwrap();
    assert_eq!(count(&after, "USER"), count(&before, "USER") + 1);
    assert_eq!(count(&after, "OPENID"), count(&before, "OPENID") + 1);
    assert_eq!(
        count(&after, "SESSKEY"),
        count(&before, "SESSKEY") + 1,
        "a session_key expiring at now is not counted"
    );
}
