//! The `KeyDirectory` suite: one published set of public keys, which only a newer keyring may
//! replace.

use crate::tokens::{KeyDirectory, Keyring, PublishedKeys};

/// Runs every check of this suite against `store`.
pub async fn run_key_directory<S: KeyDirectory>(store: &S) {
    published_keys(store).await;
}

/// `publish_keys`/`load_keys` (`KeyDirectory`): the store holds one published set. A set
/// replaces it only when it is the same set or the published `current` is its `previous`
/// (a newer keyring); an older or unrelated set never rolls it back; publishing is
/// idempotent. A store (table) may already hold a set of someone else's: then the check
/// can only show that its unrelated sets do not replace it.
pub async fn published_keys<S: KeyDirectory>(store: &S) {
    let ring = |previous: Option<&str>| {
        let secret = Keyring::generate_secret_json(previous);
        let seed: serde_json::Value = serde_json::from_str(&secret).unwrap();
        let keys = PublishedKeys::of(&Keyring::from_secret_json(&secret).unwrap());
        (seed["current"].as_str().unwrap().to_owned(), keys)
    };
    let (seed1, k1) = ring(None);
    let (seed2, k2) = ring(Some(&seed1));
    let (_, k3) = ring(Some(&seed2));
    let (_, unrelated) = ring(None);
    assert_eq!(k2.previous_kid.as_ref(), Some(&k1.current_kid));
    assert_eq!(k3.previous_kid.as_ref(), Some(&k2.current_kid));

    let before = store.load_keys().await.unwrap();
    store.publish_keys(&k1).await.unwrap();
    if let Some(theirs) = before {
        assert_eq!(
            store.load_keys().await.unwrap(),
            Some(theirs),
            "an unrelated set does not replace the published one"
        );
        return;
    }
    let load = || async { store.load_keys().await.unwrap() };
    assert_eq!(load().await, Some(k1.clone()), "the first set is published");
    store.publish_keys(&k1).await.unwrap();
    assert_eq!(load().await, Some(k1.clone()), "publishing is idempotent");

    store.publish_keys(&k2).await.unwrap();
    assert_eq!(
        load().await,
        Some(k2.clone()),
        "the rotated set replaces it"
    );
    store.publish_keys(&k1).await.unwrap();
    assert_eq!(
        load().await,
        Some(k2.clone()),
        "an older signer does not roll it back"
    );
    store.publish_keys(&k2).await.unwrap();
    assert_eq!(load().await, Some(k2.clone()));

    store.publish_keys(&k3).await.unwrap();
    assert_eq!(
        load().await,
        Some(k3.clone()),
        "a second rotation replaces it, dropping the oldest key"
    );
    for old in [&k1, &k2, &unrelated] {
        store.publish_keys(old).await.unwrap();
        assert_eq!(load().await, Some(k3.clone()));
    }
}
