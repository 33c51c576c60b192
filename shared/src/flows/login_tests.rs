//! The login rules, through the flow, over the in-memory store and the fake WeChat.

use crate::domain::SignupMode;
use crate::error::{AppError, UpstreamFault};
use crate::fake::Misbehaviour;
use crate::flows::LoginOutcome;
use crate::test_support::*;
use std::time::Duration;

const JSCODE: &str = "/sns/jscode2session";

#[tokio::test]
async fn a_new_openid_creates_a_user_and_a_known_one_finds_it() {
    let h = Harness::new(SignupMode::OpenId).await;
    let first = h.session(APP, "alice").await;
    assert!(first.user.created);
    assert!(!first.user.phone_bound);
    let second = h.session(APP, "alice").await;
    assert!(!second.user.created);
    assert_eq!(first.user.id, second.user.id);
    assert_ne!(h.session(APP, "bob").await.user.id, first.user.id);
    assert_eq!(h.store.user_count(), 2);
}

#[tokio::test]
async fn the_access_token_verifies_and_names_the_user_app_and_family() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "alice").await;
    let claims = h.verifier().await.verify_access(&s.access_token).unwrap();
    assert_eq!(claims.sub, s.user.id);
    assert_eq!(claims.appid, APP);
    assert_eq!(claims.openid, crate::fake::FakeWeChat::openid(APP, "alice"));
    assert_eq!(claims.exp - claims.iat, 7200);
    assert!(s.refresh_token.starts_with(&format!("{}.", claims.sid)));
    assert_eq!(s.expires_in, 7200);
}

#[tokio::test]
async fn a_replayed_code_is_refused_without_calling_wechat() {
    let h = Harness::new(SignupMode::OpenId).await;
    let code = h.wechat.issue_code(APP, "alice");
    let first = h.login_code(APP, &code).await.unwrap();
    assert_eq!(h.wechat.calls(JSCODE), 1);
    assert!(matches!(
        h.login_code(APP, &code).await,
        Err(AppError::InvalidCode)
    ));
    assert_eq!(
        h.wechat.calls(JSCODE),
        1,
        "WeChat must not see a claimed code twice"
    );
    // The first session is intact.
    let LoginOutcome::Session(s) = first else {
        panic!()
    };
    assert!(h.backend.refresh(&s.refresh_token).await.is_ok());
}

#[tokio::test]
async fn concurrent_first_logins_make_one_user() {
    let h = Harness::new(SignupMode::OpenId).await;
    let codes: Vec<String> = (0..8).map(|_| h.wechat.issue_code(APP, "carol")).collect();
    let mut tasks = Vec::new();
    for code in codes {
        let backend = h.backend.clone();
        tasks.push(tokio::spawn(async move {
            backend
                .login(crate::flows::LoginRequest {
                    code: crate::domain::LoginCode::parse(&code).unwrap(),
                    appid: Some(APP.into()),
                    source_ip: None,
                })
                .await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for t in tasks {
        let LoginOutcome::Session(s) = t.await.unwrap().unwrap() else {
            panic!()
        };
        created += usize::from(s.user.created);
        ids.insert(s.user.id);
    }
    assert_eq!(ids.len(), 1, "all answers name the same user");
    assert_eq!(created, 1);
    assert_eq!(h.store.user_count(), 1);
}

#[tokio::test]
async fn a_unionid_finds_the_same_person_in_another_app() {
    let h = Harness::new(SignupMode::OpenId).await;
    h.wechat.enable_unionid(APP).enable_unionid(APP2);
    let a = h.session(APP, "dave").await;
    let b = h.session(APP2, "dave").await;
    assert!(a.user.created);
    assert!(!b.user.created);
    assert_eq!(a.user.id, b.user.id);
    assert_eq!(h.store.user_count(), 1);
}

#[tokio::test]
async fn a_unionid_that_appears_later_joins_without_erasing() {
    let h = Harness::new(SignupMode::OpenId).await;
    let a = h.session(APP, "erin").await; // no unionid yet
    h.wechat.enable_unionid(APP).enable_unionid(APP2);
    let again = h.session(APP, "erin").await; // unionid now recorded
    assert_eq!(again.user.id, a.user.id);
    let b = h.session(APP2, "erin").await;
    assert_eq!(
        b.user.id, a.user.id,
        "the later unionid links the second app"
    );
}

#[tokio::test]
async fn phone_mode_returns_a_bind_token_and_keeps_the_session_key() {
    let h = Harness::new(SignupMode::Phone).await;
    let LoginOutcome::PhoneRequired(p) = h.login_as(APP, "frank").await.unwrap() else {
        panic!("expected phone_required")
    };
    let answer = crate::http::answers::phone_required(&p);
    let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["status"], "phone_required");
    assert_eq!(p.expires_in, 600);
    let v = h.verifier().await;
    let claims = v.verify_bind(&p.bind_token).unwrap();
    assert_eq!(claims.openid, crate::fake::FakeWeChat::openid(APP, "frank"));
    assert!(
        v.verify_access(&p.bind_token).is_err(),
        "a bind token is not an access token"
    );
    assert_eq!(h.store.user_count(), 0, "no user before a phone is proved");
    use crate::store::Sessions as _;
    let key = h
        .store
        .get_session_key(
            &crate::domain::AppId::parse(APP).unwrap(),
            &crate::domain::OpenId::parse(&claims.openid).unwrap(),
            crate::clock::Clock::now(&h.clock),
        )
        .await
        .unwrap();
    assert_eq!(
        key.unwrap().session_key.expose(),
        h.wechat.session_key(APP, "frank").unwrap()
    );
}

#[tokio::test]
async fn the_session_key_is_never_in_the_answer() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "gina").await;
    let json = crate::http::answers::tokens(&s).body;
    let key = h.wechat.session_key(APP, "gina").unwrap();
    assert!(!json.contains(&key));
    assert!(!json.contains(SECRET));
}

#[tokio::test]
async fn wechat_errcodes_map_to_the_design_errors() {
    let h = Harness::new(SignupMode::OpenId).await;
    for (errcode, check) in [
        (
            40029,
            (|e: &AppError| matches!(e, AppError::InvalidCode)) as fn(&AppError) -> bool,
        ),
        (40163, |e| matches!(e, AppError::InvalidCode)),
        (40226, |e| matches!(e, AppError::LoginBlocked)),
        (45011, |e| {
            matches!(
                e,
                AppError::RateLimited {
                    retry_after_secs: 60
                }
            )
        }),
        (40125, |e| matches!(e, AppError::Misconfigured(_))),
        (12345, |e| {
            matches!(e, AppError::Upstream(UpstreamFault::BadReply))
        }),
    ] {
        h.wechat.misbehave(JSCODE, Misbehaviour::Errcode(errcode));
        let err = h.login_as(APP, "henry").await.unwrap_err();
        assert!(check(&err), "errcode {errcode} gave {err:?}");
    }
    assert_eq!(h.store.user_count(), 0);
}

#[tokio::test]
async fn busy_is_retried_once_then_reported() {
    let h = Harness::new(SignupMode::OpenId).await;
    h.wechat.misbehave(JSCODE, Misbehaviour::Errcode(-1));
    assert!(h.login_as(APP, "ivy").await.is_ok(), "one -1 then success");
    assert_eq!(h.wechat.calls(JSCODE), 2);
    h.wechat.misbehave(JSCODE, Misbehaviour::Errcode(-1));
    h.wechat.misbehave(JSCODE, Misbehaviour::Errcode(-1));
    let err = h.login_as(APP, "ivy").await.unwrap_err();
    assert!(
        matches!(err, AppError::Upstream(UpstreamFault::Busy)),
        "{err:?}"
    );
    assert_eq!(h.wechat.calls(JSCODE), 4, "exactly one retry");
}

#[tokio::test]
async fn garbage_slow_and_incomplete_replies_create_no_user() {
    let h = Harness::new(SignupMode::OpenId).await;
    for how in [
        Misbehaviour::Html,
        Misbehaviour::Truncated,
        Misbehaviour::ServerError,
        Misbehaviour::MissingSessionKey,
    ] {
        h.wechat.misbehave(JSCODE, how.clone());
        let err = h.login_as(APP, "jack").await.unwrap_err();
        assert!(
            matches!(err, AppError::Upstream(UpstreamFault::BadReply)),
            "{how:?} gave {err:?}"
        );
    }
    h.wechat
        .misbehave(JSCODE, Misbehaviour::Slow(Duration::from_millis(900)));
    let err = h.login_as(APP, "jack").await.unwrap_err();
    assert!(
        matches!(err, AppError::Upstream(UpstreamFault::Timeout)),
        "{err:?}"
    );
    assert_eq!(h.store.user_count(), 0);
}

#[tokio::test]
async fn a_rotated_app_secret_is_reread_once() {
    let h = Harness::new(SignupMode::OpenId).await;
    // WeChat now expects a new secret; ours is stale until re-read.
    h.wechat.add_app(APP, "rotated-secret");
    h.secrets.set(
        WECHAT_SECRET_ID,
        &serde_json::json!({"apps": {APP: "rotated-secret", APP2: SECRET2}}).to_string(),
    );
    assert!(h.login_as(APP, "kate").await.is_ok());
    assert!(h.wechat.secret_was_sent("rotated-secret"));
    // A secret that stays wrong is MISCONFIGURED.
    h.wechat.add_app(APP, "something-else");
    assert!(matches!(
        h.login_as(APP, "kate").await,
        Err(AppError::Misconfigured(_))
    ));
}

#[tokio::test]
async fn unknown_and_missing_appids_are_refused_before_wechat() {
    let h = Harness::new(SignupMode::OpenId).await;
    let code = h.wechat.issue_code(APP, "liam");
    assert!(matches!(
        h.login_code("wxnotconfigured0", &code).await,
        Err(AppError::UnknownApp)
    ));
    let r = h
        .backend
        .login(crate::flows::LoginRequest {
            code: crate::domain::LoginCode::parse(&code).unwrap(),
            appid: None,
            source_ip: None,
        })
        .await;
    assert!(
        matches!(r, Err(AppError::InvalidRequest(_))),
        "two apps configured: appid required"
    );
    assert_eq!(h.wechat.calls(JSCODE), 0);
}

#[tokio::test]
async fn an_expired_code_is_invalid() {
    let h = Harness::new(SignupMode::OpenId).await;
    let code = h.wechat.issue_code(APP, "mia");
    h.wechat.age_codes(301);
    assert!(matches!(
        h.login_code(APP, &code).await,
        Err(AppError::InvalidCode)
    ));
}

#[tokio::test]
async fn a_rejected_secret_with_secrets_manager_down_is_still_misconfigured() {
    // The re-read that would pick up a rotation fails: the rejection stands, and it is the
    // operator's alarm (MISCONFIGURED), not a dependency outage (it was SERVICE_UNAVAILABLE).
    let h = Harness::new(SignupMode::OpenId).await;
    h.wechat.add_app(APP, "a-secret-we-do-not-have");
    h.secrets.fail(true);
    assert!(matches!(
        h.login_as(APP, "lara").await,
        Err(AppError::Misconfigured(_))
    ));
}
