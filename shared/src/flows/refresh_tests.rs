//! Refresh-token rotation and reuse detection, through the flow.

use crate::domain::SignupMode;
use crate::error::AppError;
use crate::test_support::*;

#[tokio::test]
async fn each_refresh_rotates_the_token_and_keeps_the_user() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "alice").await;
    let r1 = h.backend.refresh(&s.refresh_token).await.unwrap();
    assert_ne!(r1.refresh_token, s.refresh_token);
    assert_eq!(r1.user.id, s.user.id);
    let r2 = h.backend.refresh(&r1.refresh_token).await.unwrap();
    let claims = h.verifier().await.verify_access(&r2.access_token).unwrap();
    assert_eq!(claims.sub, s.user.id);
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_whole_family() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "bob").await;
    let r1 = h.backend.refresh(&s.refresh_token).await.unwrap();
    assert!(matches!(
        h.backend.refresh(&s.refresh_token).await,
        Err(AppError::RefreshRevoked)
    ));
    assert!(
        matches!(
            h.backend.refresh(&r1.refresh_token).await,
            Err(AppError::RefreshRevoked)
        ),
        "the newest token of a revoked family fails too"
    );
    // Another login's family is untouched.
    let other = h.session(APP, "bob").await;
    assert!(h.backend.refresh(&other.refresh_token).await.is_ok());
}

#[tokio::test]
async fn an_expired_family_is_refused() {
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "cara").await;
    h.clock.advance(30 * 86400);
    assert!(matches!(
        h.backend.refresh(&s.refresh_token).await,
        Err(AppError::RefreshRevoked)
    ));
}

#[tokio::test]
async fn junk_refresh_tokens_are_refused() {
    let h = Harness::new(SignupMode::OpenId).await;
    for junk in [
        "",
        "x",
        "f_nope.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "../../etc/passwd",
    ] {
        assert!(
            matches!(h.backend.refresh(junk).await, Err(AppError::RefreshRevoked)),
            "{junk}"
        );
    }
}
