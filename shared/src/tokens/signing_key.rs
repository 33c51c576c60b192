//! One signing key, made from its entry in the secret: an Ed25519 seed (text) or an RS256
//! RSA-2048 private key (PKCS#8). It signs JWTs itself with the key parsed once (an RSA key
//! is not parsed again per signature) and knows its public half, its `kid` and its algorithm.

use super::algorithm::SigningAlgorithm;
use super::public_key::{PublicKey, PublicMaterial};
use crate::crypto::{b64url, b64url_decode, sha256};
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use jsonwebtoken::Header;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

/// Why key material is unusable. Never contains the material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing key secret is malformed: {0}")]
pub struct KeyMaterialError(pub &'static str);

const SEED_DOMAIN: &[u8] = b"wxlogin-ed25519-v1:";
const MIN_SEED_LEN: usize = 32;
const RSA_BITS: usize = 2048;

/// A key's entry in the secret: `"<seed text>"` (Ed25519) or `{"alg": "RS256", "pkcs8": "…"}`
/// (base64url of the PKCS#8 document).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum KeyEntry {
    Seed(SecretString),
    Rsa(RsaEntry),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RsaEntry {
    alg: String,
    pkcs8: SecretString,
}

enum PrivateKey {
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// The private key that signs, with its public half.
pub struct SigningKey {
    pub kid: String,
    pub public: PublicKey,
    private: PrivateKey,
}

impl SigningKey {
    pub(crate) fn from_entry(entry: &KeyEntry) -> Result<Self, KeyMaterialError> {
        match entry {
            KeyEntry::Seed(seed) => Self::from_seed(seed.expose_secret()),
            KeyEntry::Rsa(rsa) if rsa.alg == "RS256" => {
                Self::from_rsa_pkcs8(rsa.pkcs8.expose_secret())
            }
            KeyEntry::Rsa(_) => Err(KeyMaterialError("a key entry names an unknown alg")),
        }
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.public.algorithm()
    }

    fn from_seed(seed_text: &str) -> Result<Self, KeyMaterialError> {
        if seed_text.len() < MIN_SEED_LEN {
            return Err(KeyMaterialError("a seed is shorter than 32 characters"));
        }
        // Every copy of the seed made here is wiped when dropped.
        let mut input = Zeroizing::new(Vec::with_capacity(SEED_DOMAIN.len() + seed_text.len()));
        input.extend_from_slice(SEED_DOMAIN);
        input.extend_from_slice(seed_text.as_bytes());
        let seed = Zeroizing::new(sha256(&input));
        let pair = Ed25519KeyPair::from_seed_unchecked(seed.as_slice())
            .map_err(|_| KeyMaterialError("seed did not make an Ed25519 key"))?;
        let public = PublicKey::new(PublicMaterial::Ed25519 {
            x: b64url(pair.public_key().as_ref()),
        });
        Ok(Self {
            kid: public.kid.clone(),
            public,
            private: PrivateKey::Ed25519(pair),
        })
    }

    fn from_rsa_pkcs8(encoded: &str) -> Result<Self, KeyMaterialError> {
        let der = Zeroizing::new(
            b64url_decode(encoded).ok_or(KeyMaterialError("an RSA key is not base64url"))?,
        );
        let pair = RsaKeyPair::from_pkcs8(&der)
            .map_err(|_| KeyMaterialError("an RSA key is not a PKCS#8 RSA private key"))?;
        if pair.public_modulus_len() * 8 < RSA_BITS {
            return Err(KeyMaterialError("an RSA key is shorter than 2048 bits"));
        }
        let public_key = pair.public_key();
        let public = PublicKey::new(PublicMaterial::Rsa {
            n: b64url(public_key.modulus().big_endian_without_leading_zero()),
            e: b64url(public_key.exponent().big_endian_without_leading_zero()),
        });
        Ok(Self {
            kid: public.kid.clone(),
            public,
            private: PrivateKey::Rsa(pair),
        })
    }

    /// A compact JWS of `claims` under `header`, whose `alg` and `kid` are set to this key's.
    pub fn sign_jwt<T: serde::Serialize>(
        &self,
        mut header: Header,
        claims: &T,
    ) -> Result<String, KeyMaterialError> {
        header.alg = self.algorithm().jose();
        header.kid = Some(self.kid.clone());
        self.sign_with_header_as_given(&header, claims)
    }

    /// A compact JWS with `header` exactly as given (test tokens that lie in their header).
    pub fn sign_with_header_as_given<T: serde::Serialize>(
        &self,
        header: &Header,
        claims: &T,
    ) -> Result<String, KeyMaterialError> {
        let signing_input = format!("{}.{}", json_part(header)?, json_part(claims)?);
        let signature = match &self.private {
            PrivateKey::Ed25519(pair) => pair.sign(signing_input.as_bytes()).as_ref().to_vec(),
            PrivateKey::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    signing_input.as_bytes(),
                    &mut signature,
                )
                .map_err(|_| KeyMaterialError("the RSA signature failed"))?;
                signature
            }
        };
        Ok(format!("{signing_input}.{}", b64url(&signature)))
    }
}

/// One part of a compact JWS: base64url of the JSON.
fn json_part<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, KeyMaterialError> {
    serde_json::to_vec(value)
        .map(|json| b64url(&json))
        .map_err(|_| KeyMaterialError("a token part did not serialize"))
}

/// A new key entry for the secret, as JSON: a random seed (EdDSA) or a new RSA-2048 key
/// (RS256; ≈ 0.1 s of key generation, done by the rotation only).
pub fn new_key_entry(algorithm: SigningAlgorithm) -> Result<serde_json::Value, KeyMaterialError> {
    match algorithm {
        SigningAlgorithm::EdDsa => Ok(serde_json::Value::String(crate::crypto::random_id(32))),
        SigningAlgorithm::Rs256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| KeyMaterialError("RSA key generation failed"))?;
            let der = pair
                .as_der()
                .map_err(|_| KeyMaterialError("the RSA key could not be encoded"))?;
            Ok(serde_json::json!({"alg": "RS256", "pkcs8": b64url(der.as_ref())}))
        }
    }
}
