//! Credentials under attack: an ended session's access token cannot mint tokens or set a
//! password (through the route, where the caller is decided), the old-password check meets
//! the password lock, and the lock cannot be aimed at a victim from one address.

use crate::domain::{PhoneNumber, SignupMode};
use crate::error::AppError;
use crate::flows::bind_phone::PhoneProof;
use crate::flows::password::LoginVia;
use crate::flows::password_guard::{
    LOCK_WINDOW_SECS, MAX_FAILURES_PER_PHONE, MAX_FAILURES_PER_SOURCE,
};
use crate::http::{HttpRequest, routes};
use crate::principal::Principal;
use crate::principal::SessionPrincipal;
use crate::store::{Identities as _, Sessions as _};
use crate::test_support::*;

const PASSWORD: &str = "tea kettle sunrise";
const ATTACKER: &str = "198.51.100.66";
const OWNER: &str = "203.0.113.7";

fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::from_parts("86", raw).unwrap()
}

fn post(path: &str, token: &str, body: serde_json::Value) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: path.into(),
        headers: vec![("authorization".into(), format!("Bearer {token}"))],
        body: body.to_string().into_bytes(),
        source_ip: Some(OWNER.into()),
        request_id: "req".into(),
        authorizer: None,
        ..HttpRequest::default()
    }
}

fn error_code(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["error"]["code"].as_str().unwrap_or_default().to_owned()
}

/// `user` logs in and binds `raw` with a WeChat phone code; the claims of the new session.
async fn user_with_phone(h: &Harness, user: &str, raw: &str) -> (String, SessionPrincipal) {
    let s = h.session(APP, user).await;
    let who = Principal::User(session_of(&s, APP, user));
    let code = h.wechat.issue_phone_code(APP, user, "86", raw, false);
    let bound = h
        .backend
        .bind_phone(&who, PhoneProof::Code(code), None)
        .await
        .unwrap();
    let caller = h.principal(&bound.access_token).await;
    (bound.access_token, caller)
}

#[tokio::test]
async fn after_logout_everywhere_the_access_token_cannot_set_a_password_or_bind() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let (token, claims) = user_with_phone(&h, "olga", "13800138501").await;
    let user = claims.user_id.clone();
    h.store
        .end_all_sessions(&user, crate::clock::Clock::now(&h.clock))
        .await
        .unwrap();
    h.clock.advance(1);

    let set = routes::account::handle(
        &*h.backend,
        &sms,
        &post(
            "/auth/password",
            &token,
            serde_json::json!({"password": PASSWORD}),
        ),
    )
    .await;
    assert_eq!(
        (set.status, error_code(&set.body).as_str()),
        (401, "UNAUTHORIZED"),
        "{}",
        set.body
    );
    assert!(!set.body.contains("refresh_token"));
    let stored = h.store.get_user(&user).await.unwrap().unwrap();
    assert!(stored.password_hash.is_none(), "no password was set");

    let code = h
        .wechat
        .issue_phone_code(APP, "olga", "86", "13800138501", false);
    let bind = routes::bind_phone::handle(
        &*h.backend,
        &post("/auth/phone", &token, serde_json::json!({"code": code})),
    )
    .await;
    assert_eq!(
        (bind.status, error_code(&bind.body).as_str()),
        (401, "UNAUTHORIZED"),
        "{}",
        bind.body
    );
}

#[tokio::test]
async fn a_revoked_session_token_cannot_log_in_with_a_password_as_its_identity() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let (token, claims) = user_with_phone(&h, "pia", "13800138502").await;
    h.backend
        .set_password(&claims, PASSWORD, None, None)
        .await
        .unwrap();
    // set_password ended every session, the one of `token` included.
    let login = routes::account::handle(
        &*h.backend,
        &sms,
        &post(
            "/auth/password/login",
            &token,
            serde_json::json!({"phone": "13800138502", "password": PASSWORD}),
        ),
    )
    .await;
    assert_eq!(
        (login.status, error_code(&login.body).as_str()),
        (401, "UNAUTHORIZED"),
        "{}",
        login.body
    );
}

#[tokio::test]
async fn wrong_old_passwords_meet_the_same_lock_as_password_login() {
    let h = Harness::new(SignupMode::OpenId).await;
    let (_, claims) = user_with_phone(&h, "quin", "13800138503").await;
    let first = h
        .backend
        .set_password(&claims, PASSWORD, None, None)
        .await
        .unwrap();
    let claims = h.principal(&first.access_token).await;
    for _ in 0..MAX_FAILURES_PER_SOURCE {
        assert!(matches!(
            h.backend
                .set_password(&claims, "a new good phrase", Some("guess"), Some(ATTACKER))
                .await,
            Err(AppError::InvalidCredentials)
        ));
    }
    // Before the fix this was the 6th of unlimited 401s.
    assert!(matches!(
        h.backend
            .set_password(&claims, "a new good phrase", Some(PASSWORD), Some(ATTACKER))
            .await,
        Err(AppError::RateLimited { .. })
    ));
    // The lock is the login's: password login from that address is locked as well.
    assert!(matches!(
        h.backend
            .password_login(
                &phone("13800138503"),
                PASSWORD,
                LoginVia::Nothing(Some(APP.into())),
                Some(ATTACKER)
            )
            .await,
        Err(AppError::RateLimited { .. })
    ));
}

#[tokio::test]
async fn failures_from_one_address_do_not_lock_the_owner_out() {
    let h = Harness::new(SignupMode::OpenId).await;
    let (_, claims) = user_with_phone(&h, "rosa", "13800138504").await;
    h.backend
        .set_password(&claims, PASSWORD, None, None)
        .await
        .unwrap();
    let p = phone("13800138504");
    for _ in 0..=MAX_FAILURES_PER_SOURCE {
        let _ = h
            .backend
            .password_login(
                &p,
                "wrong guess",
                LoginVia::Nothing(Some(APP.into())),
                Some(ATTACKER),
            )
            .await;
    }
    assert!(matches!(
        h.backend
            .password_login(
                &p,
                PASSWORD,
                LoginVia::Nothing(Some(APP.into())),
                Some(ATTACKER)
            )
            .await,
        Err(AppError::RateLimited { .. })
    ));
    // Before: six requests locked the phone for everyone for 15 minutes.
    let owner = h
        .backend
        .password_login(
            &p,
            PASSWORD,
            LoginVia::Nothing(Some(APP.into())),
            Some(OWNER),
        )
        .await
        .expect("the owner, from their own address, is not locked out");
    assert_eq!(owner.user.id, claims.user_id.as_str());
}

#[tokio::test]
async fn guesses_spread_over_many_addresses_meet_the_per_phone_backstop() {
    let h = Harness::new(SignupMode::OpenId).await;
    let (_, claims) = user_with_phone(&h, "sami", "13800138505").await;
    h.backend
        .set_password(&claims, PASSWORD, None, None)
        .await
        .unwrap();
    let p = phone("13800138505");
    // Stay inside one lock window.
    let now = crate::clock::Clock::now(&h.clock);
    h.clock.advance(LOCK_WINDOW_SECS - now % LOCK_WINDOW_SECS);
    for i in 0..MAX_FAILURES_PER_PHONE {
        let source = format!("10.0.{}.{}", i / 4, i % 4);
        assert!(matches!(
            h.backend
                .password_login(
                    &p,
                    "wrong guess",
                    LoginVia::Nothing(Some(APP.into())),
                    Some(&source)
                )
                .await,
            Err(AppError::InvalidCredentials)
        ));
    }
    assert!(matches!(
        h.backend
            .password_login(
                &p,
                PASSWORD,
                LoginVia::Nothing(Some(APP.into())),
                Some("10.9.9.9")
            )
            .await,
        Err(AppError::RateLimited { .. })
    ));
}
