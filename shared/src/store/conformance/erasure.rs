//! The `Erasure` suite: an erasure removes the user and every item that names it (openid and
//! unionid links, phone ownership, session_keys, the SMS code, the given family) and nothing of
//! anyone else's; a stale read or a pointer that names another user removes nothing.

use super::fixtures::{
    NOW, account, app, create, family, link_of, openid, phone, session_key, stored_user, unionid,
    user, user_of,
};
use crate::store::{
    EraseOutcome, Erasure, ErasurePlan, Identities, PhoneOwnership, Sessions, SmsCodes, User,
};

const LATER: u64 = NOW + 3_600;

/// Runs every check of this suite against `store`.
pub async fn run_erasure<S: Erasure + Identities + PhoneOwnership + Sessions + SmsCodes>(
    store: &S,
) {
    erases_the_user_and_everything_naming_it(store).await;
    a_stale_read_erases_nothing(store).await;
    a_unionid_link_naming_another_user_erases_nothing(store).await;
    pointers_already_gone_do_not_stop_it(store).await;
}

async fn erase<S: Erasure>(
    store: &S,
    user: &User,
    unionids: &[crate::domain::UnionId],
    family_id: Option<&str>,
) -> EraseOutcome {
    store
        .erase_user(ErasurePlan {
            user,
            unionids,
            family_id,
        })
        .await
        .unwrap()
}

/// A user with a phone, two apps (one with a unionid), session_keys, an SMS code and a family;
/// beside it another user with its own items. The erasure takes all of the first, none of the
/// second.
pub async fn erases_the_user_and_everything_naming_it<
    S: Erasure + Identities + PhoneOwnership + Sessions + SmsCodes,
>(
    store: &S,
) {
    let (app1, oid1, app2, oid2, u, p) = (app(), openid(), app(), openid(), unionid(), phone());
    let first = user(None);
    create(store, &first, &app1, &oid1, Some(&u)).await;
    let linked = store
        .link_openid(
            &stored_user(store, &first.id).await,
            &app2,
            &oid2,
            None,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(linked, crate::store::LinkOutcome::Linked);
    let bound = store
        .bind_phone(&stored_user(store, &first.id).await, &p)
        .await
        .unwrap();
    assert_eq!(bound, crate::store::BindOutcome::Bound);
    let fam = family(&first.id, &app1, &oid1, LATER);
    store
        .start_session(Some(&session_key(&app1, &oid1, LATER)), &fam)
        .await
        .unwrap();
    store
        .put_session_key(&session_key(&app2, &oid2, LATER))
        .await
        .unwrap();
    store.put_sms_code(&p, "salted-hash", LATER).await.unwrap();
    let other_phone = phone();
    let other = account(store, Some(other_phone.clone())).await;
    let other_family = family(&other.user.id, &other.appid, &other.openid, LATER);
    store
        .start_session(
            Some(&session_key(&other.appid, &other.openid, LATER)),
            &other_family,
        )
        .await
        .unwrap();

    let read = stored_user(store, &first.id).await;
    assert_eq!(
        erase(store, &read, std::slice::from_ref(&u), Some(&fam.id)).await,
        EraseOutcome::Erased
    );
    assert_eq!(user_of(store, &first.id).await, None, "the user");
    for (a, o) in [(&app1, &oid1), (&app2, &oid2)] {
        assert_eq!(link_of(store, a, o, NOW).await, None, "an openid link");
        assert_eq!(
            store.get_session_key(a, o, NOW).await.unwrap(),
            None,
            "a session_key"
        );
    }
    assert_eq!(
        store.find_unionid_user(&u).await.unwrap(),
        None,
        "the unionid link"
    );
    assert_eq!(
        store.phone_owner(&p).await.unwrap(),
        None,
        "the phone's owner"
    );
    assert_eq!(
        store.attempt_sms_code(&p, 5, NOW).await.unwrap(),
        None,
        "the SMS code"
    );
    assert_eq!(
        store.get_family(&fam.id, NOW).await.unwrap(),
        None,
        "the family"
    );

    // The other user is untouched.
    assert_eq!(stored_user(store, &other.user.id).await, other.user);
    assert!(
        link_of(store, &other.appid, &other.openid, NOW)
            .await
            .is_some()
    );
    assert_eq!(
        store.phone_owner(&other_phone).await.unwrap(),
        Some(other.user.id.clone())
    );
    assert!(
        store
            .get_session_key(&other.appid, &other.openid, NOW)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .get_family(&other_family.id, NOW)
            .await
            .unwrap()
            .is_some()
    );
    // The phone can be bound again.
    let next = account(store, None).await;
    assert_eq!(
        store.bind_phone(&next.user, &p).await.unwrap(),
        crate::store::BindOutcome::Bound
    );
}

/// The user changed after it was read (a phone bound): `Changed`, and everything stays.
pub async fn a_stale_read_erases_nothing<S: Erasure + Identities + PhoneOwnership>(store: &S) {
    let a = account(store, None).await;
    let p = phone();
    assert_eq!(
        store.bind_phone(&a.user, &p).await.unwrap(),
        crate::store::BindOutcome::Bound
    );
    assert_eq!(
        erase(store, &a.user, &[], None).await,
        EraseOutcome::Changed
    );
    let now_stored = stored_user(store, &a.user.id).await;
    assert_eq!(now_stored.phone, Some(p.clone()));
    assert!(link_of(store, &a.appid, &a.openid, NOW).await.is_some());
    assert_eq!(
        store.phone_owner(&p).await.unwrap(),
        Some(a.user.id.clone())
    );
    // Read again: erased.
    assert_eq!(
        erase(store, &now_stored, &[], None).await,
        EraseOutcome::Erased
    );
    assert_eq!(store.phone_owner(&p).await.unwrap(), None);
}

/// A listed unionid link that names someone else: `Changed`, and nothing is removed.
pub async fn a_unionid_link_naming_another_user_erases_nothing<S: Erasure + Identities>(store: &S) {
    let u = unionid();
    let owner = user(None);
    create(store, &owner, &app(), &openid(), Some(&u)).await;
    let a = account(store, None).await;
    assert_eq!(
        erase(store, &a.user, std::slice::from_ref(&u), None).await,
        EraseOutcome::Changed
    );
    assert!(user_of(store, &a.user.id).await.is_some());
    assert!(link_of(store, &a.appid, &a.openid, NOW).await.is_some());
    assert_eq!(store.find_unionid_user(&u).await.unwrap(), Some(owner.id));
}

/// A listed unionid link or family that does not exist is no obstacle.
pub async fn pointers_already_gone_do_not_stop_it<S: Erasure + Identities>(store: &S) {
    let a = account(store, Some(phone())).await;
    assert_eq!(
        erase(store, &a.user, &[unionid()], Some("no-such-family")).await,
        EraseOutcome::Erased
    );
    assert_eq!(user_of(store, &a.user.id).await, None);
    assert_eq!(link_of(store, &a.appid, &a.openid, NOW).await, None);
}
