//! The one error type of the flows. Variants exist only where behaviour differs (status,
//! code, retry hint); everything else is a catch-all that keeps its source for the logs.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// What a catch-all error says, and the error that caused it, kept as its `source()` so the
/// logs show the whole chain (`Cause::report`) while `Display` stays one line of our own.
#[derive(Debug, Clone)]
pub struct Cause {
    what: String,
    source: Option<Arc<dyn Error + Send + Sync>>,
}

impl Cause {
    /// A cause with no underlying error (a broken invariant, a malformed item).
    pub fn new(what: impl fmt::Display) -> Self {
        Self {
            what: what.to_string(),
            source: None,
        }
    }

    /// `what` went wrong because of `source`.
    pub fn with_source(
        what: impl fmt::Display,
        source: impl Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            what: what.to_string(),
            source: Some(Arc::new(source)),
        }
    }

    /// The message and every source below it, `: `-separated, for the logs.
    pub fn report(&self) -> String {
        let mut text = self.what.clone();
        let mut next = self.source();
        while let Some(error) = next {
            text.push_str(": ");
            text.push_str(&error.to_string());
            next = error.source();
        }
        text
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl Error for Cause {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

impl From<String> for Cause {
    fn from(what: String) -> Self {
        Self::new(what)
    }
}

impl From<&str> for Cause {
    fn from(what: &str) -> Self {
        Self::new(what)
    }
}

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
    /// An operator disabled the account (`wxlogin-admin disable`).
    #[error("account disabled")]
    AccountDisabled,
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
    Misconfigured(#[source] Cause),
    /// DynamoDB or Secrets Manager throttled or down after bounded retries.
    #[error("dependency unavailable: {0}")]
    ServiceUnavailable(#[source] Cause),
    /// A bug or corrupt data: fail closed.
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

impl AppError {
    pub fn internal(what: impl fmt::Display) -> Self {
        Self::Internal(Cause::new(what))
    }

    /// A bug or corrupt data, caused by `source`.
    pub fn internal_from(
        what: impl fmt::Display,
        source: impl Error + Send + Sync + 'static,
    ) -> Self {
        Self::Internal(Cause::with_source(what, source))
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catch_all_keeps_its_source_and_the_report_shows_the_chain() {
        let parse = serde_json::from_str::<u8>("x").unwrap_err();
        let expected_source = parse.to_string();
        let error = AppError::internal_from("published keys", parse);
        assert_eq!(error.to_string(), "internal error: published keys");
        let cause = error.source().expect("the cause is the source");
        let root = cause.source().expect("the parse error is kept");
        assert_eq!(root.to_string(), expected_source);
        let AppError::Internal(cause) = &error else {
            unreachable!()
        };
        assert_eq!(cause.report(), format!("published keys: {expected_source}"));
        assert!(
            AppError::internal("no source")
                .source()
                .and_then(Error::source)
                .is_none()
        );
    }
}
