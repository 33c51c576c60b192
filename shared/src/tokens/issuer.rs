//! Signs access and bind tokens with the current key of the keyring.

use super::claims::{
    ACCESS_TOKEN_TYPE, AccessClaims, BIND_TOKEN_TYPE, BindClaims, TokenUse, bind_audience,
};
use super::keys::Keyring;
use crate::config::TokenSettings;
use crate::crypto::random_id;
use crate::domain::{AppId, OpenId, UnionId, UserId};
use crate::error::AppError;
use jsonwebtoken::Header;

/// Who the access token is for.
pub struct AccessSubject<'a> {
    pub user_id: &'a UserId,
    pub appid: &'a AppId,
    pub openid: &'a OpenId,
    pub family_id: &'a str,
    pub phone_bound: bool,
}

/// Signs tokens; holds only settings, the keyring is passed per call (it may be refreshed).
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    pub settings: TokenSettings,
}

impl TokenIssuer {
    pub fn new(settings: TokenSettings) -> Self {
        Self { settings }
    }

    pub fn access_token(
        &self,
        keys: &Keyring,
        who: &AccessSubject<'_>,
        now: u64,
    ) -> Result<String, AppError> {
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: who.user_id.as_str().to_owned(),
            appid: who.appid.as_str().to_owned(),
            openid: who.openid.as_str().to_owned(),
            iat: now,
            exp: now + self.settings.access_ttl_secs,
            jti: random_id(12),
            token_use: TokenUse::Access,
            sid: who.family_id.to_owned(),
            phone_bound: who.phone_bound,
        };
        self.sign(keys, ACCESS_TOKEN_TYPE, &claims)
    }

    pub fn bind_token(
        &self,
        keys: &Keyring,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
        now: u64,
    ) -> Result<String, AppError> {
        let claims = BindClaims {
            iss: self.settings.issuer.clone(),
            aud: bind_audience(&self.settings.audience),
            sub: format!("bind:{}", openid.as_str()),
            appid: appid.as_str().to_owned(),
            openid: openid.as_str().to_owned(),
            unionid: unionid.map(|u| u.as_str().to_owned()),
            iat: now,
            exp: now + self.settings.bind_ttl_secs,
            jti: random_id(12),
            token_use: TokenUse::Bind,
        };
        self.sign(keys, BIND_TOKEN_TYPE, &claims)
    }

    /// Signs with the current key, only when it has the configured algorithm (the one
    /// verifiers pin): a key of another algorithm (a secret the key rotation has not yet
    /// reached) signs nothing, so no token is issued that verifiers would refuse.
    fn sign<T: serde::Serialize>(
        &self,
        keys: &Keyring,
        typ: &str,
        claims: &T,
    ) -> Result<String, AppError> {
        keys.require(self.settings.algorithm)
            .map_err(|e| AppError::internal_from("signing refused", e))?;
        let header = Header {
            typ: Some(typ.to_owned()),
            ..Header::default()
        };
        keys.current
            .sign_jwt(header, claims)
            .map_err(|e| AppError::internal_from("signing failed", e))
    }
}
