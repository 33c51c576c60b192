//! Login and phone in one request, through the flow over the in-memory store and the fake
//! WeChat: both signup modes, both proofs (legacy data under the session_key of the very
//! code being exchanged), the binding rules (a phone-first login joins the number's owner),
//! no paid call for a user whose phone is bound, and a refused proof that leaves the login.

use crate::domain::{LoginCode, SignupMode};
use crate::error::AppError;
use crate::fake::FakeWeChat;
use crate::flows::bind_phone::PhoneProof;
use crate::flows::login_with_phone::LoginWithPhone;
use crate::flows::{LoginOutcome, LoginRequest, SessionTokens};
use crate::test_support::*;

const PAID: &str = "/wxa/business/getuserphonenumber";

async fn login_with(h: &Harness, code: String, proof: PhoneProof) -> LoginWithPhone {
    h.backend
        .login_with_phone(
            LoginRequest {
                code: LoginCode::parse(&code).unwrap(),
                appid: Some(APP.to_owned()),
                source_ip: None,
            },
            proof,
        )
        .await
        .unwrap()
}

fn phone_code(h: &Harness, user: &str, number: &str) -> PhoneProof {
    PhoneProof::Code(h.wechat.issue_phone_code(APP, user, "86", number, false))
}

fn session(both: &LoginWithPhone) -> &SessionTokens {
    match &both.outcome {
        LoginOutcome::Session(s) => s,
        LoginOutcome::PhoneRequired(_) => panic!("expected a session: {both:?}"),
    }
}

#[tokio::test]
async fn openid_mode_a_first_login_creates_the_user_and_binds_the_phone_at_once() {
    let h = Harness::new(SignupMode::OpenId).await;
    let code = h.wechat.issue_code(APP, "ada");
    let both = login_with(&h, code, phone_code(&h, "ada", "13800138101")).await;
    assert!(both.phone_error.is_none(), "{both:?}");
    let s = session(&both);
    assert!(s.user.phone_bound && s.user.created, "{s:?}");
    assert_eq!(s.user.phone.as_deref(), Some("138****8101"));
    assert!(
        h.verifier()
            .await
            .verify_access(&s.access_token)
            .unwrap()
            .phone_bound
    );
    assert_eq!(h.wechat.calls(PAID), 1);
}

#[tokio::test]
async fn phone_mode_the_bind_token_is_never_needed_and_the_owner_of_the_number_is_joined() {
    let h = Harness::new(SignupMode::Phone).await;
    // Without a proof, phone mode answers phone_required.
    assert!(matches!(
        h.login_as(APP, "bea").await.unwrap(),
        LoginOutcome::PhoneRequired(_)
    ));
    let code = h.wechat.issue_code(APP, "bea");
    let first = login_with(&h, code, phone_code(&h, "bea", "13800138102")).await;
    let bea = session(&first).clone();
    assert!(bea.user.created && bea.user.phone_bound, "{first:?}");
    // The same number from another app's openid joins bea (DESIGN §3), in one request.
    h.wechat.enable_unionid(APP2);
    let code = h.wechat.issue_code(APP2, "bea-phone2");
    let proof =
        PhoneProof::Code(
            h.wechat
                .issue_phone_code(APP2, "bea-phone2", "86", "13800138102", false),
        );
    let joined = h
        .backend
        .login_with_phone(
            LoginRequest {
                code: LoginCode::parse(&code).unwrap(),
                appid: Some(APP2.to_owned()),
                source_ip: None,
            },
            proof,
        )
        .await
        .unwrap();
    assert_eq!(session(&joined).user.id, bea.user.id, "{joined:?}");
    assert!(!session(&joined).user.created);
}

#[tokio::test]
async fn legacy_data_is_decrypted_with_the_session_key_of_the_code_sent_with_it() {
    let h = Harness::new(SignupMode::Phone).await;
    let code = h.wechat.issue_code(APP, "cai");
    let now = crate::clock::Clock::now(&h.clock);
    let payload = FakeWeChat::phone_payload(APP, "86", "13800138103", now);
    let (encrypted_data, iv) = h
        .wechat
        .encrypt_for_code(&code, payload.to_string().as_bytes())
        .unwrap();
    let both = login_with(&h, code, PhoneProof::Encrypted { encrypted_data, iv }).await;
    assert!(both.phone_error.is_none(), "{both:?}");
    assert_eq!(session(&both).user.phone.as_deref(), Some("138****8103"));
    assert_eq!(h.wechat.calls(PAID), 0, "legacy data costs no paid call");
}

#[tokio::test]
async fn a_user_whose_phone_is_bound_spends_nothing() {
    let h = Harness::new(SignupMode::OpenId).await;
    let code = h.wechat.issue_code(APP, "dan");
    login_with(&h, code, phone_code(&h, "dan", "13800138104")).await;
    assert_eq!(h.wechat.calls(PAID), 1);
    let code = h.wechat.issue_code(APP, "dan");
    let unused = phone_code(&h, "dan", "13800138104");
    let again = login_with(&h, code, unused).await;
    assert!(again.phone_error.is_none());
    assert!(session(&again).user.phone_bound);
    assert_eq!(h.wechat.calls(PAID), 1, "the proof was left unused");
}

#[tokio::test]
async fn a_refused_proof_leaves_the_login_and_says_why() {
    let h = Harness::new(SignupMode::OpenId).await;
    // Someone else owns the number.
    let code = h.wechat.issue_code(APP, "eve");
    login_with(&h, code, phone_code(&h, "eve", "13800138105")).await;
    let code = h.wechat.issue_code(APP, "fox");
    let both = login_with(&h, code, phone_code(&h, "fox", "13800138105")).await;
    assert!(
        matches!(both.phone_error, Some(AppError::PhoneTaken)),
        "{both:?}"
    );
    let fox = session(&both);
    assert!(!fox.user.phone_bound && fox.user.created);
    assert!(
        h.verifier().await.verify_access(&fox.access_token).is_ok(),
        "the login stands"
    );
    // In phone mode a refused proof answers phone_required, so the client proves again.
    let h = Harness::new(SignupMode::Phone).await;
    let code = h.wechat.issue_code(APP, "gus");
    let bad = PhoneProof::Code("0".repeat(32));
    let both = login_with(&h, code, bad).await;
    assert!(both.phone_error.is_some());
    assert!(
        matches!(both.outcome, LoginOutcome::PhoneRequired(_)),
        "{both:?}"
    );
}
