//! Account features through the flows: SMS codes (binding, attempts, expiry, limits, races),
//! phone + password (policy, equal answers, lockout, changes, bind tokens), and the profile
//! (direct updates and legacy user info), over the in-memory store and the fake WeChat.

use crate::clock::Clock as _;
use crate::crypto::sha1_hex;
use crate::domain::{AppId, OpenId, PhoneNumber, SignupMode, UserId};
use crate::error::AppError;
use crate::fake::FakeWeChat;
use crate::flows::bind_phone::PhoneProof;
use crate::flows::password::{LOCK_WINDOW_SECS, LoginVia, MAX_FAILURES};
use crate::flows::profile::UserInfoData;
use crate::flows::sms::{CODE_TTL_SECS, MAX_ATTEMPTS, parse_phone};
use crate::flows::{LoginOutcome, SessionService, SessionTokens};
use crate::http::error_table::error_response;
use crate::principal::Principal;
use crate::principal::SessionPrincipal;
use crate::store::{Identities as _, PhoneOwnership as _};
use crate::test_support::*;

const IP: &str = "203.0.113.7";
const GOOD_PASSWORD: &str = "tea kettle sunrise";

fn phone(raw: &str) -> PhoneNumber {
    parse_phone(raw).unwrap()
}

fn now(h: &Harness) -> u64 {
    h.clock.now()
}

/// Moves the clock to the start of the next fixed window of `secs`, so that a test's sends
/// all fall in one window.
fn align_to_window(h: &Harness, secs: u64) {
    h.clock.advance(secs - now(h) % secs);
}

fn claimant_of(s: &SessionTokens, appid: &str, user: &str) -> Principal {
    Principal::User(session_of(s, appid, user))
}

/// SIGNUP_MODE=phone: a first login of `user` and the claimant its bind token names.
async fn bind_token_claimant(h: &Harness, appid: &str, user: &str) -> Principal {
    let LoginOutcome::PhoneRequired(p) = h.login_as(appid, user).await.unwrap() else {
        panic!("{user} must be unknown in {appid}")
    };
    let claims = h.verifier().await.verify_bind(&p.bind_token).unwrap();
    Principal::Unlinked {
        appid: AppId::parse(&claims.appid).unwrap(),
        openid: OpenId::parse(&claims.openid).unwrap(),
        unionid: None,
    }
}

/// Sends a code to `raw` (no caller IP) and returns the code the SMS carried.
async fn sent_code(h: &Harness, sms: &CapturedSms, raw: &str) -> String {
    let p = phone(raw);
    h.backend.send_sms_code(sms, &p, None).await.unwrap();
    sms.last_code(p.e164()).unwrap()
}

/// Sends a code to `raw` and binds it for `who` with that code.
async fn sms_bind(
    h: &Harness,
    sms: &CapturedSms,
    who: &Principal,
    raw: &str,
) -> Result<SessionTokens, AppError> {
    let code = sent_code(h, sms, raw).await;
    h.backend
        .bind_phone(
            who,
            PhoneProof::Sms {
                phone: phone(raw),
                code,
            },
            None,
        )
        .await
}

async fn verify(h: &Harness, raw: &str, code: &str) -> Result<(), AppError> {
    h.backend.verify_sms_code(&phone(raw), code).await
}

/// A 6-digit code that is not `code`.
fn other_code(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

async fn claims(h: &Harness, token: &str) -> SessionPrincipal {
    h.principal(token).await
}

/// Openid mode: `user` logs in and binds `raw` by SMS; their latest tokens.
async fn user_with_phone(h: &Harness, sms: &CapturedSms, user: &str, raw: &str) -> SessionTokens {
    let s = h.session(APP, user).await;
    sms_bind(h, sms, &claimant_of(&s, APP, user), raw)
        .await
        .unwrap()
}

async fn sessions(h: &Harness) -> SessionService<crate::store::InMemoryStore> {
    h.sessions().await
}

// ---------------------------------------------------------------------------------------------
// SMS codes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_sms_code_binds_the_phone_to_the_signed_in_user() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let s = h.session(APP, "alice").await;
    let r = sms_bind(&h, &sms, &claimant_of(&s, APP, "alice"), "13800138000")
        .await
        .unwrap();
    assert_eq!(r.user.id, s.user.id);
    assert!(r.user.phone_bound);
    assert_eq!(r.user.phone.as_deref(), Some("138****8000"));
    assert!(claims(&h, &r.access_token).await.phone_bound);
    let owner = h.store.phone_owner(&phone("13800138000")).await.unwrap();
    assert_eq!(owner.unwrap().as_str(), s.user.id);
    assert_eq!(
        h.wechat.calls("/wxa/business/getuserphonenumber"),
        0,
        "an SMS bind costs no WeChat call"
    );
}

#[tokio::test]
async fn in_phone_mode_an_sms_code_with_a_bind_token_creates_the_user() {
    let h = Harness::new(SignupMode::Phone).await;
    let sms = CapturedSms::new();
    let who = bind_token_claimant(&h, APP, "fay").await;
    assert_eq!(h.store.user_count(), 0);
    let r = sms_bind(&h, &sms, &who, "13500135000").await.unwrap();
    assert!(r.user.created);
    assert_eq!(r.user.phone.as_deref(), Some("135****5000"));
    assert_eq!(h.store.user_count(), 1);
    // The openid is linked: the next login is a normal session for the same user.
    let LoginOutcome::Session(s) = h.login_as(APP, "fay").await.unwrap() else {
        panic!("fay is known now")
    };
    assert_eq!(s.user.id, r.user.id);
    assert!(!s.user.created);
    assert!(s.user.phone_bound);
}

#[tokio::test]
async fn a_wrong_code_spends_an_attempt_and_after_five_even_the_right_code_is_refused() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    // Four wrong tries leave one: the right code still works.
    let code = sent_code(&h, &sms, "13800138001").await;
    for _ in 1..MAX_ATTEMPTS {
        assert!(matches!(
            verify(&h, "13800138001", &other_code(&code)).await,
            Err(AppError::InvalidCode)
        ));
    }
    verify(&h, "13800138001", &code).await.unwrap();
    // Five wrong tries use the code up.
    let code = sent_code(&h, &sms, "13800138002").await;
    for _ in 0..MAX_ATTEMPTS {
        assert!(matches!(
            verify(&h, "13800138002", &other_code(&code)).await,
            Err(AppError::InvalidCode)
        ));
    }
    assert!(matches!(
        verify(&h, "13800138002", &code).await,
        Err(AppError::InvalidCode)
    ));
    // A malformed code is refused before it can spend anything.
    assert!(matches!(
        verify(&h, "13800138002", "12345").await,
        Err(AppError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn an_sms_code_expires_after_five_minutes() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let code = sent_code(&h, &sms, "13800138003").await;
    h.clock.advance(CODE_TTL_SECS - 1);
    verify(&h, "13800138003", &code).await.unwrap();
    let code = sent_code(&h, &sms, "13800138003").await;
    h.clock.advance(CODE_TTL_SECS);
    assert!(matches!(
        verify(&h, "13800138003", &code).await,
        Err(AppError::InvalidCode)
    ));
}

#[tokio::test]
async fn an_sms_code_works_once() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let s = h.session(APP, "bob").await;
    let who = claimant_of(&s, APP, "bob");
    let code = sent_code(&h, &sms, "13900139000").await;
    let proof = || PhoneProof::Sms {
        phone: phone("13900139000"),
        code: code.clone(),
    };
    h.backend.bind_phone(&who, proof(), None).await.unwrap();
    // The same bind would be idempotent: only the spent code can refuse it.
    assert!(matches!(
        h.backend.bind_phone(&who, proof(), None).await,
        Err(AppError::InvalidCode)
    ));
}

#[tokio::test]
async fn a_second_send_within_a_minute_is_rate_limited_until_the_minute_passes() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let p = phone("13800138004");
    h.backend.send_sms_code(&sms, &p, Some(IP)).await.unwrap();
    match h.backend.send_sms_code(&sms, &p, Some(IP)).await {
        Err(AppError::RateLimited { retry_after_secs }) => {
            assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sms.sent().len(), 1, "a refused send sends nothing");
    h.clock.advance(60);
    h.backend.send_sms_code(&sms, &p, Some(IP)).await.unwrap();
    assert_eq!(sms.sent().len(), 2);
}

#[tokio::test]
async fn the_eleventh_send_of_a_day_to_one_phone_is_rate_limited() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let p = phone("13800138005");
    align_to_window(&h, 86_400);
    for _ in 0..10 {
        h.backend.send_sms_code(&sms, &p, None).await.unwrap();
        h.clock.advance(60);
    }
    match h.backend.send_sms_code(&sms, &p, None).await {
        Err(AppError::RateLimited { retry_after_secs }) => {
            assert!(retry_after_secs > 60, "the day's limit, not the minute's")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sms.sent().len(), 10);
    // Another phone is not affected; the next day this one is allowed again.
    h.backend
        .send_sms_code(&sms, &phone("13800138006"), None)
        .await
        .unwrap();
    align_to_window(&h, 86_400);
    h.backend.send_sms_code(&sms, &p, None).await.unwrap();
}

#[tokio::test]
async fn the_twenty_first_send_from_one_ip_in_an_hour_is_rate_limited() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    align_to_window(&h, 3_600);
    for i in 0..20 {
        let p = phone(&format!("1370013{i:04}"));
        h.backend.send_sms_code(&sms, &p, Some(IP)).await.unwrap();
    }
    let p21 = phone("13700139999");
    match h.backend.send_sms_code(&sms, &p21, Some(IP)).await {
        Err(AppError::RateLimited { retry_after_secs }) => {
            assert!(
                (1..=3_600).contains(&retry_after_secs),
                "{retry_after_secs}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sms.sent().len(), 20);
    // The phone itself was never counted: another IP may send to it.
    h.backend
        .send_sms_code(&sms, &p21, Some("198.51.100.1"))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_sms_text_carries_the_code_and_the_reply_only_its_lifetime() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let p = phone("13800138007");
    let reply = h.backend.send_sms_code(&sms, &p, Some(IP)).await.unwrap();
    assert_eq!(
        reply, CODE_TTL_SECS,
        "the reply is expires_in and nothing else"
    );
    let sent = sms.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "+8613800138007");
    let code = sms.last_code("+8613800138007").unwrap();
    assert!(sent[0].1.contains(&code));
    assert!(code.chars().all(|c| c.is_ascii_digit()) && code.len() == 6);
    // What the store keeps is a salted hash, not the code.
    verify(&h, "13800138007", &code).await.unwrap();
}

#[tokio::test]
async fn sms_binds_follow_the_account_rules_like_wechat_binds() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let dan = h.session(APP, "dan").await;
    let eve = h.session(APP, "eve").await;
    let (dan, eve) = (claimant_of(&dan, APP, "dan"), claimant_of(&eve, APP, "eve"));
    sms_bind(&h, &sms, &dan, "13700137000").await.unwrap();
    // Same phone, same user: the same answer.
    h.clock.advance(60);
    let again = sms_bind(&h, &sms, &dan, "13700137000").await.unwrap();
    assert!(!again.user.created);
    // Another user: PHONE_TAKEN.
    h.clock.advance(60);
    assert!(matches!(
        sms_bind(&h, &sms, &eve, "13700137000").await,
        Err(AppError::PhoneTaken)
    ));
    // A second phone for a user who has one: PHONE_ALREADY_BOUND.
    assert!(matches!(
        sms_bind(&h, &sms, &dan, "13600136000").await,
        Err(AppError::PhoneAlreadyBound)
    ));
    // A phone bound with WeChat's code is just as taken for an SMS bind.
    let code = h
        .wechat
        .issue_phone_code(APP, "dan2", "86", "13600136001", false);
    let dan2 = h.session(APP, "dan2").await;
    h.backend
        .bind_phone(
            &claimant_of(&dan2, APP, "dan2"),
            PhoneProof::Code(code),
            None,
        )
        .await
        .unwrap();
    assert!(matches!(
        sms_bind(&h, &sms, &eve, "13600136001").await,
        Err(AppError::PhoneTaken)
    ));
    assert_eq!(h.store.user_count(), 3);
}

#[tokio::test]
async fn in_phone_mode_an_sms_bind_links_or_refuses_like_a_wechat_bind() {
    let h = Harness::new(SignupMode::Phone).await;
    let sms = CapturedSms::new();
    let fay = bind_token_claimant(&h, APP, "fay").await;
    let first = sms_bind(&h, &sms, &fay, "13500135001").await.unwrap();
    // Another openid of the same app: the phone's user already has one here.
    let gus = bind_token_claimant(&h, APP, "gus").await;
    h.clock.advance(60);
    assert!(matches!(
        sms_bind(&h, &sms, &gus, "13500135001").await,
        Err(AppError::PhoneTaken)
    ));
    // An openid of another app: linked to the phone's user, logged in as them.
    let fay2 = bind_token_claimant(&h, APP2, "fay-in-app2").await;
    h.clock.advance(60);
    let linked = sms_bind(&h, &sms, &fay2, "13500135001").await.unwrap();
    assert_eq!(linked.user.id, first.user.id);
    assert!(!linked.user.created);
    assert_eq!(h.store.user_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_users_racing_one_sms_code_for_one_phone_make_one_owner() {
    for round in 0..10 {
        let h = Harness::new(SignupMode::OpenId).await;
        let sms = CapturedSms::new();
        let raw = "13400134000";
        let code = sent_code(&h, &sms, raw).await;
        let mut tasks = Vec::new();
        for user in ["racer-a", "racer-b"] {
            let s = h.session(APP, user).await;
            let who = claimant_of(&s, APP, user);
            let backend = h.backend.clone();
            let code = code.clone();
            tasks.push(tokio::spawn(async move {
                let proof = PhoneProof::Sms {
                    phone: phone(raw),
                    code,
                };
                (s.user.id, backend.bind_phone(&who, proof, None).await)
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                (id, Ok(r)) => {
                    assert_eq!(r.user.id, id);
                    winners.push(id);
                }
                (_, Err(AppError::PhoneTaken | AppError::InvalidCode)) => {}
                (_, Err(e)) => panic!("round {round}: {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one winner");
        let owner = h.store.phone_owner(&phone(raw)).await.unwrap().unwrap();
        assert_eq!(owner.as_str(), winners[0]);
        let mut with_phone = 0;
        for user in ["racer-a", "racer-b"] {
            let s = h.session(APP, user).await;
            with_phone += usize::from(s.user.phone_bound);
        }
        assert_eq!(with_phone, 1, "round {round}: one user holds the phone");
    }
}

// ---------------------------------------------------------------------------------------------
// Passwords
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn setting_a_password_without_a_phone_is_phone_required() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "nophone").await;
    let c = claims(&h, &s.access_token).await;
    assert!(matches!(
        h.backend.set_password(&c, GOOD_PASSWORD, None, None).await,
        Err(AppError::PhoneRequired)
    ));
    let user = h
        .store
        .get_user(&UserId::parse(&s.user.id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(user.password_hash.is_none());
}

#[tokio::test]
async fn weak_common_short_long_or_phone_like_passwords_are_refused() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let s = user_with_phone(&h, &sms, "weak", "13800138010").await;
    let c = claims(&h, &s.access_token).await;
    let too_long = "x".repeat(129);
    for weak in [
        "short",
        "1234567",
        "password123",
        "Password1",
        "woaini1314",
        too_long.as_str(),
        "13800138010",
        "8613800138010",
    ] {
        assert!(
            matches!(
                h.backend.set_password(&c, weak, None, None).await,
                Err(AppError::WeakPassword(_))
            ),
            "{weak} must be refused"
        );
    }
    let user = h
        .store
        .get_user(&UserId::parse(&s.user.id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(user.password_hash.is_none(), "nothing stored");
}

#[tokio::test]
async fn a_password_once_set_logs_in_by_phone_as_the_same_user() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let s = user_with_phone(&h, &sms, "pat", "13800138011").await;
    let c = claims(&h, &s.access_token).await;
    let set = h
        .backend
        .set_password(&c, GOOD_PASSWORD, None, None)
        .await
        .unwrap();
    assert_eq!(set.user.id, s.user.id);
    let r = h
        .backend
        .password_login(
            &phone("13800138011"),
            GOOD_PASSWORD,
            LoginVia::Nothing(Some(APP.into())),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.user.id, s.user.id);
    assert!(!r.user.created);
    assert_eq!(r.user.phone.as_deref(), Some("138****8011"));
    let rc = claims(&h, &r.access_token).await;
    assert_eq!(rc.user_id.as_str(), s.user.id);
    assert_eq!(rc.appid.as_str(), APP);
    assert_eq!(rc.openid.as_str(), FakeWeChat::openid(APP, "pat"));
    assert!(rc.phone_bound);
}

#[tokio::test]
async fn an_unknown_phone_and_a_wrong_password_answer_byte_for_byte_the_same() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let s = user_with_phone(&h, &sms, "quinn", "13800138012").await;
    let c = claims(&h, &s.access_token).await;
    h.backend
        .set_password(&c, GOOD_PASSWORD, None, None)
        .await
        .unwrap();
    let login = |raw: &'static str, pw: &'static str| {
        let backend = h.backend.clone();
        async move {
            backend
                .password_login(&phone(raw), pw, LoginVia::Nothing(Some(APP.into())), None)
                .await
                .unwrap_err()
        }
    };
    let wrong = login("13800138012", "not the password").await;
    let unknown = login("13800138099", "not the password").await;
    // A phone with an account but no password answers the same too.
    user_with_phone(&h, &sms, "nopw", "13800138013").await;
    let no_password = login("13800138013", "not the password").await;
    for e in [&wrong, &unknown, &no_password] {
        assert!(matches!(e, AppError::InvalidCredentials), "{e:?}");
    }
    let (a, b, n) = (
        error_response(&wrong, "r"),
        error_response(&unknown, "r"),
        error_response(&no_password, "r"),
    );
    assert_eq!(a.status, 401);
    assert_eq!(
        (a.status, &a.headers, &a.body),
        (b.status, &b.headers, &b.body)
    );
    assert_eq!(
        (a.status, &a.headers, &a.body),
        (n.status, &n.headers, &n.body)
    );
}

#[tokio::test]
async fn five_failures_lock_the_phone_even_for_the_right_password_until_the_window_ends() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let s = user_with_phone(&h, &sms, "rita", "13800138014").await;
    let c = claims(&h, &s.access_token).await;
    h.backend
        .set_password(&c, GOOD_PASSWORD, None, None)
        .await
        .unwrap();
    let p = phone("13800138014");
    let via = || LoginVia::Nothing(Some(APP.into()));
    for _ in 0..MAX_FAILURES {
        assert!(matches!(
            h.backend
                .password_login(&p, "wrong password", via(), None)
                .await,
            Err(AppError::InvalidCredentials)
        ));
    }
    match h
        .backend
        .password_login(&p, GOOD_PASSWORD, via(), None)
        .await
    {
        Err(AppError::RateLimited { retry_after_secs }) => assert!(
            (1..=LOCK_WINDOW_SECS).contains(&u64::from(retry_after_secs)),
            "{retry_after_secs}"
        ),
        other => panic!("locked, yet {other:?}"),
    }
    h.clock.advance(LOCK_WINDOW_SECS);
    let r = h
        .backend
        .password_login(&p, GOOD_PASSWORD, via(), None)
        .await
        .unwrap();
    assert_eq!(r.user.id, s.user.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_get_no_more_verifications_than_the_lock_allows() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let s = user_with_phone(&h, &sms, "tess", "13800138016").await;
    h.backend
        .set_password(
            &claims(&h, &s.access_token).await,
            GOOD_PASSWORD,
            None,
            None,
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let backend = h.backend.clone();
        tasks.push(tokio::spawn(async move {
            let guess = format!("guess number {i}");
            backend
                .password_login(
                    &phone("13800138016"),
                    &guess,
                    LoginVia::Nothing(Some(APP.into())),
                    None,
                )
                .await
        }));
    }
    let (mut checked, mut locked) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Err(AppError::InvalidCredentials) => checked += 1,
            Err(AppError::RateLimited { .. }) => locked += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((checked, locked), (MAX_FAILURES, 20 - MAX_FAILURES));
    assert!(matches!(
        h.backend
            .password_login(
                &phone("13800138016"),
                GOOD_PASSWORD,
                LoginVia::Nothing(Some(APP.into())),
                None,
            )
            .await,
        Err(AppError::RateLimited { .. })
    ));
}

#[tokio::test]
async fn successful_logins_do_not_count_towards_the_lock() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let s = user_with_phone(&h, &sms, "ugo", "13800138017").await;
    h.backend
        .set_password(
            &claims(&h, &s.access_token).await,
            GOOD_PASSWORD,
            None,
            None,
        )
        .await
        .unwrap();
    let p = phone("13800138017");
    let via = || LoginVia::Nothing(Some(APP.into()));
    for _ in 0..2 * MAX_FAILURES {
        h.backend
            .password_login(&p, GOOD_PASSWORD, via(), None)
            .await
            .unwrap();
    }
    // Failures still lock after MAX_FAILURES of them, successes in between or not.
    for _ in 1..MAX_FAILURES {
        assert!(matches!(
            h.backend
                .password_login(&p, "wrong password", via(), None)
                .await,
            Err(AppError::InvalidCredentials)
        ));
    }
    h.backend
        .password_login(&p, GOOD_PASSWORD, via(), None)
        .await
        .unwrap();
    assert!(matches!(
        h.backend
            .password_login(&p, "wrong password", via(), None)
            .await,
        Err(AppError::InvalidCredentials)
    ));
    assert!(matches!(
        h.backend
            .password_login(&p, GOOD_PASSWORD, via(), None)
            .await,
        Err(AppError::RateLimited { .. })
    ));
}

#[tokio::test]
async fn changing_a_password_needs_the_old_one_and_ends_every_other_session() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let s = user_with_phone(&h, &sms, "sam", "13800138015").await;
    let first = h
        .backend
        .set_password(
            &claims(&h, &s.access_token).await,
            GOOD_PASSWORD,
            None,
            None,
        )
        .await
        .unwrap();
    // Another device logs in later.
    h.clock.advance(10);
    let elsewhere = h.session(APP, "sam").await;
    let c = claims(&h, &first.access_token).await;
    const NEW: &str = "a brand new passphrase";
    // Without the old password, or with a wrong one: refused, and nothing changes.
    assert!(matches!(
        h.backend.set_password(&c, NEW, None, None).await,
        Err(AppError::InvalidCredentials)
    ));
    assert!(matches!(
        h.backend
            .set_password(&c, NEW, Some("not the old one"), None)
            .await,
        Err(AppError::InvalidCredentials)
    ));
    let elsewhere = h.backend.refresh(&elsewhere.refresh_token).await.unwrap();
    h.clock.advance(1);
    let changed = h
        .backend
        .set_password(&c, NEW, Some(GOOD_PASSWORD), None)
        .await
        .unwrap();
    // Every other session ends, the caller's own one included...
    assert!(matches!(
        h.backend.refresh(&elsewhere.refresh_token).await,
        Err(AppError::RefreshRevoked)
    ));
    assert!(matches!(
        h.backend.refresh(&first.refresh_token).await,
        Err(AppError::RefreshRevoked)
    ));
    // ...and the tokens of the answer work.
    let cc = claims(&h, &changed.access_token).await;
    assert_eq!(cc.user_id.as_str(), s.user.id);
    let next = h.backend.refresh(&changed.refresh_token).await.unwrap();
    assert_eq!(next.user.id, s.user.id);
    // Only the new password logs in.
    let p = phone("13800138015");
    let via = || LoginVia::Nothing(Some(APP.into()));
    assert!(matches!(
        h.backend
            .password_login(&p, GOOD_PASSWORD, via(), None)
            .await,
        Err(AppError::InvalidCredentials)
    ));
    h.backend
        .password_login(&p, NEW, via(), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_password_login_with_a_bind_token_links_that_openid() {
    let h = Harness::new(SignupMode::Phone).await;
    let sms = CapturedSms::new();
    let fay = bind_token_claimant(&h, APP, "fay").await;
    let made = sms_bind(&h, &sms, &fay, "13500135002").await.unwrap();
    h.backend
        .set_password(
            &claims(&h, &made.access_token).await,
            GOOD_PASSWORD,
            None,
            None,
        )
        .await
        .unwrap();
    // The same person in another mini program: unknown there, so a bind token.
    let other_app = bind_token_claimant(&h, APP2, "fay-in-app2").await;
    let r = h
        .backend
        .password_login(
            &phone("13500135002"),
            GOOD_PASSWORD,
            LoginVia::Bind(other_app),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.user.id, made.user.id);
    let rc = claims(&h, &r.access_token).await;
    assert_eq!(rc.appid.as_str(), APP2);
    assert_eq!(rc.openid.as_str(), FakeWeChat::openid(APP2, "fay-in-app2"));
    // The next WeChat login of that openid is a normal session for the same user.
    let LoginOutcome::Session(s) = h.login_as(APP2, "fay-in-app2").await.unwrap() else {
        panic!("the openid must be linked now")
    };
    assert_eq!(s.user.id, made.user.id);
    assert_eq!(h.store.user_count(), 1);
    // Another openid of the first app cannot take over the account that way.
    let intruder = bind_token_claimant(&h, APP, "gus").await;
    assert!(matches!(
        h.backend
            .password_login(
                &phone("13500135002"),
                GOOD_PASSWORD,
                LoginVia::Bind(intruder),
                None,
            )
            .await,
        Err(AppError::PhoneTaken)
    ));
}

// ---------------------------------------------------------------------------------------------
// Profile
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn profile_updates_refuse_bad_nicknames_and_avatar_urls_and_show_good_ones() {
    let h = Harness::new(SignupMode::OpenId).await;
    let svc = sessions(&h).await;
    let s = h.session(APP, "uma").await;
    let c = svc.authenticate(Some(&s.access_token)).await.unwrap();
    let thirty_three = "名".repeat(33);
    for bad in ["", thirty_three.as_str(), "tab\there", "nul\0", " edge"] {
        assert!(
            matches!(
                svc.update_profile(&c, Some(bad), None).await,
                Err(AppError::InvalidRequest(_))
            ),
            "nickname {bad:?}"
        );
    }
    let long_url = format!("https://img.example.com/{}", "a".repeat(513 - 24));
    assert_eq!(long_url.len(), 513);
    for bad in [
        "http://img.example.com/a.png",
        "https:///a.png",
        "https://",
        long_url.as_str(),
        "https://img.example.com/a b.png",
        "https://img.example.com/a.png ",
        "javascript:alert(1)",
    ] {
        assert!(
            matches!(
                svc.update_profile(&c, None, Some(bad)).await,
                Err(AppError::InvalidRequest(_))
            ),
            "avatar_url {bad:?}"
        );
    }
    // One bad field refuses the whole update.
    assert!(
        svc.update_profile(&c, Some("Uma"), Some("http://x.example/a"))
            .await
            .is_err()
    );
    let before = svc.profile(&c).await.unwrap();
    assert_eq!((before.nickname, before.avatar_url), (None, None));
    let nickname = "名".repeat(32);
    let avatar = format!("https://img.example.com/{}", "a".repeat(512 - 24));
    svc.update_profile(&c, Some(&nickname), Some(&avatar))
        .await
        .unwrap();
    let after = svc.profile(&c).await.unwrap();
    assert_eq!(after.nickname.as_deref(), Some(nickname.as_str()));
    assert_eq!(after.avatar_url.as_deref(), Some(avatar.as_str()));
    assert_eq!(after.id, s.user.id);
}

/// Legacy `getUserInfo` data for `user` of `appid` as WeChat builds it, with the watermark
/// naming `watermark_appid` at `timestamp`: (rawData, signature, encryptedData, iv).
fn user_info(
    h: &Harness,
    appid: &str,
    user: &str,
    watermark_appid: &str,
    timestamp: u64,
) -> (String, String, String, String) {
    let profile = serde_json::json!({
        "nickName": "Vera",
        "avatarUrl": "https://thirdwx.qlogo.cn/mmopen/vi_32/vera/132",
        "gender": 0,
        "language": "zh_CN",
    });
    let raw_data = profile.to_string();
    let mut full = profile;
    full["openId"] = FakeWeChat::openid(appid, user).into();
    full["watermark"] = serde_json::json!({"appid": watermark_appid, "timestamp": timestamp});
    let session_key = h.wechat.session_key(appid, user).unwrap();
    let signature = sha1_hex(format!("{raw_data}{session_key}").as_bytes());
    let (encrypted, iv) = h
        .wechat
        .encrypt_for(appid, user, full.to_string().as_bytes())
        .unwrap();
    (raw_data, signature, encrypted, iv)
}

fn data<'a>(parts: &'a (String, String, String, String)) -> UserInfoData<'a> {
    UserInfoData {
        raw_data: &parts.0,
        signature: &parts.1,
        encrypted_data: &parts.2,
        iv: &parts.3,
    }
}

#[tokio::test]
async fn legacy_user_info_with_a_good_signature_sets_nickname_and_avatar() {
    let h = Harness::new(SignupMode::OpenId).await;
    let svc = sessions(&h).await;
    let s = h.session(APP, "vera").await;
    let c = svc.authenticate(Some(&s.access_token)).await.unwrap();
    let parts = user_info(&h, APP, "vera", APP, now(&h));
    svc.apply_user_info(&c, data(&parts)).await.unwrap();
    let p = svc.profile(&c).await.unwrap();
    assert_eq!(p.nickname.as_deref(), Some("Vera"));
    assert_eq!(
        p.avatar_url.as_deref(),
        Some("https://thirdwx.qlogo.cn/mmopen/vi_32/vera/132")
    );
}

#[tokio::test]
async fn a_user_info_signature_mismatch_is_decrypt_failed_and_stores_nothing() {
    let h = Harness::new(SignupMode::OpenId).await;
    let svc = sessions(&h).await;
    let s = h.session(APP, "vera").await;
    let c = svc.authenticate(Some(&s.access_token)).await.unwrap();
    let good = user_info(&h, APP, "vera", APP, now(&h));
    // rawData altered after signing; and a signature over other data.
    let tampered_raw = (
        good.0.replace("Vera", "Mallory"),
        good.1.clone(),
        good.2.clone(),
        good.3.clone(),
    );
    let wrong_sig = (
        good.0.clone(),
        sha1_hex(b"something else"),
        good.2.clone(),
        good.3.clone(),
    );
    for parts in [&tampered_raw, &wrong_sig] {
        assert!(matches!(
            svc.apply_user_info(&c, data(parts)).await,
            Err(AppError::DecryptFailed)
        ));
    }
    let p = svc.profile(&c).await.unwrap();
    assert_eq!((p.nickname, p.avatar_url), (None, None));
}

#[tokio::test]
async fn user_info_watermarked_for_another_app_is_decrypt_failed() {
    let h = Harness::new(SignupMode::OpenId).await;
    let svc = sessions(&h).await;
    let s = h.session(APP, "vera").await;
    let c = svc.authenticate(Some(&s.access_token)).await.unwrap();
    let parts = user_info(&h, APP, "vera", APP2, now(&h));
    assert!(matches!(
        svc.apply_user_info(&c, data(&parts)).await,
        Err(AppError::DecryptFailed)
    ));
    assert_eq!(svc.profile(&c).await.unwrap().nickname, None);
}

#[tokio::test]
async fn stale_user_info_is_decrypt_failed() {
    let h = Harness::new(SignupMode::OpenId).await;
    let svc = sessions(&h).await;
    let s = h.session(APP, "vera").await;
    let c = svc.authenticate(Some(&s.access_token)).await.unwrap();
    let old = now(&h) - crate::open_data::WATERMARK_MAX_AGE_SECS - 1;
    let future = now(&h) + crate::open_data::WATERMARK_MAX_SKEW_SECS + 1;
    for ts in [old, future] {
        let parts = user_info(&h, APP, "vera", APP, ts);
        assert!(
            matches!(
                svc.apply_user_info(&c, data(&parts)).await,
                Err(AppError::DecryptFailed)
            ),
            "watermark {ts}"
        );
    }
    assert_eq!(svc.profile(&c).await.unwrap().nickname, None);
}

#[tokio::test]
async fn user_info_without_a_session_key_is_session_key_stale() {
    let h = Harness::new(SignupMode::OpenId).await;
    let svc = sessions(&h).await;
    let s = h.session(APP, "vera").await;
    let c = svc.authenticate(Some(&s.access_token)).await.unwrap();
    let parts = user_info(&h, APP, "vera", APP, now(&h));
    // The stored session_key has expired.
    h.clock
        .advance(crate::flows::session_tokens::SESSION_KEY_TTL_SECS);
    assert!(matches!(
        svc.apply_user_info(&c, data(&parts)).await,
        Err(AppError::SessionKeyStale)
    ));
    assert_eq!(svc.profile(&c).await.unwrap().nickname, None);
}
