//! The one table from WeChat's `errcode` values to our typed errors, and from those to the
//! client-facing `AppError` (DESIGN §6). A raw `errmsg` never leaves this module's callers.

use crate::error::{AppError, UpstreamFault};
use std::fmt;
use std::sync::Arc;

/// What a WeChat call ended in, when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeChatError {
    /// 40029 / 40163: the code is invalid, expired or used.
    #[error("invalid code (errcode {0})")]
    InvalidCode(i64),
    /// 40226: high-risk user.
    #[error("login blocked (errcode 40226)")]
    Blocked,
    /// 45011: per-user minute quota.
    #[error("rate limited (errcode 45011)")]
    RateLimited,
    /// -1 after the one retry.
    #[error("busy (errcode -1)")]
    Busy,
    /// 40001/40013/40125/40164/40243 on a call carrying the app secret.
    #[error("app secret or appid rejected (errcode {0})")]
    SecretRejected(i64),
    /// 40013 on a call carrying an access_token (getuserphonenumber): the code the client sent
    /// was made for another mini program. The caller's fault, not our secret's.
    #[error("code issued to another app (errcode 40013)")]
    ForeignCode,
    /// 40001/40014/42001 on a call carrying an access_token.
    #[error("access token rejected (errcode {0})")]
    AccessTokenRejected(i64),
    /// 87009 on a call carrying an access_token (checksession): the signature was not made
    /// with the user's current session_key.
    #[error("session_key is not the current one (errcode 87009)")]
    StaleSessionKey,
    #[error("timed out")]
    Timeout,
    /// Non-JSON or truncated body, an HTTP error status, success without its fields.
    #[error("bad reply: {0}")]
    BadReply(String),
    /// Connection refused or reset, TLS or protocol failure: a bad reply whose cause is kept.
    #[error("bad reply: transport: {0}")]
    Transport(#[source] TransportError),
    /// Any other errcode.
    #[error("unexpected errcode {0}")]
    Other(i64),
}

/// A transport failure, kept whole so that logs can follow its causes. Made from an error
/// that names no URL (the request URL carries the app secret and the login code). Two are
/// equal when they read the same.
#[derive(Clone)]
pub struct TransportError(Arc<dyn std::error::Error + Send + Sync>);

impl TransportError {
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Transparent: its causes are those of the error it holds.
impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for TransportError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for TransportError {}

impl WeChatError {
    /// The metric class (`metrics::wechat_error`): what an operator acts on differently.
    pub fn class(&self) -> &'static str {
        match self {
            Self::InvalidCode(_) | Self::ForeignCode => "invalid_code",
            Self::Blocked => "blocked_user",
            Self::RateLimited => "quota_45011",
            Self::Busy => "busy",
            Self::SecretRejected(40164) => "ip_whitelist_40164",
            Self::SecretRejected(_) => "secret_rejected",
            Self::AccessTokenRejected(_) => "access_token_rejected",
            Self::StaleSessionKey => "stale_session_key",
            Self::Timeout => "timeout",
            Self::BadReply(_) | Self::Transport(_) => "bad_reply",
            Self::Other(45009) => "quota_45009",
            Self::Other(_) => "other",
        }
    }
}

/// Which kind of credential the call carried: errcode 40001 means a different thing on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// The call carries `appid` + `secret` (jscode2session, stable_token).
    Secret,
    /// The call carries an `access_token` (getuserphonenumber, checksession).
    AccessToken,
}

/// Maps a non-zero errcode.
pub fn classify(errcode: i64, kind: CallKind) -> WeChatError {
    match (errcode, kind) {
        (-1, _) => WeChatError::Busy,
        (40029 | 40163, _) => WeChatError::InvalidCode(errcode),
        (40226, _) => WeChatError::Blocked,
        (45011, _) => WeChatError::RateLimited,
        (40001 | 40014 | 42001, CallKind::AccessToken) => WeChatError::AccessTokenRejected(errcode),
        (40013, CallKind::AccessToken) => WeChatError::ForeignCode,
        (87009, CallKind::AccessToken) => WeChatError::StaleSessionKey,
        (40001 | 40013 | 40125 | 40164 | 40243, _) => WeChatError::SecretRejected(errcode),
        _ => WeChatError::Other(errcode),
    }
}

/// Seconds a client should wait after WeChat's minute quota or busy signal.
pub const RATE_LIMIT_RETRY_AFTER_SECS: u32 = 60;
pub const BUSY_RETRY_AFTER_SECS: u32 = 2;

impl From<WeChatError> for AppError {
    fn from(e: WeChatError) -> Self {
        match e {
            WeChatError::InvalidCode(_) | WeChatError::ForeignCode => AppError::InvalidCode,
            WeChatError::Blocked => AppError::LoginBlocked,
            WeChatError::RateLimited => AppError::RateLimited {
                retry_after_secs: RATE_LIMIT_RETRY_AFTER_SECS,
            },
            WeChatError::Busy => AppError::Upstream(UpstreamFault::Busy),
            WeChatError::Timeout => AppError::Upstream(UpstreamFault::Timeout),
            WeChatError::SecretRejected(code) => AppError::Misconfigured(
                format!("WeChat rejected the app secret or appid (errcode {code})").into(),
            ),
            // `check_session` answers a stale key as `Ok(false)`; elsewhere it is unexpected.
            WeChatError::AccessTokenRejected(_)
            | WeChatError::StaleSessionKey
            | WeChatError::BadReply(_)
            | WeChatError::Transport(_)
            | WeChatError::Other(_) => AppError::Upstream(UpstreamFault::BadReply),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcode_40001_depends_on_the_credential() {
        assert_eq!(
            classify(40001, CallKind::Secret),
            WeChatError::SecretRejected(40001)
        );
        assert_eq!(
            classify(40001, CallKind::AccessToken),
            WeChatError::AccessTokenRejected(40001)
        );
        assert_eq!(
            classify(42001, CallKind::AccessToken),
            WeChatError::AccessTokenRejected(42001)
        );
    }

    #[test]
    fn errcode_40013_on_a_phone_code_is_the_callers_not_a_misconfiguration() {
        assert_eq!(
            classify(40013, CallKind::AccessToken),
            WeChatError::ForeignCode
        );
        assert!(matches!(
            AppError::from(classify(40013, CallKind::AccessToken)),
            AppError::InvalidCode
        ));
        assert!(matches!(
            AppError::from(classify(40013, CallKind::Secret)),
            AppError::Misconfigured(_)
        ));
    }

    #[test]
    fn errcode_87009_is_a_stale_session_key_on_an_access_token_call_only() {
        assert_eq!(
            classify(87009, CallKind::AccessToken),
            WeChatError::StaleSessionKey
        );
        assert_eq!(classify(87009, CallKind::Secret), WeChatError::Other(87009));
        // Outside checksession it stays what any unexpected errcode was: a bad reply.
        assert!(matches!(
            AppError::from(WeChatError::StaleSessionKey),
            AppError::Upstream(UpstreamFault::BadReply)
        ));
    }

    #[test]
    fn a_transport_failure_reads_as_before_and_keeps_its_cause() {
        use std::error::Error as _;
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request")]
        struct Sending(#[source] std::io::Error);
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = WeChatError::Transport(TransportError::new(Sending(refused)));
        assert_eq!(e.to_string(), "bad reply: transport: error sending request");
        let held = e.source().unwrap();
        assert_eq!(held.to_string(), "error sending request");
        assert_eq!(held.source().unwrap().to_string(), "refused");
        assert_eq!(e.clone(), e);
        assert!(matches!(
            AppError::from(e),
            AppError::Upstream(UpstreamFault::BadReply)
        ));
    }

    #[test]
    fn login_errcodes_map_to_the_design_table() {
        assert!(matches!(
            AppError::from(classify(40029, CallKind::Secret)),
            AppError::InvalidCode
        ));
        assert!(matches!(
            AppError::from(classify(40163, CallKind::Secret)),
            AppError::InvalidCode
        ));
        assert!(matches!(
            AppError::from(classify(40226, CallKind::Secret)),
            AppError::LoginBlocked
        ));
        assert!(matches!(
            AppError::from(classify(45011, CallKind::Secret)),
            AppError::RateLimited { .. }
        ));
        assert!(matches!(
            AppError::from(classify(-1, CallKind::Secret)),
            AppError::Upstream(UpstreamFault::Busy)
        ));
        for code in [40013, 40125, 40164, 40243] {
            assert!(matches!(
                AppError::from(classify(code, CallKind::Secret)),
                AppError::Misconfigured(_)
            ));
        }
        assert!(matches!(
            AppError::from(classify(99999, CallKind::Secret)),
            AppError::Upstream(UpstreamFault::BadReply)
        ));
    }
}
