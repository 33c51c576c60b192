//! The abuse and cost guard through the flows: every limit refuses with 429 and the paid or
//! quota'd call is then not made (the fake WeChat's and the SMS sender's call counts say so);
//! budgets, the country allowlist, and the address scopes (IPv6 /64, IPv4 /24 networks).

use crate::config::{Budget, BudgetAction, Limits, Rate, SmsCountries};
use crate::domain::{LoginCode, PhoneNumber, SignupMode};
use crate::error::AppError;
use crate::fake::Misbehaviour;
use crate::flows::bind_phone::PhoneProof;
use crate::flows::{LoginOutcome, LoginRequest, SessionTokens};
use crate::principal::Principal;
use crate::test_support::*;

const JSCODE: &str = "/sns/jscode2session";
const PHONE: &str = "/wxa/business/getuserphonenumber";
const CHECKSESSION: &str = "/wxa/checksession";

async fn guarded(limits: Limits) -> Harness {
    let mut h = Harness::new(SignupMode::OpenId).await;
    std::sync::Arc::get_mut(&mut h.backend)
        .expect("the harness holds the only reference")
        .limits = limits;
    h
}

async fn login_from(h: &Harness, user: &str, ip: &str) -> Result<LoginOutcome, AppError> {
    let code = h.wechat.issue_code(APP, user);
    h.backend
        .login(LoginRequest {
            code: LoginCode::parse(&code).unwrap(),
            appid: Some(APP.to_owned()),
            source_ip: Some(ip.to_owned()),
        })
        .await
}

fn claimant_of(s: &SessionTokens, user: &str) -> Principal {
    Principal::User(session_of(s, APP, user))
}

fn limited(result: Result<impl std::fmt::Debug, AppError>) -> bool {
    matches!(result, Err(AppError::RateLimited { retry_after_secs }) if retry_after_secs >= 1)
}

#[tokio::test]
async fn logins_per_address_stop_before_jscode2session_and_ipv6_counts_by_64() {
    let h = guarded(Limits {
        login_per_address: Some(Rate::new(2, 60)),
        ..Limits::off()
    })
    .await;
    for user in ["a1", "a2"] {
        login_from(&h, user, "2001:db8:1:2::10").await.unwrap();
    }
    // Another address in the same /64: the same scope, refused, WeChat not called.
    assert!(limited(login_from(&h, "a3", "2001:db8:1:2:ffff::1").await));
    assert_eq!(h.wechat.calls(JSCODE), 2);
    // Another /64 and an IPv4 address have their own windows.
    login_from(&h, "a4", "2001:db8:1:3::10").await.unwrap();
    login_from(&h, "a5", "203.0.113.9").await.unwrap();
    assert_eq!(h.wechat.calls(JSCODE), 4);
    // The refused code was not claimed: after the window it still logs in.
    h.clock.advance(60);
    let code = h.wechat.issue_code(APP, "a6");
    let again = LoginRequest {
        code: LoginCode::parse(&code).unwrap(),
        appid: Some(APP.to_owned()),
        source_ip: Some("2001:db8:1:2::10".to_owned()),
    };
    assert!(h.backend.login(again).await.is_ok());
}

#[tokio::test]
async fn logins_per_app_are_counted_across_addresses() {
    let h = guarded(Limits {
        login_per_app: Some(Rate::new(3, 60)),
        ..Limits::off()
    })
    .await;
    for (user, ip) in [
        ("b1", "198.51.100.1"),
        ("b2", "198.51.100.2"),
        ("b3", "192.0.2.3"),
    ] {
        login_from(&h, user, ip).await.unwrap();
    }
    assert!(limited(login_from(&h, "b4", "192.0.2.200").await));
    assert_eq!(h.wechat.calls(JSCODE), 3);
}

#[tokio::test]
async fn paid_phone_calls_per_openid_are_limited_and_a_refused_code_stays_usable() {
    let h = guarded(Limits {
        phone_per_user: Some(Rate::new(1, 86_400)),
        ..Limits::off()
    })
    .await;
    let s = h.session(APP, "cai").await;
    let who = claimant_of(&s, "cai");
    // The first attempt reaches WeChat (which fails it, so nothing is bound).
    h.wechat.misbehave(PHONE, Misbehaviour::Errcode(-1));
    h.wechat.misbehave(PHONE, Misbehaviour::Errcode(-1));
    let code = h
        .wechat
        .issue_phone_code(APP, "cai", "86", "13800138011", false);
    assert!(
        h.backend
            .bind_phone(&who, PhoneProof::Code(code.clone()), None)
            .await
            .is_err()
    );
    let paid = h.wechat.calls(PHONE);
    // The second is refused before WeChat.
    assert!(limited(
        h.backend
            .bind_phone(&who, PhoneProof::Code(code.clone()), None)
            .await
    ));
    assert_eq!(h.wechat.calls(PHONE), paid, "no call once the limit is hit");
    // The claim was released: the same code binds once the window has passed.
    h.clock.advance(86_400);
    let r = h
        .backend
        .bind_phone(&who, PhoneProof::Code(code), None)
        .await
        .unwrap();
    assert_eq!(r.user.phone.as_deref(), Some("138****8011"));
}

#[tokio::test]
async fn paid_phone_calls_per_address_are_limited() {
    let h = guarded(Limits {
        phone_per_address: Some(Rate::new(1, 3_600)),
        ..Limits::off()
    })
    .await;
    let first = h.session(APP, "dai").await;
    let second = h.session(APP, "dee").await;
    let code = h
        .wechat
        .issue_phone_code(APP, "dai", "86", "13800138021", false);
    h.backend
        .bind_phone(
            &claimant_of(&first, "dai"),
            PhoneProof::Code(code),
            Some("203.0.113.50"),
        )
        .await
        .unwrap();
    let code = h
        .wechat
        .issue_phone_code(APP, "dee", "86", "13800138022", false);
    let proof = PhoneProof::Code(code);
    assert!(limited(
        h.backend
            .bind_phone(&claimant_of(&second, "dee"), proof, Some("203.0.113.50"))
            .await
    ));
    assert_eq!(h.wechat.calls(PHONE), 1);
}

#[tokio::test]
async fn the_daily_phone_budget_refuses_or_only_alarms() {
    for (action, third_admitted) in [
        (BudgetAction::Refuse, false),
        (BudgetAction::AlarmOnly, true),
    ] {
        let h = guarded(Limits {
            phone_budget: Some(Budget {
                per_day: 2,
                at_limit: action,
            }),
            ..Limits::off()
        })
        .await;
        let mut results = Vec::new();
        for (i, user) in ["e1", "e2", "e3"].into_iter().enumerate() {
            let s = h.session(APP, user).await;
            let code = h
                .wechat
                .issue_phone_code(APP, user, "86", &format!("1380013803{i}"), false);
            results.push(
                h.backend
                    .bind_phone(&claimant_of(&s, user), PhoneProof::Code(code), None)
                    .await,
            );
        }
        assert!(results[0].is_ok() && results[1].is_ok(), "{action:?}");
        assert_eq!(
            results[2].is_ok(),
            third_admitted,
            "{action:?}: {:?}",
            results[2]
        );
        assert_eq!(
            h.wechat.calls(PHONE),
            2 + usize::from(third_admitted),
            "{action:?}"
        );
        if !third_admitted {
            assert!(limited(results.pop().unwrap()));
        }
    }
}

#[tokio::test]
async fn checksession_calls_for_bad_legacy_data_are_limited_per_openid() {
    let h = guarded(Limits {
        checksession_per_user: Some(Rate::new(1, 3_600)),
        ..Limits::off()
    })
    .await;
    let s = h.session(APP, "fei").await;
    let who = claimant_of(&s, "fei");
    // Well-formed, but not made with fei's key: bad padding, which asks WeChat (checksession).
    let garbage = || PhoneProof::Encrypted {
        encrypted_data: crate::crypto::b64_encode(&[7u8; 32]),
        iv: crate::crypto::b64_encode(&[9u8; 16]),
    };
    let first = h
        .backend
        .bind_phone(&who, garbage(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(first, AppError::DecryptFailed | AppError::SessionKeyStale),
        "{first:?}"
    );
    assert_eq!(h.wechat.calls(CHECKSESSION), 1);
    assert!(limited(h.backend.bind_phone(&who, garbage(), None).await));
    assert_eq!(h.wechat.calls(CHECKSESSION), 1, "no second checksession");
}

#[tokio::test]
async fn a_bound_user_gets_phone_already_bound_without_a_paid_call() {
    let h = guarded(Limits::off()).await;
    let s = h.session(APP, "gus").await;
    let who = claimant_of(&s, "gus");
    let code = h
        .wechat
        .issue_phone_code(APP, "gus", "86", "13800138041", false);
    h.backend
        .bind_phone(&who, PhoneProof::Code(code), None)
        .await
        .unwrap();
    let code = h
        .wechat
        .issue_phone_code(APP, "gus", "86", "13800138042", false);
    let err = h
        .backend
        .bind_phone(&who, PhoneProof::Code(code.clone()), None)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::PhoneAlreadyBound), "{err:?}");
    assert_eq!(h.wechat.calls(PHONE), 1, "decided from the stored user");
}

fn phone(e164: &str) -> PhoneNumber {
    PhoneNumber::parse_e164(e164).unwrap()
}

#[tokio::test]
async fn sms_goes_only_to_allowed_countries() {
    let h = guarded(Limits {
        sms_countries: SmsCountries::Only(vec!["86".into()]),
        ..Limits::off()
    })
    .await;
    let sms = CapturedSms::new();
    let err = h
        .backend
        .send_sms_code(&sms, &phone("+447700900123"), Some("203.0.113.7"))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::InvalidRequest(_)), "{err:?}");
    assert!(sms.sent().is_empty(), "a +44 number is not sent to");
    h.backend
        .send_sms_code(&sms, &phone("+8613800138000"), Some("203.0.113.7"))
        .await
        .unwrap();
    assert_eq!(sms.sent().len(), 1);
}

#[tokio::test]
async fn sms_per_network_catches_neighbouring_addresses() {
    let h = guarded(Limits {
        sms_per_address: Some(Rate::new(20, 3_600)),
        sms_per_network: Some(Rate::new(3, 3_600)),
        ..Limits::off()
    })
    .await;
    let sms = CapturedSms::new();
    let mut refused = 0;
    for (i, ip) in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
        .into_iter()
        .enumerate()
    {
        let to = phone(&format!("+861380013810{i}"));
        if limited(h.backend.send_sms_code(&sms, &to, Some(ip)).await) {
            refused += 1;
        }
    }
    assert_eq!((sms.sent().len(), refused), (3, 1));
    h.backend
        .send_sms_code(&sms, &phone("+8613800138109"), Some("127.0.1.2"))
        .await
        .unwrap();
}

#[tokio::test]
async fn sms_per_number_block_and_the_daily_budget() {
    let h = guarded(Limits {
        sms_per_prefix: Some(Rate::new(2, 3_600)),
        sms_budget: Some(Budget {
            per_day: 3,
            at_limit: BudgetAction::Refuse,
        }),
        ..Limits::off()
    })
    .await;
    let sms = CapturedSms::new();
    for n in ["+8613800130001", "+8613800130002"] {
        h.backend
            .send_sms_code(&sms, &phone(n), None)
            .await
            .unwrap();
    }
    // A third number of the same block of 10,000: refused.
    assert!(limited(
        h.backend
            .send_sms_code(&sms, &phone("+8613800130003"), None)
            .await
    ));
    // Another block is fine, until the deployment's budget of 3 a day is spent.
    h.backend
        .send_sms_code(&sms, &phone("+8613900130001"), None)
        .await
        .unwrap();
    assert!(limited(
        h.backend
            .send_sms_code(&sms, &phone("+8613700130001"), None)
            .await
    ));
    assert_eq!(sms.sent().len(), 3);
    h.clock.advance(86_400);
    h.backend
        .send_sms_code(&sms, &phone("+8613700130001"), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_default_limits_never_touch_one_ordinary_user() {
    let h = guarded(Limits::default()).await;
    let sms = CapturedSms::new();
    for _ in 0..5 {
        login_from(&h, "hal", "203.0.113.77").await.unwrap();
    }
    let s = h.session(APP, "hal").await;
    let code = h
        .wechat
        .issue_phone_code(APP, "hal", "86", "13800138051", false);
    h.backend
        .bind_phone(
            &claimant_of(&s, "hal"),
            PhoneProof::Code(code),
            Some("203.0.113.77"),
        )
        .await
        .unwrap();
    h.backend
        .send_sms_code(&sms, &phone("+8613800138051"), Some("203.0.113.77"))
        .await
        .unwrap();
}
