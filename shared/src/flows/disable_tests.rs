//! Disabled accounts through the flows, over the in-memory store and the fake WeChat: a
//! disabled user cannot log in (WeChat, unionid join, password), refresh, bind or use a
//! session; enabling lets them log in again as the same user, with none of the old sessions.

use crate::domain::{PhoneNumber, SignupMode, UserId};
use crate::error::AppError;
use crate::flows::admin::{force_logout, set_disabled};
use crate::flows::bind_phone::PhoneProof;
use crate::flows::password::LoginVia;
use crate::flows::{LoginOutcome, SessionTokens};
use crate::principal::Principal;
use crate::test_support::*;

const PASSWORD: &str = "tea kettle sunrise";

fn phone() -> PhoneNumber {
    PhoneNumber::from_parts("86", "13800138011").unwrap()
}

fn id_of(s: &SessionTokens) -> UserId {
    UserId::parse(&s.user.id).unwrap()
}

/// Sends a code to `phone()` and binds it for `claimant` with that code.
async fn sms_bind(h: &Harness, claimant: &Principal) -> Result<SessionTokens, AppError> {
    let sms = CapturedSms::new();
    h.backend.send_sms_code(&sms, &phone(), None).await.unwrap();
    let code = sms.last_code(phone().e164()).unwrap();
    let proof = PhoneProof::Sms {
        phone: phone(),
        code,
    };
    h.backend.bind_phone(claimant, proof, None).await
}

/// SIGNUP_MODE=phone: a first login of `user` in `appid` and the claimant its bind token names.
async fn unlinked(h: &Harness, appid: &str, user: &str) -> Principal {
    let LoginOutcome::PhoneRequired(p) = h.login_as(appid, user).await.unwrap() else {
        panic!("{user} must be unknown in {appid}")
    };
    let claims = h.verifier().await.verify_bind(&p.bind_token).unwrap();
    Principal::Unlinked {
        appid: crate::domain::AppId::parse(&claims.appid).unwrap(),
        openid: crate::domain::OpenId::parse(&claims.openid).unwrap(),
        unionid: None,
    }
}

/// `user` logged in to APP with a phone bound by SMS and a password set; their tokens.
async fn with_phone_and_password(h: &Harness, user: &str) -> SessionTokens {
    let s = h.session(APP, user).await;
    let bound = sms_bind(h, &Principal::User(session_of(&s, APP, user)))
        .await
        .unwrap();
    h.backend
        .set_password(&session_of(&bound, APP, user), PASSWORD, None, None)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_disabled_user_can_do_nothing_until_enabled_and_then_starts_afresh() {
    let h = Harness::new(SignupMode::OpenId).await;
    h.wechat.enable_unionid(APP).enable_unionid(APP2);
    let s = with_phone_and_password(&h, "erin").await;
    let id = id_of(&s);

    let user = set_disabled(&h.store, &id, true).await.unwrap().unwrap();
    assert!(user.disabled);

    // WeChat login in the app it has, and through its unionid in the other one.
    for appid in [APP, APP2] {
        let refused = h.login_as(appid, "erin").await;
        assert!(
            matches!(refused, Err(AppError::AccountDisabled)),
            "{appid}: {refused:?}"
        );
    }
    // The right password still proves nothing for a disabled account.
    let by_password = h
        .backend
        .password_login(
            &phone(),
            PASSWORD,
            LoginVia::Nothing(Some(APP.to_owned())),
            None,
        )
        .await;
    assert!(
        matches!(by_password, Err(AppError::AccountDisabled)),
        "{by_password:?}"
    );
    // Its sessions: refresh and every session check refuse.
    assert!(matches!(
        h.backend.refresh(&s.refresh_token).await,
        Err(AppError::RefreshRevoked)
    ));
    let caller = session_of(&s, APP, "erin");
    assert!(matches!(
        h.backend.live_caller(&caller).await,
        Err(AppError::Unauthorized)
    ));

    // Enabled: the same user logs in again; the old sessions stay ended.
    let user = set_disabled(&h.store, &id, false).await.unwrap().unwrap();
    assert!(!user.disabled);
    h.clock.advance(1);
    let again = h.session(APP, "erin").await;
    assert_eq!(again.user.id, s.user.id);
    assert!(matches!(
        h.backend.refresh(&s.refresh_token).await,
        Err(AppError::RefreshRevoked)
    ));
    assert!(h.backend.refresh(&again.refresh_token).await.is_ok());
}

#[tokio::test]
async fn a_disabled_users_phone_cannot_be_joined_by_a_phone_first_signup() {
    let h = Harness::new(SignupMode::Phone).await;
    // In phone mode the account comes from a bind token and an SMS-proved phone.
    let s = sms_bind(&h, &unlinked(&h, APP, "fay").await).await.unwrap();
    set_disabled(&h.store, &id_of(&s), true)
        .await
        .unwrap()
        .unwrap();
    // The same person in another app proves the same phone: joining the account is refused.
    let other_app = unlinked(&h, APP2, "fay").await;
    h.clock.advance(61);
    let joined = sms_bind(&h, &other_app).await;
    assert!(
        matches!(joined, Err(AppError::AccountDisabled)),
        "{joined:?}"
    );
}

#[tokio::test]
async fn force_logout_ends_every_session_and_the_user_can_log_in_again() {
    let h = Harness::new(SignupMode::OpenId).await;
    let first = h.session(APP, "gus").await;
    let second = h.session(APP, "gus").await;
    h.clock.advance(1);
    assert!(
        force_logout(&h.store, &id_of(&first), crate::clock::Clock::now(&h.clock))
            .await
            .unwrap()
    );
    for s in [&first, &second] {
        assert!(matches!(
            h.backend.refresh(&s.refresh_token).await,
            Err(AppError::RefreshRevoked)
        ));
    }
    h.clock.advance(1);
    let again = h.session(APP, "gus").await;
    assert!(h.backend.refresh(&again.refresh_token).await.is_ok());
    assert!(
        !force_logout(&h.store, &UserId::parse("u_nobody").unwrap(), 0)
            .await
            .unwrap()
    );
}
