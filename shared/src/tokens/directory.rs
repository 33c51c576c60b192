//! Where verifiers find our public keys: one published set (`current` + `previous`) that the
//! signing functions write when they load a keyring, and the authorizer and the session
//! function read at cold start. A signer holding an older keyring never overwrites a newer
//! set: it may write only when the published `current` is its own `current` or `previous`.

use super::keys::Keyring;
use super::public_key::PublicKey;
use crate::store::StoreResult;
use serde::{Deserialize, Serialize};
use std::future::Future;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedKeys {
    pub current_kid: String,
    pub previous_kid: Option<String>,
    pub keys: Vec<PublicKey>,
}

impl PublishedKeys {
    pub fn of(ring: &Keyring) -> Self {
        Self {
            current_kid: ring.current.kid.clone(),
            previous_kid: ring.previous_kid.clone(),
            keys: ring.public.public_keys().cloned().collect(),
        }
    }
}

/// Whether a signer holding `mine` may replace the published set `published`.
pub fn may_replace(published: Option<&PublishedKeys>, mine: &PublishedKeys) -> bool {
    match published {
        None => true,
        Some(p) => {
            p.current_kid == mine.current_kid || Some(&p.current_kid) == mine.previous_kid.as_ref()
        }
    }
}

/// Reads the published set (verifiers).
pub trait PublishedKeySource: Send + Sync + 'static {
    fn load_keys(&self) -> impl Future<Output = StoreResult<Option<PublishedKeys>>> + Send;
}

/// Reads and writes the published set (signers, through their store).
pub trait KeyDirectory: PublishedKeySource {
    /// Publishes `keys` unless a newer set is already there (see module doc). Idempotent.
    fn publish_keys(&self, keys: &PublishedKeys) -> impl Future<Output = StoreResult<()>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_signer_cannot_roll_the_published_set_back() {
        let k1 =
            Keyring::from_secret_json(&format!(r#"{{"current":"{}"}}"#, "a".repeat(40))).unwrap();
        let k2 = Keyring::from_secret_json(&format!(
            r#"{{"current":"{}","previous":"{}"}}"#,
            "b".repeat(40),
            "a".repeat(40)
        ))
        .unwrap();
        let (p1, p2) = (PublishedKeys::of(&k1), PublishedKeys::of(&k2));
        assert!(may_replace(None, &p1));
        assert!(may_replace(Some(&p1), &p1));
        assert!(
            may_replace(Some(&p1), &p2),
            "the rotated keyring replaces the old set"
        );
        assert!(
            !may_replace(Some(&p2), &p1),
            "a stale signer does not roll it back"
        );
        assert_eq!(p2.keys.len(), 2);
    }

    #[test]
    fn the_first_rs256_keyring_replaces_the_set_its_seed_published() {
        let seed = format!(r#"{{"current":"{}"}}"#, "s".repeat(64));
        let rotated =
            crate::tokens::rotated_secret_json(&seed, crate::tokens::SigningAlgorithm::Rs256, 1, 0)
                .unwrap();
        let (before, after) = (
            PublishedKeys::of(&Keyring::from_secret_json(&seed).unwrap()),
            PublishedKeys::of(&Keyring::from_secret_json(&rotated).unwrap()),
        );
        assert_eq!(after.previous_kid.as_ref(), Some(&before.current_kid));
        assert_eq!(
            after.keys.len(),
            1,
            "the Ed25519 key is not published beside RS256"
        );
        assert!(may_replace(Some(&before), &after));
    }
}
