//! Our tokens (DESIGN §4): Ed25519-signed JWTs with a `kid` (access and bind tokens), the
//! signing keyring derived from the Secrets Manager secret, and opaque rotating refresh
//! tokens. The claims live in `claims`, signing in `issuer`, checking in `verifier`.

pub mod claims;
pub mod directory;
pub mod issuer;
pub mod keys;
pub mod refresh;
pub mod verifier;
#[cfg(test)]
mod verifier_tests;

/// The JWA name of the one algorithm tokens are signed with and verified under (`issuer.rs`,
/// `verifier.rs` pin it), as the discovery document states it.
pub const SIGNING_ALGORITHM: &str = "EdDSA";

pub use claims::{AccessClaims, BindClaims, TokenUse};
pub use directory::{KeyDirectory, PublishedKeySource, PublishedKeys};
pub use issuer::TokenIssuer;
pub use keys::{Keyring, PublicKey, PublicKeySet};
pub use verifier::{TokenVerifier, VerifyError};
