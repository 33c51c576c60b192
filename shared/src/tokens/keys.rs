//! The keyring: the signing keys of the Secrets Manager secret
//! `{"current": <entry>, "previous": <entry>?, "rotated_at": <unix seconds>?}`, where an entry is
//! an Ed25519 seed (text, so that CloudFormation can generate the first one) or an RS256 key
//! (`signing_key`). Rotation (the key-rotation function, or the hand-run script for seeds)
//! moves `current` to `previous`; `rotated_at` lets it refuse to drop a key whose tokens may
//! still be valid.

use super::algorithm::SigningAlgorithm;
use super::public_key::PublicKey;
use super::signing_key::KeyEntry;
pub use super::signing_key::{KeyMaterialError, SigningKey, new_key_entry};
use jsonwebtoken::DecodingKey;
use secrecy::ExposeSecret as _;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySecret {
    current: KeyEntry,
    #[serde(default)]
    previous: Option<KeyEntry>,
    #[serde(default)]
    rotated_at: Option<u64>,
}

/// Current signing key plus the public keys that verify (current and previous, when they
/// have the same algorithm: a verifier pins one).
pub struct Keyring {
    pub current: SigningKey,
    pub public: PublicKeySet,
    /// The `kid` of the secret's `previous` key, whatever its algorithm: a published set
    /// naming it as current may be replaced by this keyring's (`directory::may_replace`).
    pub previous_kid: Option<String>,
    /// When `current` became current (absent for a first key or a hand-made secret).
    pub rotated_at: Option<u64>,
}

impl Keyring {
    /// From the secret's JSON text. A malformed secret is an error (it fails the cold start).
    pub fn from_secret_json(text: &str) -> Result<Self, KeyMaterialError> {
        let secret: KeySecret = serde_json::from_str(text)
            .map_err(|_| KeyMaterialError("not {\"current\": ...} JSON"))?;
        let current = SigningKey::from_entry(&secret.current)?;
        let mut keys = vec![current.public.clone()];
        let mut previous_kid = None;
        if let Some(previous) = secret.previous.as_ref().filter(|p| !p.is_empty_seed()) {
            let previous = SigningKey::from_entry(previous)?;
            if previous.kid != current.kid {
                previous_kid = Some(previous.kid.clone());
                keys.push(previous.public);
            }
        }
        Ok(Self {
            public: PublicKeySet::new(keys, current.algorithm())?,
            current,
            previous_kid,
            rotated_at: secret.rotated_at,
        })
    }

    /// The rule that a deployment signs only with a key of its `SIGNING_ALGORITHM` (the one
    /// its verifiers pin): a secret the key rotation has not reached yet signs nothing.
    pub fn require(&self, algorithm: SigningAlgorithm) -> Result<(), KeyMaterialError> {
        if self.current.algorithm() == algorithm {
            Ok(())
        } else {
            Err(KeyMaterialError(
                "the current key is not of SIGNING_ALGORITHM (has the key rotation run?)",
            ))
        }
    }

    /// A fresh random keyring of `algorithm` (the local server's "keys generated at start").
    pub fn generate(algorithm: SigningAlgorithm) -> Result<Self, KeyMaterialError> {
        Self::from_secret_json(&Self::new_secret_json(algorithm)?)
    }

    /// Secret text holding one new key of `algorithm`.
    pub fn new_secret_json(algorithm: SigningAlgorithm) -> Result<String, KeyMaterialError> {
        Ok(serde_json::json!({ "current": new_key_entry(algorithm)? }).to_string())
    }

    /// Secret text with a new random Ed25519 seed and, optionally, a previous seed.
    pub fn generate_secret_json(previous: Option<&str>) -> String {
        let seed = crate::crypto::random_id(32);
        match previous {
            Some(p) => serde_json::json!({"current": seed, "previous": p}).to_string(),
            None => serde_json::json!({"current": seed}).to_string(),
        }
    }
}

/// The secret after one rotation: a new `current` key of `algorithm`, the old `current` as
/// `previous` (the old `previous` is dropped) and `rotated_at` = `now`. Refused while the
/// old `previous` may still verify a live token: when `current` became current less than
/// `min_key_age_secs` ago (the longest a token it signed lives, plus the caches).
pub fn rotated_secret_json(
    text: &str,
    algorithm: SigningAlgorithm,
    now: u64,
    min_key_age_secs: u64,
) -> Result<String, RotationRefused> {
    let ring = Keyring::from_secret_json(text).map_err(RotationRefused::Malformed)?;
    if let Some(since) = ring.rotated_at
        && now < since.saturating_add(min_key_age_secs)
    {
        return Err(RotationRefused::TooSoon {
            retry_after_secs: since.saturating_add(min_key_age_secs) - now,
        });
    }
    let old: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| RotationRefused::Malformed(KeyMaterialError("not JSON")))?;
    let previous = old
        .get("current")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let current = new_key_entry(algorithm).map_err(RotationRefused::Malformed)?;
    Ok(
        serde_json::json!({"current": current, "previous": previous, "rotated_at": now})
            .to_string(),
    )
}

/// Why a rotation did not happen. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationRefused {
    #[error("{0}")]
    Malformed(KeyMaterialError),
    #[error(
        "the current key is too young to rotate: the previous key may still verify live tokens; retry in {retry_after_secs} s"
    )]
    TooSoon { retry_after_secs: u64 },
}

impl KeyEntry {
    fn is_empty_seed(&self) -> bool {
        matches!(self, KeyEntry::Seed(seed) if seed.expose_secret().is_empty())
    }
}

/// Public keys by `kid`, all of one algorithm: the one the verifier pins. Keys of another
/// algorithm are left out (a set published during a change of algorithm lists both).
#[derive(Clone)]
pub struct PublicKeySet {
    algorithm: SigningAlgorithm,
    keys: Vec<(PublicKey, DecodingKey)>,
}

impl PublicKeySet {
    pub fn new(
        keys: Vec<PublicKey>,
        algorithm: SigningAlgorithm,
    ) -> Result<Self, KeyMaterialError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys.into_iter().filter(|k| k.algorithm() == algorithm) {
            let decoding = key
                .decoding_key()
                .ok_or(KeyMaterialError("public key does not match its kid"))?;
            out.push((key, decoding));
        }
        Ok(Self {
            algorithm,
            keys: out,
        })
    }

    /// The same keys, pinned to `algorithm` (none are left when it is another one).
    pub fn pinned(&self, algorithm: SigningAlgorithm) -> Self {
        Self {
            algorithm,
            keys: self
                .keys
                .iter()
                .filter(|(k, _)| k.algorithm() == algorithm)
                .cloned()
                .collect(),
        }
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The key for a `kid`, by exact match only.
    pub fn find(&self, kid: &str) -> Option<&DecodingKey> {
        self.keys.iter().find(|(k, _)| k.kid == kid).map(|(_, d)| d)
    }

    pub fn public_keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.iter().map(|(k, _)| k)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The JWKS document (`GET /.well-known/jwks.json`).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self.public_keys().map(PublicKey::jwk).collect();
        serde_json::json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::public_key::PublicMaterial;

    const SEED_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const SEED_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn seed_ring(secret: &str) -> Keyring {
        Keyring::from_secret_json(secret).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_kid_and_key() {
        let a1 = seed_ring(&format!(r#"{{"current":"{SEED_A}"}}"#));
        let a2 = seed_ring(&format!(r#"{{"current":"{SEED_A}"}}"#));
        assert_eq!(a1.current.kid, a2.current.kid);
        assert_eq!(a1.current.public, a2.current.public);
        assert_eq!(a1.current.kid.len(), 16);
        assert_eq!(a1.current.algorithm(), SigningAlgorithm::EdDsa);
    }

    /// Pinned from the keys as they were made before RS256 existed: a deployed seed keeps its
    /// kid, its published key and the tokens it signs.
    #[test]
    fn a_known_seed_keeps_its_kid_public_key_and_signatures() {
        let ring = seed_ring(&format!(r#"{{"current":"{SEED_A}"}}"#));
        let claims = serde_json::json!({"sub": "u_pinned", "exp": 4102444800u64});
        let token = ring
            .current
            .sign_jwt(
                jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
                &claims,
            )
            .unwrap();
        assert_eq!(ring.current.kid, "nFJsM7WbB6I9LJOq");
        assert_eq!(
            ring.current.public.material,
            PublicMaterial::Ed25519 {
                x: "GSLVsmJ445m3X4DaKeKkPo_r1I87HyWP79aJ0LX8AIk".into()
            }
        );
        assert_eq!(
            token,
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSIsImtpZCI6Im5GSnNNN1diQjZJOUxKT3EifQ\
             .eyJleHAiOjQxMDI0NDQ4MDAsInN1YiI6InVfcGlubmVkIn0\
             .dqZciCVdecAsuiqSVm-v3ujb9MuZikNDBgMyxVkKAAc9N7bYMLitNOrwutq1i4V0xvKydWRK5rCKjTZ32PyjAA"
        );
        let key = ring.public.find(&ring.current.kid).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        validation.required_spec_claims.clear();
        let decoded = jsonwebtoken::decode::<serde_json::Value>(&token, key, &validation).unwrap();
        assert_eq!(decoded.claims, claims);
    }

    #[test]
    fn an_rs256_key_signs_tokens_that_its_published_n_and_e_verify() {
        let ring = Keyring::generate(SigningAlgorithm::Rs256).unwrap();
        assert_eq!(ring.current.algorithm(), SigningAlgorithm::Rs256);
        let PublicMaterial::Rsa { n, e } = &ring.current.public.material else {
            panic!("not an RSA key")
        };
        assert_eq!(
            crate::crypto::b64url_decode(n).unwrap().len(),
            256,
            "2048 bits"
        );
        assert_eq!(e, "AQAB");
        let claims = serde_json::json!({"sub": "u_rsa", "exp": 4102444800u64});
        let token = ring
            .current
            .sign_jwt(jsonwebtoken::Header::default(), &claims)
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(ring.current.kid.as_str()));
        // Verified by aws-lc from the JWK members alone, as any JWKS client does.
        let key = jsonwebtoken::DecodingKey::from_rsa_components(n, e).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.required_spec_claims.clear();
        let decoded = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).unwrap();
        assert_eq!(decoded.claims, claims);
    }

    #[test]
    fn an_rs256_entry_reads_back_to_the_same_kid_every_time() {
        let entry = new_key_entry(SigningAlgorithm::Rs256).unwrap();
        let secret = serde_json::json!({ "current": entry }).to_string();
        let (one, two) = (seed_ring(&secret), seed_ring(&secret));
        assert_eq!(one.current.kid, two.current.kid);
        assert_eq!(one.current.public, two.current.public);
        assert_eq!(one.public.jwks()["keys"][0]["kty"], "RSA");
        assert_eq!(one.public.jwks()["keys"][0]["alg"], "RS256");
    }

    #[test]
    fn previous_key_verifies_but_does_not_sign() {
        let ring = seed_ring(&format!(
            r#"{{"current":"{SEED_B}","previous":"{SEED_A}"}}"#
        ));
        let old = seed_ring(&format!(r#"{{"current":"{SEED_A}"}}"#));
        assert_eq!(ring.public.public_keys().count(), 2);
        assert!(ring.public.find(&old.current.kid).is_some());
        assert_ne!(ring.current.kid, old.current.kid);
    }

    #[test]
    fn after_a_change_of_algorithm_only_the_current_algorithms_keys_are_verifiers() {
        let rsa = new_key_entry(SigningAlgorithm::Rs256).unwrap();
        let ring = seed_ring(&serde_json::json!({"current": rsa, "previous": SEED_A}).to_string());
        let old = seed_ring(&format!(r#"{{"current":"{SEED_A}"}}"#));
        assert_eq!(ring.public.algorithm(), SigningAlgorithm::Rs256);
        assert_eq!(ring.public.public_keys().count(), 1);
        assert!(ring.public.find(&old.current.kid).is_none());
        assert!(ring.public.pinned(SigningAlgorithm::EdDsa).is_empty());
    }

    #[test]
    fn malformed_secrets_are_refused() {
        for bad in [
            String::new(),
            "{}".into(),
            r#"{"current":"short"}"#.into(),
            format!(r#"{{"current":"{SEED_A}","x":1}}"#),
            r#"{"current":{"alg":"RS256","pkcs8":"AAAA"}}"#.into(),
            r#"{"current":{"alg":"RS256","pkcs8":"%%%"}}"#.into(),
            format!(r#"{{"current":{{"alg":"HS256","pkcs8":"{SEED_A}"}}}}"#),
            format!(r#"{{"current":{{"alg":"RS256","pkcs8":"{SEED_A}","extra":1}}}}"#),
        ] {
            assert!(Keyring::from_secret_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_public_key_must_match_its_kid() {
        for algorithm in [SigningAlgorithm::EdDsa, SigningAlgorithm::Rs256] {
            let ring = Keyring::generate(algorithm).unwrap();
            let mut key = ring.current.public.clone();
            assert!(PublicKeySet::new(vec![key.clone()], algorithm).is_ok());
            key.kid = "AAAAAAAAAAAAAAAA".into();
            assert!(
                PublicKeySet::new(vec![key], algorithm).is_err(),
                "{algorithm:?}"
            );
        }
    }

    #[test]
    fn published_keys_written_before_rs256_read_back_as_ed25519() {
        let stored =
            r#"[{"kid":"nFJsM7WbB6I9LJOq","x":"GSLVsmJ445m3X4DaKeKkPo_r1I87HyWP79aJ0LX8AIk"}]"#;
        let keys: Vec<PublicKey> = serde_json::from_str(stored).unwrap();
        let set = PublicKeySet::new(keys, SigningAlgorithm::EdDsa).unwrap();
        assert!(set.find("nFJsM7WbB6I9LJOq").is_some());
        assert_eq!(set.jwks()["keys"][0]["kty"], "OKP");
    }

    #[test]
    fn a_rotation_moves_current_to_previous_and_refuses_while_previous_may_verify() {
        let first = format!(r#"{{"current":"{SEED_A}"}}"#);
        let once = rotated_secret_json(&first, SigningAlgorithm::Rs256, 1_000, 3_600).unwrap();
        let ring = seed_ring(&once);
        assert_eq!(ring.current.algorithm(), SigningAlgorithm::Rs256);
        assert_eq!(ring.rotated_at, Some(1_000));
        let value: serde_json::Value = serde_json::from_str(&once).unwrap();
        assert_eq!(value["previous"], SEED_A);

        assert_eq!(
            rotated_secret_json(&once, SigningAlgorithm::Rs256, 4_599, 3_600),
            Err(RotationRefused::TooSoon {
                retry_after_secs: 1
            })
        );
        let twice = rotated_secret_json(&once, SigningAlgorithm::Rs256, 4_600, 3_600).unwrap();
        let ring2 = seed_ring(&twice);
        assert!(
            ring2.public.find(&ring.current.kid).is_some(),
            "the last key still verifies"
        );
        assert_ne!(ring2.current.kid, ring.current.kid);
        assert_eq!(ring2.public.public_keys().count(), 2, "the seed is dropped");
    }
}
