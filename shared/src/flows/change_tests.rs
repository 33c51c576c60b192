//! Phone change through the flows: a proved new number replaces the bound one (the old one is
//! released, the other sessions end); a taken number, no bound phone, or a disabled account are
//! refused and change nothing; the current number is the same answer; a WeChat phone code pays
//! once even though the user already has a phone.

use crate::domain::{PhoneNumber, SignupMode, UserId};
use crate::error::AppError;
use crate::flows::SessionTokens;
use crate::flows::admin::set_disabled;
use crate::flows::bind_phone::PhoneProof;
use crate::principal::Principal;
use crate::store::{Identities as _, PhoneOwnership as _};
use crate::test_support::*;

fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::from_parts("86", raw).unwrap()
}

/// An SMS proof of `p` (a code sent to it).
async fn sms_proof(h: &Harness, p: &PhoneNumber) -> PhoneProof {
    let sms = CapturedSms::new();
    h.backend.send_sms_code(&sms, p, None).await.unwrap();
    PhoneProof::Sms {
        phone: p.clone(),
        code: sms.last_code(p.e164()).unwrap(),
    }
}

/// `user` in APP with `p` bound by SMS; the bind's tokens.
async fn with_phone(h: &Harness, user: &str, p: &PhoneNumber) -> SessionTokens {
    let s = h.session(APP, user).await;
    let proof = sms_proof(h, p).await;
    h.backend
        .bind_phone(&Principal::User(session_of(&s, APP, user)), proof, None)
        .await
        .unwrap()
}

async fn change(
    h: &Harness,
    s: &SessionTokens,
    user: &str,
    proof: PhoneProof,
) -> Result<SessionTokens, AppError> {
    h.backend
        .change_phone(&session_of(s, APP, user), proof, None)
        .await
}

#[tokio::test]
async fn a_proved_new_number_replaces_the_old_one_which_is_released() {
    let h = Harness::new(SignupMode::OpenId).await;
    let (old, new) = (phone("13800138031"), phone("13800138032"));
    let s = with_phone(&h, "lena", &old).await;
    let other_device = h.session(APP, "lena").await;
    h.clock.advance(1);
    let proof = sms_proof(&h, &new).await;
    let changed = change(&h, &s, "lena", proof).await.unwrap();
    assert_eq!(changed.user.id, s.user.id);
    assert!(changed.user.phone_bound);
    let id = UserId::parse(&s.user.id).unwrap();
    assert_eq!(
        h.store.get_user(&id).await.unwrap().unwrap().phone,
        Some(new.clone())
    );
    assert_eq!(h.store.phone_owner(&new).await.unwrap(), Some(id.clone()));
    assert_eq!(h.store.phone_owner(&old).await.unwrap(), None);
    // The other sessions ended; the fresh tokens live.
    for ended in [&s, &other_device] {
        assert!(matches!(
            h.backend.refresh(&ended.refresh_token).await,
            Err(AppError::RefreshRevoked)
        ));
    }
    assert!(h.backend.refresh(&changed.refresh_token).await.is_ok());
    // The old number is free for someone else.
    h.clock.advance(61);
    let bob = with_phone(&h, "bob", &old).await;
    assert!(bob.user.phone_bound);
}

#[tokio::test]
async fn a_taken_number_no_phone_or_a_disabled_account_change_nothing() {
    let h = Harness::new(SignupMode::OpenId).await;
    let (mine, theirs) = (phone("13800138033"), phone("13800138034"));
    let s = with_phone(&h, "max", &mine).await;
    let _other = with_phone(&h, "ned", &theirs).await;
    h.clock.advance(61);
    let proof = sms_proof(&h, &theirs).await;
    let taken = change(&h, &s, "max", proof).await;
    assert!(matches!(taken, Err(AppError::PhoneTaken)), "{taken:?}");
    let id = UserId::parse(&s.user.id).unwrap();
    assert_eq!(
        h.store.get_user(&id).await.unwrap().unwrap().phone,
        Some(mine.clone())
    );
    // The same number again: the same answer, nothing moves.
    h.clock.advance(61);
    let proof = sms_proof(&h, &mine).await;
    let same = change(&h, &s, "max", proof).await.unwrap();
    assert_eq!(same.user.id, s.user.id);
    assert_eq!(h.store.phone_owner(&mine).await.unwrap(), Some(id.clone()));

    // No phone yet: bind one instead (no proof is spent).
    let bare = h.session(APP, "ora").await;
    let proof = sms_proof(&h, &phone("13800138035")).await;
    let refused = change(&h, &bare, "ora", proof).await;
    assert!(
        matches!(refused, Err(AppError::PhoneRequired)),
        "{refused:?}"
    );

    // A disabled account has no live session to change anything with.
    set_disabled(&h.store, &id, true).await.unwrap().unwrap();
    h.clock.advance(61);
    let proof = sms_proof(&h, &phone("13800138036")).await;
    let disabled = change(&h, &same, "max", proof).await;
    assert!(
        matches!(disabled, Err(AppError::Unauthorized)),
        "{disabled:?}"
    );
}

#[tokio::test]
async fn a_wechat_phone_code_changes_the_number_with_one_paid_call() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = with_phone(&h, "pia", &phone("13800138037")).await;
    let code = h
        .wechat
        .issue_phone_code(APP, "pia", "86", "13800138038", false);
    let changed = change(&h, &s, "pia", PhoneProof::Code(code.clone()))
        .await
        .unwrap();
    assert!(changed.user.phone_bound);
    let id = UserId::parse(&s.user.id).unwrap();
    assert_eq!(
        h.store.get_user(&id).await.unwrap().unwrap().phone,
        Some(phone("13800138038"))
    );
    // Retried with the same code: the first answer, no second paid call.
    let again = change(&h, &changed, "pia", PhoneProof::Code(code))
        .await
        .unwrap();
    assert_eq!(again.user.id, s.user.id);
    assert_eq!(h.wechat.calls(crate::fake::wechat::PHONE_NUMBER_PATH), 1);
}
