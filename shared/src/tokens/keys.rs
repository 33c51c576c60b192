//! Signing keys. The secret holds seed text, not a key pair, so that CloudFormation can
//! generate it (`GenerateSecretString`) and deploy needs no hand-made key:
//! `{"current": "<seed>", "previous": "<seed>"?}`. Each seed becomes an Ed25519 key through
//! SHA-256; the `kid` is derived from the public key, so signers and verifiers agree on it
//! without coordination. Rotation moves `current` to `previous` (see README, key rotation).

use crate::crypto::{b64url, b64url_decode, sha256};
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use jsonwebtoken::{DecodingKey, EncodingKey};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

/// Why key material is unusable. Never contains the material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing key secret is malformed: {0}")]
pub struct KeyMaterialError(pub &'static str);

const SEED_DOMAIN: &[u8] = b"wxlogin-ed25519-v1:";
const MIN_SEED_LEN: usize = 32;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySecret {
    current: SecretString,
    #[serde(default)]
    previous: Option<SecretString>,
}

/// A public key that verifies our tokens: what the JWKS publishes and the authorizer loads.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, Debug)]
pub struct PublicKey {
    pub kid: String,
    /// The raw 32-byte Ed25519 public key, base64url without padding (JWK `x`).
    pub x: String,
}

/// The private key that signs.
pub struct SigningKey {
    pub kid: String,
    pub(crate) encoding: EncodingKey,
    pub public: PublicKey,
}

/// Current signing key plus the public keys that verify (current and previous).
pub struct Keyring {
    pub current: SigningKey,
    pub public: PublicKeySet,
}

impl Keyring {
    /// From the secret's JSON text. A malformed secret is an error (it fails the cold start).
    pub fn from_secret_json(text: &str) -> Result<Self, KeyMaterialError> {
        let secret: KeySecret = serde_json::from_str(text)
            .map_err(|_| KeyMaterialError("not {\"current\": ...} JSON"))?;
        let current = signing_key_from_seed(secret.current.expose_secret())?;
        let mut keys = vec![current.public.clone()];
        if let Some(prev) = secret
            .previous
            .as_ref()
            .map(|p| p.expose_secret())
            .filter(|p| !p.is_empty())
        {
            let previous = signing_key_from_seed(prev)?;
            if previous.kid != current.kid {
                keys.push(previous.public);
            }
        }
        Ok(Self {
            current,
            public: PublicKeySet::new(keys)?,
        })
    }

    /// A fresh random keyring (the local server's "keys generated at start").
    pub fn generate() -> Result<Self, KeyMaterialError> {
        Self::from_secret_json(&Self::generate_secret_json(None))
    }

    /// Secret text with a new random current seed and, optionally, a previous one.
    pub fn generate_secret_json(previous: Option<&str>) -> String {
        let seed = crate::crypto::random_id(32);
        match previous {
            Some(p) => serde_json::json!({"current": seed, "previous": p}).to_string(),
            None => serde_json::json!({"current": seed}).to_string(),
        }
    }
}

fn signing_key_from_seed(seed_text: &str) -> Result<SigningKey, KeyMaterialError> {
    if seed_text.len() < MIN_SEED_LEN {
        return Err(KeyMaterialError("a seed is shorter than 32 characters"));
    }
    // Every copy of the seed and of the key made from it is wiped when dropped.
    let mut input = Zeroizing::new(Vec::with_capacity(SEED_DOMAIN.len() + seed_text.len()));
    input.extend_from_slice(SEED_DOMAIN);
    input.extend_from_slice(seed_text.as_bytes());
    let seed = Zeroizing::new(sha256(&input));
    let pair = Ed25519KeyPair::from_seed_unchecked(seed.as_slice())
        .map_err(|_| KeyMaterialError("seed did not make an Ed25519 key"))?;
    let public_bytes = pair.public_key().as_ref().to_vec();
    // The private key as jsonwebtoken reads it: PKCS#8 v1 (RFC 8410), encoded by aws-lc (its
    // document is wiped when dropped).
    let der = pair
        .to_pkcs8v1()
        .map_err(|_| KeyMaterialError("the Ed25519 key could not be encoded"))?;
    let public = PublicKey {
        kid: kid_for(&public_bytes),
        x: b64url(&public_bytes),
    };
    Ok(SigningKey {
        kid: public.kid.clone(),
        encoding: EncodingKey::from_ed_der(der.as_ref()),
        public,
    })
}

/// `kid` = the first 16 characters of base64url(SHA-256(public key)).
fn kid_for(public: &[u8]) -> String {
    b64url(&sha256(public)).chars().take(16).collect()
}

/// Public keys by `kid`, each pinned to EdDSA.
#[derive(Clone)]
pub struct PublicKeySet {
    keys: Vec<(PublicKey, DecodingKey)>,
}

impl PublicKeySet {
    pub fn new(keys: Vec<PublicKey>) -> Result<Self, KeyMaterialError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let raw =
                b64url_decode(&key.x).ok_or(KeyMaterialError("public key is not base64url"))?;
            if raw.len() != 32 || kid_for(&raw) != key.kid {
                return Err(KeyMaterialError("public key does not match its kid"));
            }
            // The JWK `x` form: the raw 32-byte key, as aws-lc verifies Ed25519 signatures.
            let decoding = DecodingKey::from_ed_components(&key.x)
                .map_err(|_| KeyMaterialError("public key is not base64url"))?;
            out.push((key, decoding));
        }
        Ok(Self { keys: out })
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
        let keys: Vec<_> = self
            .public_keys()
            .map(|k| {
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": k.kid, "x": k.x})
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const SEED_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn the_same_seed_gives_the_same_kid_and_key() {
        let a1 = Keyring::from_secret_json(&format!(r#"{{"current":"{SEED_A}"}}"#)).unwrap();
        let a2 = Keyring::from_secret_json(&format!(r#"{{"current":"{SEED_A}"}}"#)).unwrap();
        assert_eq!(a1.current.kid, a2.current.kid);
        assert_eq!(a1.current.public, a2.current.public);
        assert_eq!(a1.current.kid.len(), 16);
    }

    /// Pinned from the keys as they were made before the key encoding came from aws-lc-rs:
    /// a deployed seed keeps its kid, its published key and the tokens it signs.
    #[test]
    fn a_known_seed_keeps_its_kid_public_key_and_signatures() {
        let ring = Keyring::from_secret_json(&format!(r#"{{"current":"{SEED_A}"}}"#)).unwrap();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(ring.current.kid.clone());
        let claims = serde_json::json!({"sub": "u_pinned", "exp": 4102444800u64});
        let token = jsonwebtoken::encode(&header, &claims, &ring.current.encoding).unwrap();
        assert_eq!(ring.current.kid, "nFJsM7WbB6I9LJOq");
        assert_eq!(
            ring.current.public.x,
            "GSLVsmJ445m3X4DaKeKkPo_r1I87HyWP79aJ0LX8AIk"
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
    fn the_private_key_is_the_rfc_8410_pkcs8_v1_document_of_the_seed() {
        // What the key encoding was before aws-lc made it: a fixed prefix, then the seed.
        const PREFIX: [u8; 16] = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let seed = [7u8; 32];
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        let der = pair.to_pkcs8v1().unwrap();
        assert_eq!(der.as_ref(), [&PREFIX[..], &seed[..]].concat());
    }

    #[test]
    fn previous_key_verifies_but_does_not_sign() {
        let ring = Keyring::from_secret_json(&format!(
            r#"{{"current":"{SEED_B}","previous":"{SEED_A}"}}"#
        ))
        .unwrap();
        let old = Keyring::from_secret_json(&format!(r#"{{"current":"{SEED_A}"}}"#)).unwrap();
        assert_eq!(ring.public.public_keys().count(), 2);
        assert!(ring.public.find(&old.current.kid).is_some());
        assert_ne!(ring.current.kid, old.current.kid);
    }

    #[test]
    fn malformed_secrets_are_refused() {
        assert!(Keyring::from_secret_json("").is_err());
        assert!(Keyring::from_secret_json("{}").is_err());
        assert!(Keyring::from_secret_json(r#"{"current":"short"}"#).is_err());
        assert!(Keyring::from_secret_json(&format!(r#"{{"current":"{SEED_A}","x":1}}"#)).is_err());
    }

    #[test]
    fn a_public_key_must_match_its_kid() {
        let ring = Keyring::generate().unwrap();
        let mut key = ring.current.public.clone();
        assert!(PublicKeySet::new(vec![key.clone()]).is_ok());
        key.kid = "AAAAAAAAAAAAAAAA".into();
        assert!(PublicKeySet::new(vec![key]).is_err());
    }

    #[test]
    fn jwks_lists_okp_keys() {
        let ring = Keyring::generate().unwrap();
        let jwks = ring.public.jwks();
        assert_eq!(jwks["keys"][0]["kty"], "OKP");
        assert_eq!(jwks["keys"][0]["kid"], ring.current.kid.as_str());
    }
}
