//! Password reset through the flows: an SMS proof of the bound phone replaces the password and
//! ends every session; a weak password keeps the code; a wrong code, an unknown phone and a
//! disabled account are refused.

use crate::domain::{PhoneNumber, SignupMode, UserId};
use crate::error::AppError;
use crate::flows::SessionTokens;
use crate::flows::admin::set_disabled;
use crate::flows::bind_phone::PhoneProof;
use crate::flows::password::LoginVia;
use crate::principal::Principal;
use crate::test_support::*;

const OLD: &str = "tea kettle sunrise";
const NEW: &str = "plum orbit lantern 47";

fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::from_parts("86", raw).unwrap()
}

/// A code sent to `p`, as the SMS carried it.
async fn code_for(h: &Harness, sms: &CapturedSms, p: &PhoneNumber) -> String {
    h.backend.send_sms_code(sms, p, None).await.unwrap();
    sms.last_code(p.e164()).unwrap()
}

/// `user` with phone `p` bound by SMS and the password OLD; the tokens of setting it.
async fn account(h: &Harness, sms: &CapturedSms, user: &str, p: &PhoneNumber) -> SessionTokens {
    let s = h.session(APP, user).await;
    let code = code_for(h, sms, p).await;
    let proof = PhoneProof::Sms {
        phone: p.clone(),
        code,
    };
    let bound = h
        .backend
        .bind_phone(&Principal::User(session_of(&s, APP, user)), proof, None)
        .await
        .unwrap();
    h.backend
        .set_password(&session_of(&bound, APP, user), OLD, None, None)
        .await
        .unwrap()
}

async fn login(h: &Harness, p: &PhoneNumber, password: &str) -> Result<SessionTokens, AppError> {
    h.backend
        .password_login(p, password, LoginVia::Nothing(Some(APP.to_owned())), None)
        .await
}

#[tokio::test]
async fn an_sms_proof_replaces_the_password_and_ends_every_session() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let p = phone("13800138021");
    let s = account(&h, &sms, "ivy", &p).await;
    h.clock.advance(61);

    // A weak password is refused before the code is spent: the same code then works.
    let code = code_for(&h, &sms, &p).await;
    let weak = h.backend.reset_password(&p, &code, "short").await;
    assert!(matches!(weak, Err(AppError::WeakPassword(_))), "{weak:?}");
    h.backend.reset_password(&p, &code, NEW).await.unwrap();

    assert!(matches!(
        login(&h, &p, OLD).await,
        Err(AppError::InvalidCredentials)
    ));
    assert!(matches!(
        h.backend.refresh(&s.refresh_token).await,
        Err(AppError::RefreshRevoked)
    ));
    h.clock.advance(1);
    let fresh = login(&h, &p, NEW).await.unwrap();
    assert_eq!(fresh.user.id, s.user.id);
    // The code was used.
    let again = h.backend.reset_password(&p, &code, NEW).await;
    assert!(matches!(again, Err(AppError::InvalidCode)), "{again:?}");
}

#[tokio::test]
async fn a_wrong_code_an_unknown_phone_and_a_disabled_account_are_refused() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let p = phone("13800138022");
    let s = account(&h, &sms, "jon", &p).await;
    h.clock.advance(61);
    let code = code_for(&h, &sms, &p).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let refused = h.backend.reset_password(&p, &wrong, NEW).await;
    assert!(matches!(refused, Err(AppError::InvalidCode)), "{refused:?}");

    let nobody = phone("13800138023");
    let code_nobody = code_for(&h, &sms, &nobody).await;
    let unknown = h.backend.reset_password(&nobody, &code_nobody, NEW).await;
    assert!(
        matches!(unknown, Err(AppError::InvalidCredentials)),
        "{unknown:?}"
    );

    set_disabled(&h.store, &UserId::parse(&s.user.id).unwrap(), true)
        .await
        .unwrap()
        .unwrap();
    let disabled = h.backend.reset_password(&p, &code, NEW).await;
    assert!(
        matches!(disabled, Err(AppError::AccountDisabled)),
        "{disabled:?}"
    );
    // Nothing changed: the old password is still the one (the account is disabled, so the
    // right password is refused as disabled, not as wrong).
    assert!(matches!(
        login(&h, &p, OLD).await,
        Err(AppError::AccountDisabled)
    ));
}

/// A second cut in the same second as a password change (here an operator's force logout)
/// still ends the session that change started, dated one second past its cut-off: every cut
/// moves past the one before.
#[tokio::test]
async fn a_cut_in_the_same_second_as_a_password_change_ends_that_changes_session() {
    let h = Harness::new(SignupMode::OpenId).await;
    let sms = CapturedSms::new();
    let set = account(&h, &sms, "kai", &phone("13800138024")).await;
    let now = crate::clock::Clock::now(&h.clock);
    let id = UserId::parse(&set.user.id).unwrap();
    assert!(
        crate::flows::admin::force_logout(&h.store, &id, now)
            .await
            .unwrap()
    );
    assert!(matches!(
        h.backend.refresh(&set.refresh_token).await,
        Err(AppError::RefreshRevoked)
    ));
}
