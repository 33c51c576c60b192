//! A public key that verifies our tokens: what the JWKS publishes, the published-keys item
//! stores and the verifiers load. Its `kid` is derived from the key itself, so signers and
//! verifiers agree on it without coordination.

use super::algorithm::SigningAlgorithm;
use crate::crypto::{b64url, b64url_decode, sha256};
use jsonwebtoken::DecodingKey;
use serde::{Deserialize, Serialize};

/// `kid` plus the key. Stored as `{"kid", "x"}` (Ed25519, as before RS256 existed) or
/// `{"kid", "n", "e"}` (RSA).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, Debug)]
pub struct PublicKey {
    pub kid: String,
    #[serde(flatten)]
    pub material: PublicMaterial,
}

/// The key's JWK members, base64url without padding.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, Debug)]
#[serde(untagged)]
pub enum PublicMaterial {
    /// The raw 32-byte Ed25519 public key (JWK `x`).
    Ed25519 { x: String },
    /// The RSA modulus and exponent, big-endian without leading zeros (JWK `n`, `e`).
    Rsa { n: String, e: String },
}

impl PublicKey {
    pub fn new(material: PublicMaterial) -> Self {
        Self {
            kid: kid_of(&material).unwrap_or_default(),
            material,
        }
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        match self.material {
            PublicMaterial::Ed25519 { .. } => SigningAlgorithm::EdDsa,
            PublicMaterial::Rsa { .. } => SigningAlgorithm::Rs256,
        }
    }

    /// The key jsonwebtoken verifies with, once the key is checked against its `kid`.
    pub(crate) fn decoding_key(&self) -> Option<DecodingKey> {
        if kid_of(&self.material).as_deref() != Some(self.kid.as_str()) {
            return None;
        }
        match &self.material {
            PublicMaterial::Ed25519 { x } => DecodingKey::from_ed_components(x).ok(),
            PublicMaterial::Rsa { n, e } => DecodingKey::from_rsa_components(n, e).ok(),
        }
    }

    /// The JWK (RFC 7517) of the key, with its `alg` and `use`.
    pub fn jwk(&self) -> serde_json::Value {
        let alg = self.algorithm().jwa();
        match &self.material {
            PublicMaterial::Ed25519 { x } => serde_json::json!(
                {"kty": "OKP", "crv": "Ed25519", "alg": alg, "use": "sig", "kid": self.kid, "x": x}
            ),
            PublicMaterial::Rsa { n, e } => serde_json::json!(
                {"kty": "RSA", "alg": alg, "use": "sig", "kid": self.kid, "n": n, "e": e}
            ),
        }
    }
}

/// `kid` = the first 16 characters of base64url(SHA-256(...)) of: the raw Ed25519 key; for
/// RSA, the key's RFC 7638 JWK thumbprint input. `None` when the members are not base64url or
/// an Ed25519 key is not 32 bytes.
fn kid_of(material: &PublicMaterial) -> Option<String> {
    let digest = match material {
        PublicMaterial::Ed25519 { x } => {
            let raw = b64url_decode(x).filter(|raw| raw.len() == 32)?;
            sha256(&raw)
        }
        PublicMaterial::Rsa { n, e } => {
            let (n_raw, e_raw) = (b64url_decode(n)?, b64url_decode(e)?);
            if n_raw.first() == Some(&0) || e_raw.first() == Some(&0) || n_raw.len() < 256 {
                return None;
            }
            // Members in lexicographic order, no whitespace (RFC 7638 §3.3).
            sha256(format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#).as_bytes())
        }
    };
    Some(b64url(&digest).chars().take(16).collect())
}
