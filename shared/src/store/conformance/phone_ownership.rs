//! The `PhoneOwnership` suite: a phone has at most one owner, whether it came with a new user
//! or was bound later; a bind reaches the user and every openid link of it, and a refused one
//! (phone taken, user changed or gone) writes nothing.

use super::fixtures::{
    NOW, account, app, create, link_of, openid, phone, stored_user, try_create, try_link, unionid,
    user, user_of,
};
use crate::store::{BindOutcome, CreateUserOutcome, Identities, LinkOutcome, PhoneOwnership, User};

/// Runs every check of this suite against `store` (which also holds the users and links
/// that phones are bound to).
pub async fn run_phone_ownership<S: PhoneOwnership + Identities>(store: &S) {
    create_user_phone(store).await;
    bind_phone(store).await;
    change_phone(store).await;
}

/// `create_user` with a phone writes the phone's ownership item and puts the phone on the
/// link; a second user with the same phone is `PhoneTaken` and leaves nothing behind (no
/// user, no openid link, no unionid link).
pub async fn create_user_phone<S: PhoneOwnership + Identities>(store: &S) {
    let (appid, oid, p) = (app(), openid(), phone());
    assert_eq!(store.phone_owner(&p).await.unwrap(), None);
    let first = user(Some(p.clone()));
    create(store, &first, &appid, &oid, None).await;
    assert_eq!(
        store.phone_owner(&p).await.unwrap(),
        Some(first.id.clone()),
        "create_user writes the phone's ownership item"
    );
    assert_eq!(stored_user(store, &first.id).await.phone, Some(p.clone()));
    assert_eq!(
        link_of(store, &appid, &oid, NOW)
            .await
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
            try_create(store, &second, &app2, &oid2, with_unionid.then_some(&u)).await,
            CreateUserOutcome::PhoneTaken
        );
        assert_eq!(user_of(store, &second.id).await, None, "no user");
        assert_eq!(
            link_of(store, &app2, &oid2, NOW).await,
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
pub async fn bind_phone<S: PhoneOwnership + Identities>(store: &S) {
    let owner = account(store, None).await;
    let (app1, oid1, owner_id) = (&owner.appid, &owner.openid, &owner.user.id);
    let (app2, oid2) = (app(), openid());
    assert_eq!(
        try_link(store, &owner.user, &app2, &oid2, NOW).await,
        LinkOutcome::Linked
    );
    let read = stored_user(store, owner_id).await;
    assert_eq!(read.openids.len(), 2);

    let p = phone();
    assert_eq!(
        store.bind_phone(&read, &p).await.unwrap(),
        BindOutcome::Bound
    );
    let bound = stored_user(store, owner_id).await;
    assert_eq!(
        bound,
        User {
            phone: Some(p.clone()),
            version: read.version + 1,
            ..read.clone()
        },
        "the user gains the phone and version + 1, nothing else"
    );
    assert_eq!(store.phone_owner(&p).await.unwrap(), Some(owner_id.clone()));
    for (appid, oid) in [(app1, oid1), (&app2, &oid2)] {
        assert_eq!(
            link_of(store, appid, oid, NOW + 1)
                .await
                .map(|l| (l.user_id, l.phone)),
            Some((owner_id.clone(), Some(p.clone()))),
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
        assert_eq!(stored_user(store, owner_id).await, bound);
    }
    assert_eq!(store.phone_owner(&p).await.unwrap(), Some(owner_id.clone()));
    assert_eq!(store.phone_owner(&q).await.unwrap(), None);

    // Another user binding the owned phone.
    let other = account(store, None).await;
    let (app3, oid3, other_read) = (&other.appid, &other.openid, &other.user);
    assert_eq!(
        store.bind_phone(other_read, &p).await.unwrap(),
        BindOutcome::PhoneTaken
    );
    assert_eq!(
        &stored_user(store, &other_read.id).await,
        other_read,
        "the refused user is unchanged (no phone, same version)"
    );
    assert_eq!(
        link_of(store, app3, oid3, NOW + 2)
            .await
            .and_then(|l| l.phone),
        None
    );
    assert_eq!(store.phone_owner(&p).await.unwrap(), Some(owner_id.clone()));
    // A bound phone is as taken for a new user as one created with a user.
    let newcomer = user(Some(p.clone()));
    let (app4, oid4) = (app(), openid());
    assert_eq!(
        try_create(store, &newcomer, &app4, &oid4, None).await,
        CreateUserOutcome::PhoneTaken
    );
    assert_eq!(user_of(store, &newcomer.id).await, None);

    // A stale version (read before a link): UserChanged, nothing written.
    let stale = other_read;
    let (app5, oid5) = (app(), openid());
    assert_eq!(
        try_link(store, stale, &app5, &oid5, NOW + 3).await,
        LinkOutcome::Linked
    );
    let current = stored_user(store, &stale.id).await;
    assert_eq!(current.version, stale.version + 1);
    let r = phone();
    assert_eq!(
        store.bind_phone(stale, &r).await.unwrap(),
        BindOutcome::UserChanged
    );
    assert_eq!(stored_user(store, &stale.id).await, current);
    assert_eq!(store.phone_owner(&r).await.unwrap(), None);
    for (appid, oid) in [(app3, oid3), (&app5, &oid5)] {
        assert_eq!(
            link_of(store, appid, oid, NOW + 4)
                .await
                .and_then(|l| l.phone),
            None
        );
    }
    // ...and the fresh read binds it.
    assert_eq!(
        store.bind_phone(&current, &r).await.unwrap(),
        BindOutcome::Bound
    );
    assert_eq!(store.phone_owner(&r).await.unwrap(), Some(stale.id.clone()));

    // A user that does not exist.
    let ghost = user(None);
    let s = phone();
    assert_eq!(
        store.bind_phone(&ghost, &s).await.unwrap(),
        BindOutcome::UserChanged
    );
    assert_eq!(user_of(store, &ghost.id).await, None);
    assert_eq!(store.phone_owner(&s).await.unwrap(), None);
}

/// `change_phone` moves the user to a free number: the old number is released, the new one
/// owned, the user and its link carry it; a taken number or a stale read changes nothing.
pub async fn change_phone<S: PhoneOwnership + Identities>(store: &S) {
    let (old, new, taken) = (phone(), phone(), phone());
    let a = account(store, Some(old.clone())).await;
    let other = account(store, Some(taken.clone())).await;
    // Taken: nothing moves.
    assert_eq!(
        store.change_phone(&a.user, &taken).await.unwrap(),
        BindOutcome::PhoneTaken
    );
    assert_eq!(stored_user(store, &a.user.id).await, a.user);
    assert_eq!(
        store.phone_owner(&old).await.unwrap(),
        Some(a.user.id.clone())
    );
    assert_eq!(
        store.phone_owner(&taken).await.unwrap(),
        Some(other.user.id.clone())
    );
    // Free: moved.
    assert_eq!(
        store.change_phone(&a.user, &new).await.unwrap(),
        BindOutcome::Bound
    );
    let moved = stored_user(store, &a.user.id).await;
    assert_eq!(moved.phone, Some(new.clone()));
    assert_eq!(
        store.phone_owner(&new).await.unwrap(),
        Some(a.user.id.clone())
    );
    assert_eq!(
        store.phone_owner(&old).await.unwrap(),
        None,
        "the old number is released"
    );
    assert_eq!(
        link_of(store, &a.appid, &a.openid, NOW)
            .await
            .and_then(|l| l.phone),
        Some(new.clone())
    );
    // A stale read (before the move) changes nothing.
    assert_eq!(
        store.change_phone(&a.user, &phone()).await.unwrap(),
        BindOutcome::UserChanged
    );
    assert_eq!(stored_user(store, &a.user.id).await, moved);
    // The released number can be bound by someone else.
    let b = account(store, None).await;
    assert_eq!(
        store.bind_phone(&b.user, &old).await.unwrap(),
        BindOutcome::Bound
    );
}
