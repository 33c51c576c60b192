//! The `Identities` suite: users and their openid and unionid links. Creating and linking are
//! atomic and refuse without leaving anything behind; a link records a unionid once; a user's
//! version guards identity changes only (not its password or profile).

use super::fixtures::{
    NOW, account, app, create, join_all_ok, link_of, openid, phone, stored_user, try_create,
    try_link, unionid, user, user_of, winners,
};
use crate::domain::{UnionId, UserId};
use crate::store::{CreateUserOutcome, Identities, LinkOutcome, LinkedUser, User};

/// Runs every check of this suite against `store`.
pub async fn run_identities<S: Identities>(store: &S) {
    touch_openid_link(store).await;
    create_user(store).await;
    create_user_unionid(store).await;
    create_user_concurrent(store).await;
    unionid_links(store).await;
    link_openid(store).await;
    link_openid_phone_guard(store).await;
    user_version(store).await;
    set_password_hash(store).await;
    set_profile(store).await;
    create_user_profile_fields(store).await;
}

// ---- openid links ----------------------------------------------------------------------

/// `touch_openid_link`: None for an unknown openid (and creates nothing); after
/// `create_user` it finds the user; a unionid is recorded once and never erased.
pub async fn touch_openid_link<S: Identities>(store: &S) {
    let (appid, oid, u1, u2) = (app(), openid(), unionid(), unionid());
    assert_eq!(
        store
            .touch_openid_link(&appid, &oid, Some(&u1), NOW)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        link_of(store, &appid, &oid, NOW).await,
        None,
        "touching an unknown openid creates nothing"
    );

    let p = phone();
    let u = user(Some(p.clone()));
    create(store, &u, &appid, &oid, None).await;
    let linked = |unionid: Option<&UnionId>| LinkedUser {
        user_id: u.id.clone(),
        phone: Some(p.clone()),
        unionid: unionid.cloned(),
        disabled: false,
    };
    assert_eq!(
        link_of(store, &appid, &oid, NOW + 1).await,
        Some(linked(None))
    );
    assert_eq!(
        store
            .touch_openid_link(&appid, &oid, Some(&u1), NOW + 2)
            .await
            .unwrap(),
        Some(linked(None)),
        "the unionid reported is the one recorded before this call"
    );
    assert_eq!(
        link_of(store, &appid, &oid, NOW + 3).await,
        Some(linked(Some(&u1))),
        "a later touch without a unionid does not erase it"
    );
    assert_eq!(
        store
            .touch_openid_link(&appid, &oid, Some(&u2), NOW + 4)
            .await
            .unwrap(),
        Some(linked(Some(&u1)))
    );
    assert_eq!(
        link_of(store, &appid, &oid, NOW + 5).await,
        Some(linked(Some(&u1)))
    );
    // touch records the login on the link only: it never links unionids to users.
    assert_eq!(store.find_unionid_user(&u1).await.unwrap(), None);
    assert_eq!(store.find_unionid_user(&u2).await.unwrap(), None);

    // The link is per app.
    assert_eq!(link_of(store, &app(), &oid, NOW).await, None);
}

// ---- users -----------------------------------------------------------------------------

/// `create_user` then `get_user`; a second user for the same (appid, openid) is refused and
/// leaves nothing behind; the same openid in another app is another identity.
pub async fn create_user<S: Identities>(store: &S) {
    let (appid, oid) = (app(), openid());
    assert_eq!(user_of(store, &UserId::new_random()).await, None);

    let first = user(None);
    create(store, &first, &appid, &oid, None).await;
    let stored = stored_user(store, &first.id).await;
    let mut expected = first.clone();
    expected.openids.insert(appid.clone(), oid.clone());
    assert_eq!(
        stored, expected,
        "get_user returns the user with its openid"
    );

    let second = user(Some(phone()));
    assert_eq!(
        try_create(store, &second, &appid, &oid, None).await,
        CreateUserOutcome::OpenIdTaken
    );
    assert_eq!(user_of(store, &second.id).await, None);
    // ...also when the loser brings a unionid: no unionid link is left behind either.
    let u = unionid();
    assert_eq!(
        try_create(store, &second, &appid, &oid, Some(&u)).await,
        CreateUserOutcome::OpenIdTaken
    );
    assert_eq!(user_of(store, &second.id).await, None);
    assert_eq!(store.find_unionid_user(&u).await.unwrap(), None);
    let linked = link_of(store, &appid, &oid, NOW).await.unwrap();
    assert_eq!(linked.user_id, first.id, "the first owner keeps the openid");

    // Same openid string, another app: a separate identity.
    let other_app = app();
    create(store, &second, &other_app, &oid, None).await;
    let stored = stored_user(store, &second.id).await;
    assert_eq!(stored.phone, second.phone);
    assert_eq!(
        stored.openids.into_iter().collect::<Vec<_>>(),
        vec![(other_app, oid)]
    );
}

/// `create_user` with a unionid links it; another openid with the same unionid is refused
/// (`UnionIdTaken`) without a user or an openid link left behind.
pub async fn create_user_unionid<S: Identities>(store: &S) {
    let (appid, oid, u) = (app(), openid(), unionid());
    let first = user(None);
    create(store, &first, &appid, &oid, Some(&u)).await;
    assert_eq!(store.find_unionid_user(&u).await.unwrap(), Some(first.id));
    assert_eq!(
        link_of(store, &appid, &oid, NOW).await.map(|l| l.unionid),
        Some(Some(u.clone())),
        "create_user records the unionid on the link"
    );

    let (other_app, other_oid) = (app(), openid());
    let second = user(None);
    assert_eq!(
        try_create(store, &second, &other_app, &other_oid, Some(&u)).await,
        CreateUserOutcome::UnionIdTaken
    );
    assert_eq!(user_of(store, &second.id).await, None);
    assert_eq!(
        link_of(store, &other_app, &other_oid, NOW).await,
        None,
        "a refused create_user leaves no openid link"
    );
}

/// Eight simultaneous first logins of one openid with different user ids: one Created, the
/// others OpenIdTaken, one user.
pub async fn create_user_concurrent<S: Identities>(store: &S) {
    let (appid, oid) = (app(), openid());
    let users: Vec<User> = (0..8).map(|_| user(None)).collect();
    let outcomes: Vec<CreateUserOutcome> = join_all_ok(
        users
            .iter()
            .map(|u| store.create_user(u, &appid, &oid, None))
            .collect(),
    )
    .await;
    let created = winners(&users, &outcomes, &CreateUserOutcome::Created);
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
        assert_eq!(
            user_of(store, &u.id).await.is_some(),
            u.id == winner.id,
            "only the winner exists"
        );
    }
    let linked = link_of(store, &appid, &oid, NOW).await.unwrap();
    assert_eq!(linked.user_id, winner.id);
}

/// `find_unionid_user` and `put_unionid_link_if_absent`, which never overwrites; a link that
/// names no user (a first login interrupted while undoing itself) counts as absent and goes.
pub async fn unionid_links<S: Identities>(store: &S) {
    let u = unionid();
    let (user_a, user_b) = (user(None), user(None));
    create(store, &user_a, &app(), &openid(), None).await;
    create(store, &user_b, &app(), &openid(), None).await;
    let (a, b) = (user_a.id.clone(), user_b.id.clone());
    assert_eq!(store.find_unionid_user(&u).await.unwrap(), None);
    store.put_unionid_link_if_absent(&u, &a).await.unwrap();
    assert_eq!(store.find_unionid_user(&u).await.unwrap(), Some(a.clone()));
    store.put_unionid_link_if_absent(&u, &b).await.unwrap();
    assert_eq!(
        store.find_unionid_user(&u).await.unwrap(),
        Some(a.clone()),
        "an existing unionid link is not overwritten"
    );

    // Nor one made by create_user.
    let (u2, owner) = (unionid(), user(None));
    create(store, &owner, &app(), &openid(), Some(&u2)).await;
    store.put_unionid_link_if_absent(&u2, &b).await.unwrap();
    assert_eq!(store.find_unionid_user(&u2).await.unwrap(), Some(owner.id));

    // A link to a user that does not exist is no link, and is removed: a real one can follow.
    let (u3, nobody) = (unionid(), UserId::new_random());
    store
        .put_unionid_link_if_absent(&u3, &nobody)
        .await
        .unwrap();
    assert_eq!(store.find_unionid_user(&u3).await.unwrap(), None);
    store.put_unionid_link_if_absent(&u3, &a).await.unwrap();
    assert_eq!(store.find_unionid_user(&u3).await.unwrap(), Some(a));
}

/// `link_openid`: Linked (user gains the app, link records the unionid), OpenIdTaken,
/// UserHasOtherOpenId (also with a stale read), UserChanged for a missing user; refusals
/// write nothing.
pub async fn link_openid<S: Identities>(store: &S) {
    let owner = account(store, None).await;
    let (app1, oid1, read) = (&owner.appid, &owner.openid, &owner.user);
    let (app2, oid2) = (app(), openid());

    let u = unionid();
    assert_eq!(
        store
            .link_openid(read, &app2, &oid2, Some(&u), NOW + 10)
            .await
            .unwrap(),
        LinkOutcome::Linked
    );
    let after = stored_user(store, &read.id).await;
    assert_eq!(after.openids.get(app1), Some(oid1));
    assert_eq!(after.openids.get(&app2), Some(&oid2));
    assert_eq!(after.openids.len(), 2);
    assert_eq!(after.phone, None);
    assert_eq!(
        link_of(store, &app2, &oid2, NOW + 11).await,
        Some(LinkedUser {
            user_id: read.id.clone(),
            phone: None,
            unionid: Some(u.clone()),
            disabled: false,
        }),
        "the new link points at the user and records the unionid"
    );
    // The unionid link item is the caller's business.
    assert_eq!(store.find_unionid_user(&u).await.unwrap(), None);

    // The openid is someone's already (here: owner's own).
    let other_read = account(store, None).await.user;
    assert_eq!(
        try_link(store, &other_read, &app2, &oid2, NOW + 12).await,
        LinkOutcome::OpenIdTaken
    );
    assert!(
        !stored_user(store, &other_read.id)
            .await
            .openids
            .contains_key(&app2)
    );

    // The user already has another openid for that app: with a fresh read...
    let oid3 = openid();
    assert_eq!(
        try_link(store, &after, &app2, &oid3, NOW + 13).await,
        LinkOutcome::UserHasOtherOpenId
    );
    // ...and with a stale one that predates the first link.
    assert_eq!(
        try_link(store, read, &app2, &oid3, NOW + 14).await,
        LinkOutcome::UserHasOtherOpenId
    );
    assert_eq!(
        link_of(store, &app2, &oid3, NOW + 15).await,
        None,
        "a refused link writes no link item"
    );
    assert_eq!(
        stored_user(store, &read.id).await.openids.get(&app2),
        Some(&oid2)
    );

    // A user that does not exist (deleted, or never created).
    let ghost = user(None);
    let (app4, oid4) = (app(), openid());
    assert_eq!(
        try_link(store, &ghost, &app4, &oid4, NOW + 16).await,
        LinkOutcome::UserChanged
    );
    assert_eq!(user_of(store, &ghost.id).await, None);
    assert_eq!(link_of(store, &app4, &oid4, NOW + 17).await, None);
}

/// `link_openid` requires the user's phone unchanged since read: a read with a phone the
/// stored user lacks, without the phone it has, or with another phone is `UserChanged` and
/// writes nothing; a matching phone links and the link carries the phone.
pub async fn link_openid_phone_guard<S: Identities>(store: &S) {
    // Stored user without a phone, read claims one.
    let mut forged = account(store, None).await.user;
    let owner_id = forged.id.clone();
    forged.phone = Some(phone());
    let (app2, oid2) = (app(), openid());
    assert_eq!(
        try_link(store, &forged, &app2, &oid2, NOW).await,
        LinkOutcome::UserChanged
    );
    assert_eq!(
        link_of(store, &app2, &oid2, NOW).await,
        None,
        "UserChanged writes no link item"
    );
    assert!(
        !stored_user(store, &owner_id)
            .await
            .openids
            .contains_key(&app2)
    );

    // Stored user with a phone.
    let p = phone();
    let read = account(store, Some(p.clone())).await.user;
    assert_eq!(read.phone, Some(p.clone()));
    let (app3, oid3) = (app(), openid());
    for stale_phone in [None, Some(phone())] {
        let stale = User {
            phone: stale_phone,
            ..read.clone()
        };
        assert_eq!(
            try_link(store, &stale, &app3, &oid3, NOW).await,
            LinkOutcome::UserChanged
        );
        assert_eq!(link_of(store, &app3, &oid3, NOW).await, None);
    }
    assert_eq!(
        try_link(store, &read, &app3, &oid3, NOW).await,
        LinkOutcome::Linked
    );
    assert_eq!(
        link_of(store, &app3, &oid3, NOW).await,
        Some(LinkedUser {
            user_id: read.id.clone(),
            phone: Some(p),
            unionid: None,
            disabled: false,
        })
    );
}

// ---- user versions ---------------------------------------------------------------------

/// `User.version`: `create_user` stores version 1; a successful `link_openid` bumps it by
/// one; a `link_openid` with a stale version is `UserChanged` and writes nothing.
pub async fn user_version<S: Identities>(store: &S) {
    let (app1, oid1) = (app(), openid());
    let owner = user(None);
    assert_eq!(owner.version, 1);
    create(store, &owner, &app1, &oid1, None).await;
    let read = stored_user(store, &owner.id).await;
    assert_eq!(read.version, 1, "create_user stores version 1");

    let (app2, oid2) = (app(), openid());
    assert_eq!(
        try_link(store, &read, &app2, &oid2, NOW + 1).await,
        LinkOutcome::Linked
    );
    let linked = stored_user(store, &owner.id).await;
    assert_eq!(linked.version, 2, "a link bumps the version by one");

    // `read` is stale now (version 1, stored 2): a third app is refused, nothing written.
    let (app3, oid3) = (app(), openid());
    assert_eq!(
        try_link(store, &read, &app3, &oid3, NOW + 2).await,
        LinkOutcome::UserChanged
    );
    assert_eq!(
        stored_user(store, &owner.id).await,
        linked,
        "a refused link leaves the user as it was"
    );
    assert_eq!(
        link_of(store, &app3, &oid3, NOW + 3).await,
        None,
        "a refused link writes no link item"
    );

    // With the fresh read it links, and the version moves on again.
    assert_eq!(
        try_link(store, &linked, &app3, &oid3, NOW + 4).await,
        LinkOutcome::Linked
    );
    assert_eq!(stored_user(store, &owner.id).await.version, 3);
}

// ---- passwords and profiles ------------------------------------------------------------

/// `set_password_hash` sets (and replaces) the user's hash and nothing else (not the
/// version); for a missing user it is Ok and creates nothing.
pub async fn set_password_hash<S: Identities>(store: &S) {
    let read = account(store, None).await.user;
    assert_eq!(read.password_hash, None);

    for hash in [
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$bmV3aGFzaA",
    ] {
        store.set_password_hash(&read.id, hash).await.unwrap();
        assert_eq!(
            stored_user(store, &read.id).await,
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
        user_of(store, &ghost).await,
        None,
        "a missing user is not created"
    );
}

/// `set_profile` sets the given fields only (None leaves a field as it was; both None changes
/// nothing), never the version: a read from before profile and password updates still links
/// an openid. For a missing user it is Ok and creates nothing.
pub async fn set_profile<S: Identities>(store: &S) {
    let read = account(store, None).await.user;
    let owner_id = &read.id;
    assert_eq!((&read.nickname, &read.avatar_url), (&None, &None));
    let get = || stored_user(store, owner_id);
    let set = |nickname, avatar_url| async move {
        store
            .set_profile(owner_id, nickname, avatar_url)
            .await
            .unwrap()
    };
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

    set(Some(nick1), None).await;
    assert_eq!(get().await, expect(Some(nick1), None), "nickname only");
    set(None, Some(url1)).await;
    assert_eq!(
        get().await,
        expect(Some(nick1), Some(url1)),
        "avatar only; the nickname stays"
    );
    set(Some(nick2), None).await;
    assert_eq!(
        get().await,
        expect(Some(nick2), Some(url1)),
        "the avatar stays"
    );
    set(Some(nick1), Some(url2)).await;
    assert_eq!(get().await, expect(Some(nick1), Some(url2)), "both");
    set(None, None).await;
    assert_eq!(
        get().await,
        expect(Some(nick1), Some(url2)),
        "neither: nothing changes"
    );

    // Profile and password are not identity changes: the old read is not stale.
    store
        .set_password_hash(owner_id, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
        .await
        .unwrap();
    assert_eq!(get().await.version, read.version);
    let (app2, oid2) = (app(), openid());
    assert_eq!(
        try_link(store, &read, &app2, &oid2, NOW + 1).await,
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
        user_of(store, &ghost).await,
        None,
        "a missing user is not created"
    );
}

/// `create_user` stores the user as given, password hash and profile included.
pub async fn create_user_profile_fields<S: Identities>(store: &S) {
    let (appid, oid) = (app(), openid());
    let given = User {
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        nickname: Some("小明".to_owned()),
        avatar_url: Some("https://example.com/a.png".to_owned()),
        ..user(None)
    };
    create(store, &given, &appid, &oid, None).await;
    let mut expected = given.clone();
    expected.openids.insert(appid, oid);
    assert_eq!(user_of(store, &given.id).await, Some(expected));
}
