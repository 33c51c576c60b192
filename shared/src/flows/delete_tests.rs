//! Account deletion through the flows, over the in-memory store and the fake WeChat: what is
//! erased, which tokens stop at once, what the next login and the next bind see, idempotence,
//! and what deletion leaves alone (a logged-out token; a unionid link to someone else).

use crate::domain::{AppId, OpenId, PhoneNumber, SignupMode, UnionId, UserId};
use crate::error::AppError;
use crate::flows::delete_account::{Deletion, erase_user};
use crate::flows::session::LogoutProof;
use crate::flows::{SessionService, SessionTokens};
use crate::store::{
    BindOutcome, Identities as _, InMemoryStore, PhoneOwnership as _, Sessions as _, User,
};
use crate::test_support::*;

async fn sessions(h: &Harness) -> SessionService<InMemoryStore> {
    h.sessions().await
}

fn phone() -> PhoneNumber {
    PhoneNumber::from_parts("86", "13800138000").unwrap()
}

async fn stored(h: &Harness, s: &SessionTokens) -> User {
    let id = UserId::parse(&s.user.id).unwrap();
    h.store.get_user(&id).await.unwrap().unwrap()
}

fn ids(appid: &str, user: &str) -> (AppId, OpenId) {
    (
        AppId::parse(appid).unwrap(),
        OpenId::parse(&crate::fake::FakeWeChat::openid(appid, user)).unwrap(),
    )
}

#[tokio::test]
async fn a_deleted_account_leaves_nothing_and_its_sessions_end_at_once() {
    let h = Harness::new(SignupMode::OpenId).await;
    h.wechat.enable_unionid(APP).enable_unionid(APP2);
    let service = sessions(&h).await;
    let s = h.session(APP, "alice").await;
    let other_device = h.session(APP, "alice").await;
    let in_app2 = h.session(APP2, "alice").await;
    assert_eq!(in_app2.user.id, s.user.id, "one user through the unionid");
    let user = stored(&h, &s).await;
    assert_eq!(
        h.store.bind_phone(&user, &phone()).await.unwrap(),
        BindOutcome::Bound
    );
    h.store
        .set_password_hash(&user.id, "$argon2id$stub")
        .await
        .unwrap();
    h.store
        .set_profile(&user.id, Some("Alice"), Some("https://example.com/a.png"))
        .await
        .unwrap();
    let caller = session_of(&s, APP, "alice");

    assert_eq!(
        service.delete_account(&caller).await.unwrap(),
        Deletion::Deleted
    );

    // Every item that named the user is gone.
    assert_eq!(h.store.get_user(&user.id).await.unwrap(), None);
    let unionid = UnionId::parse(&crate::fake::FakeWeChat::unionid("alice")).unwrap();
    assert_eq!(h.store.find_unionid_user(&unionid).await.unwrap(), None);
    assert_eq!(h.store.phone_owner(&phone()).await.unwrap(), None);
    let now = crate::clock::Clock::now(&h.clock);
    for appid in [APP, APP2] {
        let (a, o) = ids(appid, "alice");
        assert_eq!(
            h.store.touch_openid_link(&a, &o, None, now).await.unwrap(),
            None
        );
        assert_eq!(h.store.get_session_key(&a, &o, now).await.unwrap(), None);
    }
    assert_eq!(
        h.store.get_family(&caller.session, now).await.unwrap(),
        None
    );

    // Its tokens stop at once: the account routes, the export, and every refresh family.
    assert!(matches!(
        service.profile(&caller).await,
        Err(AppError::Unauthorized)
    ));
    assert!(matches!(
        service.export(&caller).await,
        Err(AppError::Unauthorized)
    ));
    for tokens in [&s, &other_device, &in_app2] {
        assert!(matches!(
            h.backend.refresh(&tokens.refresh_token).await,
            Err(AppError::RefreshRevoked)
        ));
    }

    // Asked again (a retried request): the same success, nothing to do.
    assert_eq!(
        service.delete_account(&caller).await.unwrap(),
        Deletion::AlreadyGone
    );

    // The same WeChat identity is a new user, in both apps; the phone is free again.
    let again = h.session(APP, "alice").await;
    assert_ne!(again.user.id, s.user.id);
    assert!(!again.user.phone_bound);
    assert_eq!(h.session(APP2, "alice").await.user.id, again.user.id);
    let bob = stored(&h, &h.session(APP, "bob").await).await;
    assert_eq!(
        h.store.bind_phone(&bob, &phone()).await.unwrap(),
        BindOutcome::Bound
    );
}

#[tokio::test]
async fn a_logged_out_session_cannot_delete_the_account() {
    let h = Harness::new(SignupMode::OpenId).await;
    let service = sessions(&h).await;
    let s = h.session(APP, "carol").await;
    service
        .logout(LogoutProof::Access(&s.access_token), false)
        .await
        .unwrap();
    // The access token is still a valid JWT, but its session has ended.
    let refused = service.delete_account(&session_of(&s, APP, "carol")).await;
    assert!(
        matches!(refused, Err(AppError::Unauthorized)),
        "{refused:?}"
    );
    assert!(
        h.store
            .get_user(&UserId::parse(&s.user.id).unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

/// An openid link may record a unionid whose link names an earlier user (the earlier link
/// wins). Deleting the later user leaves that link, and its user, alone.
#[tokio::test]
async fn a_unionid_link_naming_another_user_stays() {
    let h = Harness::new(SignupMode::OpenId).await;
    let now = crate::clock::Clock::now(&h.clock);
    let unionid = UnionId::parse("un_shared_person").unwrap();
    let earlier = h.session(APP2, "dora").await;
    let earlier_id = UserId::parse(&earlier.user.id).unwrap();
    h.store
        .put_unionid_link_if_absent(&unionid, &earlier_id)
        .await
        .unwrap();
    let later = h.session(APP, "dora").await;
    let (a, o) = ids(APP, "dora");
    // The later user's link records the unionid (it had none).
    h.store
        .touch_openid_link(&a, &o, Some(&unionid), now)
        .await
        .unwrap();
    let later_id = UserId::parse(&later.user.id).unwrap();
    assert_eq!(
        erase_user(&h.store, &later_id, None, now).await.unwrap(),
        Deletion::Deleted
    );
    assert_eq!(h.store.get_user(&later_id).await.unwrap(), None);
    assert_eq!(
        h.store.find_unionid_user(&unionid).await.unwrap(),
        Some(earlier_id.clone())
    );
    assert!(h.store.get_user(&earlier_id).await.unwrap().is_some());
}
