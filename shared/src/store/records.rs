//! The records the store keeps and the outcomes of its conditional operations.

use crate::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub created_at: u64,
    pub phone: Option<PhoneNumber>,
    /// At most one openid per app.
    pub openids: BTreeMap<AppId, OpenId>,
    /// Refresh families created before this time are dead (`logout all`).
    pub sessions_valid_after: u64,
    /// Bumped by every change of `phone` or `openids`: writes conditioned on it cannot act on
    /// a stale read (a bind racing a link cannot leave a link item without the phone).
    pub version: u64,
    /// Argon2id PHC string, when the user set a password.
    pub password_hash: Option<String>,
    pub nickname: Option<String>,
    pub avatar_url: Option<String>,
    /// Disabled by an operator: no login, refresh or bind until enabled again.
    pub disabled: bool,
}

impl User {
    pub fn new(id: UserId, created_at: u64) -> Self {
        Self {
            id,
            created_at,
            phone: None,
            openids: BTreeMap::new(),
            sessions_valid_after: 0,
            version: 1,
            password_hash: None,
            nickname: None,
            avatar_url: None,
            disabled: false,
        }
    }
}

/// What an openid link says about its user: enough to answer a returning login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedUser {
    pub user_id: UserId,
    pub phone: Option<PhoneNumber>,
    /// The unionid the link recorded before this call, if any.
    pub unionid: Option<UnionId>,
    /// The user is disabled (the links carry it, so a returning login needs no user read).
    pub disabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    Set,
    /// The user changed since it was read, or is gone: read again.
    Changed,
}

/// WeChat's session_key for (appid, openid). Debug hides the key (a `SessionKey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKeyRecord {
    pub appid: AppId,
    pub openid: OpenId,
    pub session_key: crate::domain::SessionKey,
    pub expires_at: u64,
}

/// A refresh-token family: one login's chain of rotating refresh tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    pub id: String,
    pub user_id: UserId,
    pub appid: AppId,
    pub openid: OpenId,
    pub secret_hash: String,
    pub created_at: u64,
    pub expires_at: u64,
    pub revoked: bool,
    /// `refresh::retired_mark` of every secret this family rotated away from, sorted: a
    /// presented token whose mark is here was really issued, so its reuse revokes the family;
    /// any other unknown secret is only refused.
    pub retired: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeClaim {
    Fresh,
    Replayed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateUserOutcome {
    Created,
    /// The new user's phone is owned already (a concurrent bind).
    PhoneTaken,
    /// Someone linked this openid first (a concurrent first login).
    OpenIdTaken,
    /// Someone linked this unionid first (a concurrent first login in another app).
    UnionIdTaken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Linked,
    OpenIdTaken,
    /// The user already has a different openid for this app.
    UserHasOtherOpenId,
    /// The user changed since it was read; read again.
    UserChanged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    Rotated,
    /// Revoked, expired, gone, or the hash moved on (reuse or a concurrent rotation).
    Refused,
}

/// A phone code claimed for the paid `getuserphonenumber` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneCodeClaim {
    /// Ours now: call WeChat.
    Fresh,
    /// Ours, and WeChat already answered: reuse the answer, no second paid call.
    Done(PhoneNumber),
    /// Ours, still in flight (a concurrent retry).
    Pending,
    /// Presented first by another openid.
    OtherOwner,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindOutcome {
    Bound,
    /// The phone belongs to someone (the caller's id is in `owner` when it is theirs).
    PhoneTaken,
    /// The user changed since it was read (version), or already has a phone: read again.
    UserChanged,
}

/// A fixed-window counter hit (send limits, failed-password lockout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterHit {
    /// Counted; this is the n-th hit in the window.
    Counted(u32),
    /// The window is full; it ends in this many seconds.
    Limited { retry_after: u64 },
}
