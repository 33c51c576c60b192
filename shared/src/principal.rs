//! Who is calling — decided in one place. A bearer token becomes a typed `Principal` here and
//! nowhere else: the claims' strings are parsed once, into domain types, and flows receive
//! the principal, never claims. An access token names a user in a session; a bind token
//! (SIGNUP_MODE=phone) names an openid that has no user yet.

use crate::domain::{AppId, OpenId, UnionId, UserId};
use crate::tokens::{AccessClaims, BindClaims, TokenVerifier, VerifyError};

/// Which kind of token proved the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Bind,
}

/// A user in a session: what an access token proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPrincipal {
    pub user_id: UserId,
    pub appid: AppId,
    pub openid: OpenId,
    /// The refresh family the token was issued with (`sid`).
    pub session: String,
    pub phone_bound: bool,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An access token.
    User(SessionPrincipal),
    /// A bind token: an openid proved by WeChat, with no user yet.
    Unlinked {
        appid: AppId,
        openid: OpenId,
        unionid: Option<UnionId>,
    },
}

impl Principal {
    pub fn kind(&self) -> TokenKind {
        match self {
            Self::User(_) => TokenKind::Access,
            Self::Unlinked { .. } => TokenKind::Bind,
        }
    }
    pub fn appid(&self) -> &AppId {
        match self {
            Self::User(p) => &p.appid,
            Self::Unlinked { appid, .. } => appid,
        }
    }
    pub fn openid(&self) -> &OpenId {
        match self {
            Self::User(p) => &p.openid,
            Self::Unlinked { openid, .. } => openid,
        }
    }
}

impl TryFrom<AccessClaims> for SessionPrincipal {
    type Error = VerifyError;
    fn try_from(claims: AccessClaims) -> Result<Self, VerifyError> {
        Ok(Self {
            user_id: UserId::parse(&claims.sub).map_err(|_| VerifyError::Invalid)?,
            appid: AppId::parse(&claims.appid).map_err(|_| VerifyError::Invalid)?,
            openid: OpenId::parse(&claims.openid).map_err(|_| VerifyError::Invalid)?,
            session: claims.sid,
            phone_bound: claims.phone_bound,
        })
    }
}

impl TryFrom<BindClaims> for Principal {
    type Error = VerifyError;
    fn try_from(claims: BindClaims) -> Result<Self, VerifyError> {
        Ok(Self::Unlinked {
            appid: AppId::parse(&claims.appid).map_err(|_| VerifyError::Invalid)?,
            openid: OpenId::parse(&claims.openid).map_err(|_| VerifyError::Invalid)?,
            // A unionid we cannot read is dropped, not fatal: it only joins accounts.
            unionid: claims
                .unionid
                .as_deref()
                .and_then(|u| UnionId::parse(u).ok()),
        })
    }
}

/// An access token's principal.
pub fn access(verifier: &TokenVerifier, token: &str) -> Result<SessionPrincipal, VerifyError> {
    SessionPrincipal::try_from(verifier.verify_access(token)?)
}

/// The principal of an access token, or else of a bind token.
pub fn access_or_bind(verifier: &TokenVerifier, token: &str) -> Result<Principal, VerifyError> {
    match access(verifier, token) {
        Ok(user) => Ok(Principal::User(user)),
        Err(_) => Principal::try_from(verifier.verify_bind(token)?),
    }
}
