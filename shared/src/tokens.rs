//! Our tokens (DESIGN §4): JWTs signed with RS256 or EdDSA (`SIGNING_ALGORITHM`) with a
//! `kid` (access and bind tokens), the signing keyring read from the Secrets Manager secret,
//! and opaque rotating refresh tokens. The claims live in `claims`, signing in `issuer`,
//! checking in `verifier`.

pub mod algorithm;
pub mod claims;
pub mod directory;
pub mod issuer;
pub mod keys;
pub mod public_key;
pub mod refresh;
pub mod signing_key;
pub mod verifier;
#[cfg(test)]
mod verifier_tests;

pub use algorithm::SigningAlgorithm;
pub use claims::{AccessClaims, BindClaims, TokenUse};
pub use directory::{KeyDirectory, PublishedKeySource, PublishedKeys};
pub use issuer::TokenIssuer;
pub use keys::{Keyring, PublicKeySet, RotationRefused, rotated_secret_json};
pub use public_key::{PublicKey, PublicMaterial};
pub use verifier::{TokenVerifier, VerifyError};
