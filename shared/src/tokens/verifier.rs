//! Verifies our JWTs: one algorithm only (the key set's, pinned by configuration), key chosen by exact `kid` from keys we loaded ourselves
//! (never from `jku`/`x5u`/`jwk` headers, which make a token refused outright), `exp`, `sub`,
//! `aud`, `iss` required, expiry checked against our clock, the token type checked twice (the
//! JOSE `typ` header and the `token_use` claim; bind tokens also have their own audience). Never
//! panics and never does I/O: the authorizer calls it on every request.

use super::claims::{
    ACCESS_TOKEN_TYPE, AccessClaims, BIND_TOKEN_TYPE, BindClaims, TokenUse, bind_audience,
};
use super::keys::PublicKeySet;
use crate::clock::SharedClock;
use jsonwebtoken::{Algorithm, Validation};
use serde::de::DeserializeOwned;

/// Longest token we look at; anything longer is refused before parsing.
pub const MAX_TOKEN_LEN: usize = 4096;

/// Why a token was refused. Callers answer all of them the same way; the reason is for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("token too long")]
    TooLong,
    #[error("token header is malformed or uses a forbidden field")]
    BadHeader,
    #[error("unknown kid")]
    UnknownKid,
    #[error("signature or claims invalid")]
    Invalid,
    #[error("token expired")]
    Expired,
    #[error("wrong token type")]
    WrongType,
}

pub struct TokenVerifier {
    keys: PublicKeySet,
    access: Validation,
    bind: Validation,
    clock: SharedClock,
}

/// What one kind of token must show: its JOSE `typ` and its audience.
fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
    // Expiry is checked below against our clock (testable, no leeway).
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation
}

impl TokenVerifier {
    pub fn new(keys: PublicKeySet, issuer: &str, audience: &str, clock: SharedClock) -> Self {
        let algorithm = keys.algorithm().jose();
        Self {
            keys,
            access: validation(algorithm, issuer, audience),
            bind: validation(algorithm, issuer, &bind_audience(audience)),
            clock,
        }
    }

    pub fn keys(&self) -> &PublicKeySet {
        &self.keys
    }

    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        let claims: AccessClaims = self.verify(token, ACCESS_TOKEN_TYPE, &self.access)?;
        if claims.token_use != TokenUse::Access {
            return Err(VerifyError::WrongType);
        }
        self.check_exp(claims.exp)?;
        Ok(claims)
    }

    pub fn verify_bind(&self, token: &str) -> Result<BindClaims, VerifyError> {
        let claims: BindClaims = self.verify(token, BIND_TOKEN_TYPE, &self.bind)?;
        if claims.token_use != TokenUse::Bind {
            return Err(VerifyError::WrongType);
        }
        self.check_exp(claims.exp)?;
        Ok(claims)
    }

    fn check_exp(&self, exp: u64) -> Result<(), VerifyError> {
        if exp <= self.clock.now() {
            return Err(VerifyError::Expired);
        }
        Ok(())
    }

    fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        validation: &Validation,
    ) -> Result<T, VerifyError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(VerifyError::TooLong);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::BadHeader)?;
        if header.alg != self.keys.algorithm().jose()
            || header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
        {
            return Err(VerifyError::BadHeader);
        }
        if header.typ.as_deref() != Some(typ) {
            return Err(VerifyError::WrongType);
        }
        let kid = header.kid.ok_or(VerifyError::UnknownKid)?;
        let key = self.keys.find(&kid).ok_or(VerifyError::UnknownKid)?;
        jsonwebtoken::decode::<T>(token, key, validation)
            .map(|data| data.claims)
            .map_err(|_| VerifyError::Invalid)
    }
}
