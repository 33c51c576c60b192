//! The `CodeClaims` suite: a login code or a phone code is claimed once (one winner among
//! concurrent claims), replayed until it expires, and a phone code's answer is reused by its
//! owner only.

use super::fixtures::{NOW, app, join_all_ok, openid, phone, winners};
use crate::crypto::random_id;
use crate::domain::OpenId;
use crate::store::{CodeClaim, CodeClaims, PhoneCodeClaim};

/// Runs every check of this suite against `store`.
pub async fn run_code_claims<S: CodeClaims>(store: &S) {
    login_code_claims(store).await;
    login_code_concurrent_claims(store).await;
    phone_code_claims(store).await;
    phone_code_concurrent_claims(store).await;
}

/// A code is Fresh once, Replayed until it expires, and Fresh again once `now >= expires_at`;
/// claims are per app.
pub async fn login_code_claims<S: CodeClaims>(store: &S) {
    let appid = app();
    let digest = random_id(32);
    let exp = NOW + 300;
    let claim =
        |now: u64, expires_at: u64| store.claim_login_code(&appid, &digest, now, expires_at);

    assert_eq!(claim(NOW, exp).await.unwrap(), CodeClaim::Fresh);
    assert_eq!(claim(NOW, exp).await.unwrap(), CodeClaim::Replayed);
    assert_eq!(
        claim(exp - 1, exp + 300).await.unwrap(),
        CodeClaim::Replayed
    );
    // Expired (`expires_at <= now`) counts as absent: the claim is fresh again, and renewed.
    assert_eq!(claim(exp, exp + 300).await.unwrap(), CodeClaim::Fresh);
    assert_eq!(
        claim(exp + 299, exp + 900).await.unwrap(),
        CodeClaim::Replayed
    );
    assert_eq!(claim(exp + 300, exp + 900).await.unwrap(), CodeClaim::Fresh);

    // The same digest in another app is another code.
    let other = app();
    assert_eq!(
        store
            .claim_login_code(&other, &digest, NOW, exp)
            .await
            .unwrap(),
        CodeClaim::Fresh
    );
}

/// Eight simultaneous claims of one code: exactly one is Fresh.
pub async fn login_code_concurrent_claims<S: CodeClaims>(store: &S) {
    let appid = app();
    let digest = random_id(32);
    let claims = join_all_ok(
        (0..8)
            .map(|_| store.claim_login_code(&appid, &digest, NOW, NOW + 300))
            .collect(),
    )
    .await;
    let fresh = claims.iter().filter(|c| **c == CodeClaim::Fresh).count();
    assert_eq!(fresh, 1, "exactly one concurrent claim is fresh");
}

/// `claim_phone_code`: Fresh for the first openid, then Pending for it until
/// `complete_phone_code`, then Done(phone); OtherOwner for anyone else; Fresh again after
/// `release_phone_code` or once `now >= expires_at` (the old answer gone); per app.
pub async fn phone_code_claims<S: CodeClaims>(store: &S) {
    let (appid, digest, o1, o2) = (app(), random_id(32), openid(), openid());
    let exp = NOW + 300;
    let claim = |oid: &OpenId, now: u64, expires_at: u64| {
        let oid = oid.clone();
        let (appid, digest) = (&appid, &digest);
        async move {
            store
                .claim_phone_code(appid, digest, &oid, now, expires_at)
                .await
                .unwrap()
        }
    };

    assert_eq!(claim(&o1, NOW, exp).await, PhoneCodeClaim::Fresh);
    assert_eq!(claim(&o1, NOW + 1, exp).await, PhoneCodeClaim::Pending);
    assert_eq!(claim(&o2, NOW + 1, exp).await, PhoneCodeClaim::OtherOwner);

    let p = phone();
    store
        .complete_phone_code(&appid, &digest, &p)
        .await
        .unwrap();
    assert_eq!(
        claim(&o1, NOW + 2, exp).await,
        PhoneCodeClaim::Done(p.clone())
    );
    assert_eq!(
        claim(&o1, exp - 1, exp + 300).await,
        PhoneCodeClaim::Done(p.clone()),
        "the owner's repeated claim still finds the answer"
    );
    assert_eq!(claim(&o2, NOW + 2, exp).await, PhoneCodeClaim::OtherOwner);

    // The same digest in another app is another code.
    assert_eq!(
        store
            .claim_phone_code(&app(), &digest, &o2, NOW, exp)
            .await
            .unwrap(),
        PhoneCodeClaim::Fresh
    );

    // Released: anyone's, fresh, without the old answer.
    store.release_phone_code(&appid, &digest).await.unwrap();
    assert_eq!(claim(&o2, NOW + 3, exp).await, PhoneCodeClaim::Fresh);
    assert_eq!(claim(&o2, NOW + 3, exp).await, PhoneCodeClaim::Pending);
    assert_eq!(claim(&o1, NOW + 3, exp).await, PhoneCodeClaim::OtherOwner);

    // Expired (`expires_at <= now`): fresh for anyone, the answer forgotten.
    store
        .complete_phone_code(&appid, &digest, &p)
        .await
        .unwrap();
    assert_eq!(
        claim(&o1, exp - 1, exp + 300).await,
        PhoneCodeClaim::OtherOwner
    );
    assert_eq!(claim(&o1, exp, exp + 300).await, PhoneCodeClaim::Fresh);
    assert_eq!(
        claim(&o1, exp + 1, exp + 300).await,
        PhoneCodeClaim::Pending,
        "an expired claim's answer does not carry over"
    );
    assert_eq!(
        claim(&o2, exp + 1, exp + 300).await,
        PhoneCodeClaim::OtherOwner
    );
    // ...also for the same openid.
    assert_eq!(
        claim(&o1, exp + 300, exp + 600).await,
        PhoneCodeClaim::Fresh
    );

    // Releasing or completing a code nobody claimed writes nothing: it stays Fresh.
    let unclaimed = random_id(32);
    store.release_phone_code(&appid, &unclaimed).await.unwrap();
    store
        .complete_phone_code(&appid, &unclaimed, &p)
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_phone_code(&appid, &unclaimed, &o2, NOW, exp)
            .await
            .unwrap(),
        PhoneCodeClaim::Fresh,
        "completing an unclaimed code creates no claim"
    );
}

/// Eight openids claim one phone code at once: exactly one is Fresh, the others OtherOwner.
pub async fn phone_code_concurrent_claims<S: CodeClaims>(store: &S) {
    let (appid, digest) = (app(), random_id(32));
    let openids: Vec<OpenId> = (0..8).map(|_| openid()).collect();
    let claims: Vec<PhoneCodeClaim> = join_all_ok(
        openids
            .iter()
            .map(|o| store.claim_phone_code(&appid, &digest, o, NOW, NOW + 300))
            .collect(),
    )
    .await;
    let fresh = winners(&openids, &claims, &PhoneCodeClaim::Fresh);
    assert_eq!(
        fresh.len(),
        1,
        "exactly one concurrent claim is fresh: {claims:?}"
    );
    assert!(
        claims
            .iter()
            .filter(|c| **c != PhoneCodeClaim::Fresh)
            .all(|c| *c == PhoneCodeClaim::OtherOwner),
        "the others are OtherOwner: {claims:?}"
    );
    assert_eq!(
        store
            .claim_phone_code(&appid, &digest, fresh[0], NOW + 1, NOW + 300)
            .await
            .unwrap(),
        PhoneCodeClaim::Pending,
        "the winner holds the claim"
    );
}
