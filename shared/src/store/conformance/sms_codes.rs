//! The `SmsCodes` suite: a phone's code gives its hash for a bounded number of attempts while
//! live, is replaced by a new code, and is consumed once (also under concurrency).

use super::fixtures::{NOW, join_all_ok, phone};
use crate::crypto::random_id;
use crate::store::SmsCodes;

/// Runs every check of this suite against `store`.
pub async fn run_sms_codes<S: SmsCodes>(store: &S) {
    sms_code_attempts(store).await;
    sms_code_consume(store).await;
    sms_code_concurrent(store).await;
}

/// `attempt_sms_code`: None with no code; the stored hash exactly `max` times while the code
/// is live, then None; None once `now >= expires_at`; `put_sms_code` again replaces the hash
/// and resets the attempts; phones are independent.
pub async fn sms_code_attempts<S: SmsCodes>(store: &S) {
    let (p, exp) = (phone(), NOW + 300);
    let (h1, h2, h3) = (random_id(32), random_id(32), random_id(32));
    let attempt = |max: u32, now: u64| {
        let p = p.clone();
        async move { store.attempt_sms_code(&p, max, now).await.unwrap() }
    };
    assert_eq!(attempt(5, NOW).await, None, "no code");

    store.put_sms_code(&p, &h1, exp).await.unwrap();
    for i in 0..3 {
        assert_eq!(attempt(3, NOW + i).await, Some(h1.clone()), "attempt {i}");
    }
    assert_eq!(attempt(3, NOW + 3).await, None, "the attempts are used up");
    assert_eq!(attempt(3, NOW + 4).await, None, "and stay used up");

    // Another phone has its own code (none yet).
    let other = phone();
    assert_eq!(store.attempt_sms_code(&other, 3, NOW).await.unwrap(), None);

    // A new code replaces the hash and starts its attempts at 0.
    store.put_sms_code(&p, &h2, exp).await.unwrap();
    for i in 0..3 {
        assert_eq!(attempt(3, NOW + 10).await, Some(h2.clone()), "attempt {i}");
    }
    assert_eq!(attempt(3, NOW + 10).await, None);

    // Expiry: live until `now >= expires_at`, whatever attempts are left.
    store.put_sms_code(&p, &h3, exp).await.unwrap();
    assert_eq!(attempt(3, exp - 1).await, Some(h3.clone()));
    assert_eq!(attempt(3, exp).await, None, "expired at expires_at");
    assert_eq!(attempt(3, exp + 1).await, None, "and after");

    // max 0 allows no attempt.
    store.put_sms_code(&p, &h1, exp).await.unwrap();
    assert_eq!(attempt(0, NOW).await, None);
    assert_eq!(attempt(1, NOW).await, Some(h1.clone()));
}

/// `consume_sms_code`: true with the right hash, after which the code is gone (attempts are
/// None, a second consume is false); a stale hash (the code was replaced) is false and the
/// new code stays; false with no code at all.
pub async fn sms_code_consume<S: SmsCodes>(store: &S) {
    let (p, exp) = (phone(), NOW + 300);
    let (h1, h2) = (random_id(32), random_id(32));

    store.put_sms_code(&p, &h1, exp).await.unwrap();
    assert_eq!(
        store.attempt_sms_code(&p, 5, NOW).await.unwrap(),
        Some(h1.clone())
    );
    assert!(store.consume_sms_code(&p, &h1).await.unwrap());
    assert_eq!(
        store.attempt_sms_code(&p, 5, NOW).await.unwrap(),
        None,
        "a consumed code is gone"
    );
    assert!(
        !store.consume_sms_code(&p, &h1).await.unwrap(),
        "a code is consumed once"
    );

    // Replaced between attempt and consume: the stale consume fails, the new code stays.
    store.put_sms_code(&p, &h1, exp).await.unwrap();
    assert_eq!(
        store.attempt_sms_code(&p, 5, NOW).await.unwrap(),
        Some(h1.clone())
    );
    store.put_sms_code(&p, &h2, exp).await.unwrap();
    assert!(
        !store.consume_sms_code(&p, &h1).await.unwrap(),
        "a stale hash does not consume the new code"
    );
    assert_eq!(
        store.attempt_sms_code(&p, 5, NOW).await.unwrap(),
        Some(h2.clone()),
        "the new code stays"
    );
    assert!(store.consume_sms_code(&p, &h2).await.unwrap());

    assert!(
        !store.consume_sms_code(&phone(), &h1).await.unwrap(),
        "no code, nothing consumed"
    );
}

/// Eight simultaneous attempts with max 3: exactly 3 get the hash. Eight simultaneous
/// consumes of one code: exactly one is true.
pub async fn sms_code_concurrent<S: SmsCodes>(store: &S) {
    let (p, exp, hash) = (phone(), NOW + 300, random_id(32));
    store.put_sms_code(&p, &hash, exp).await.unwrap();
    let attempts: Vec<Option<String>> =
        join_all_ok((0..8).map(|_| store.attempt_sms_code(&p, 3, NOW)).collect()).await;
    assert_eq!(
        attempts
            .iter()
            .filter(|a| a.as_deref() == Some(hash.as_str()))
            .count(),
        3,
        "exactly max attempts get the hash: {attempts:?}"
    );
    assert_eq!(attempts.iter().filter(|a| a.is_none()).count(), 5);

    store.put_sms_code(&p, &hash, exp).await.unwrap();
    let consumed = join_all_ok((0..8).map(|_| store.consume_sms_code(&p, &hash)).collect())
        .await
        .into_iter()
        .filter(|c| *c)
        .count();
    assert_eq!(consumed, 1, "exactly one concurrent consume wins");
    assert_eq!(store.attempt_sms_code(&p, 5, NOW).await.unwrap(), None);
}
