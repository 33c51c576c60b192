//! The signature algorithm tokens are signed with and verified under: one per deployment
//! (`SIGNING_ALGORITHM`), so that a verifier pins it and never takes it from a token.

use jsonwebtoken::Algorithm;

/// `RS256` (RSA-2048, PKCS#1 v1.5 with SHA-256, JWA §3.3) is the default: API Gateway's
/// built-in JWT authorizer for HTTP APIs verifies only RSA signatures. `EdDSA` (Ed25519) makes
/// shorter tokens and costs less per signature, for deployments that verify with the Lambda
/// authorizer or their own code only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningAlgorithm {
    #[default]
    Rs256,
    EdDsa,
}

impl SigningAlgorithm {
    /// Reads the JWA name (`RS256`, `EdDSA`), exactly.
    pub fn from_jwa(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }

    /// The JWA name, as the `alg` header, the JWKS and the discovery document state it.
    pub fn jwa(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }

    pub fn jose(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwa_names_read_back_exactly_and_rs256_is_the_default() {
        for alg in [SigningAlgorithm::Rs256, SigningAlgorithm::EdDsa] {
            assert_eq!(SigningAlgorithm::from_jwa(alg.jwa()), Some(alg));
        }
        assert_eq!(SigningAlgorithm::default(), SigningAlgorithm::Rs256);
        for other in ["rs256", "HS256", "none", "ES256", ""] {
            assert_eq!(SigningAlgorithm::from_jwa(other), None, "{other}");
        }
    }
}
