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

#[tokio::test]
async fn a_forged_secret_on_a_real_family_is_refused_without_revoking_it() {
    // Anyone who has seen an access token knows its `sid` (the family id): a made-up secret
    // on that family must not count as a reuse, or seeing a token would be enough to log its
    // owner out.
    let h = Harness::new(SignupMode::OpenId).await;
    let s = h.session(APP, "dana").await;
    let claims = h.verifier().await.verify_access(&s.access_token).unwrap();
    let forged = format!("{}.{}", claims.sid, "A".repeat(43));
    assert!(matches!(
        h.backend.refresh(&forged).await,
        Err(AppError::RefreshRevoked)
    ));
    let r1 = h
        .backend
        .refresh(&s.refresh_token)
        .await
        .expect("the owner's token still works");
    assert!(matches!(
        h.backend.refresh(&forged).await,
        Err(AppError::RefreshRevoked)
    ));
    assert!(
        h.backend.refresh(&r1.refresh_token).await.is_ok(),
        "still not revoked after a second forgery"
    );
}

#[tokio::test]
async fn a_family_ends_at_its_absolute_lifetime_however_often_it_is_refreshed() {
    let h = Harness::new(SignupMode::OpenId).await;
    let max = h.backend.issuer.settings.refresh_max_lifetime_secs;
    let s = h.session(APP, "emil").await;
    assert_eq!(
        s.refresh_expires_in,
        h.backend.issuer.settings.refresh_ttl_secs
    );
    let mut token = s.refresh_token;
    let mut elapsed = 0;
    // Refresh every day: each use slides the expiry, but never past the login + max.
    while elapsed + 86_400 < max {
        h.clock.advance(86_400);
        elapsed += 86_400;
        let r = h.backend.refresh(&token).await.unwrap();
        assert!(
            r.refresh_expires_in <= max - elapsed,
            "day {}",
            elapsed / 86_400
        );
        token = r.refresh_token;
    }
    h.clock.advance(max - elapsed);
    assert!(matches!(
        h.backend.refresh(&token).await,
        Err(AppError::RefreshRevoked)
    ));
}
