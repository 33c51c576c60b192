//! The one error type of the flows. Variants exist only where behaviour differs (status,
//! code, retry hint); everything else is a catch-all that keeps its source for the logs.

use std::fmt;

/// Which upstream fault happened, for the 502/503/504 choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFault {
    /// WeChat said `-1` (busy) twice.
    Busy,
    /// No answer within our timeout.
    Timeout,
    /// Connection refused/reset, HTML, truncated JSON, or a success missing its fields.
    BadReply,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed JSON, missing/oversized field, bad base64. The message is shown to the client.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    #[error("unknown appid")]
    UnknownApp,
    #[error("login code invalid, expired or already used")]
    InvalidCode,
    #[error("WeChat blocked this login (high-risk user)")]
    LoginBlocked,
    #[error("missing, expired or invalid token")]
    Unauthorized,
    #[error("refresh token reused, revoked or expired")]
    RefreshRevoked,
    #[error("decryption failed")]
    DecryptFailed,
    #[error("session key missing or stale")]
    SessionKeyStale,
    #[error("phone owned by another account")]
    PhoneTaken,
    #[error("account already has another phone")]
    PhoneAlreadyBound,
    /// Wrong password or unknown phone: one answer for both.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A new password fails the policy; the message says why.
    #[error("weak password: {0}")]
    WeakPassword(&'static str),
    /// The action needs a verified phone on the account.
    #[error("phone not verified")]
    PhoneRequired,
    #[error("rate limited")]
    RateLimited { retry_after_secs: u32 },
    #[error("upstream unavailable: {0:?}")]
    Upstream(UpstreamFault),
    /// The app secret or our own configuration is wrong: an operator must act.
    #[error("misconfigured: {0}")]
    Misconfigured(String),
    /// DynamoDB or Secrets Manager throttled or down after bounded retries.
    #[error("dependency unavailable: {0}")]
    ServiceUnavailable(String),
    /// A bug or corrupt data: fail closed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(what: impl fmt::Display) -> Self {
        Self::Internal(what.to_string())
    }
}

pub type AppResult<T> = Result<T, AppError>;
