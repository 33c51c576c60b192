//! The one error → status/code table (DESIGN §6). Internal detail goes to the log, never to
//! the client: the message is fixed per code except for `INVALID_REQUEST`'s safe hint.

use super::HttpResponse;
use crate::error::{AppError, UpstreamFault};
use crate::wechat::errcode::BUSY_RETRY_AFTER_SECS;

/// (status, code, message, Retry-After seconds)
pub fn describe(error: &AppError) -> (u16, &'static str, &'static str, Option<u32>) {
    match error {
        AppError::InvalidRequest(m) => (400, "INVALID_REQUEST", m, None),
        AppError::UnknownApp => (400, "UNKNOWN_APP", "This appid is not configured.", None),
        AppError::InvalidCode => (
            401,
            "INVALID_CODE",
            "The login code is invalid, expired or already used; call wx.login again.",
            None,
        ),
        AppError::LoginBlocked => (403, "LOGIN_BLOCKED", "WeChat blocked this login.", None),
        AppError::Unauthorized => (
            401,
            "UNAUTHORIZED",
            "Missing, expired or invalid token.",
            None,
        ),
        AppError::RefreshRevoked => (
            401,
            "REFRESH_REVOKED",
            "The refresh token is no longer valid; log in again.",
            None,
        ),
        AppError::DecryptFailed => (
            400,
            "DECRYPT_FAILED",
            "The encrypted data could not be decrypted.",
            None,
        ),
        AppError::SessionKeyStale => (
            401,
            "SESSION_KEY_STALE",
            "The WeChat session expired; call wx.login and try again.",
            None,
        ),
        AppError::PhoneTaken => (
            409,
            "PHONE_TAKEN",
            "This phone number belongs to another account.",
            None,
        ),
        AppError::PhoneAlreadyBound => (
            409,
            "PHONE_ALREADY_BOUND",
            "This account already has another phone number.",
            None,
        ),
        AppError::AccountDisabled => (403, "ACCOUNT_DISABLED", "This account is disabled.", None),
        AppError::InvalidCredentials => (
            401,
            "INVALID_CREDENTIALS",
            "Wrong phone number or password.",
            None,
        ),
        AppError::WeakPassword(m) => (400, "WEAK_PASSWORD", m, None),
        AppError::PhoneRequired => (
            403,
            "PHONE_REQUIRED",
            "Bind and verify a phone number first.",
            None,
        ),
        AppError::RateLimited { retry_after_secs } => (
            429,
            "RATE_LIMITED",
            "Too many requests; try again later.",
            Some(*retry_after_secs),
        ),
        AppError::Upstream(UpstreamFault::Busy) => (
            503,
            "UPSTREAM_UNAVAILABLE",
            "WeChat is busy; try again shortly.",
            Some(BUSY_RETRY_AFTER_SECS),
        ),
        AppError::Upstream(UpstreamFault::Timeout) => (
            504,
            "UPSTREAM_UNAVAILABLE",
            "WeChat did not answer in time.",
            None,
        ),
        AppError::Upstream(UpstreamFault::BadReply) => (
            502,
            "UPSTREAM_UNAVAILABLE",
            "WeChat gave an unusable answer.",
            None,
        ),
        AppError::Misconfigured(_) => (
            503,
            "MISCONFIGURED",
            "The service is misconfigured; the operator has been alerted.",
            None,
        ),
        AppError::ServiceUnavailable(_) => (
            503,
            "SERVICE_UNAVAILABLE",
            "The service is temporarily unavailable.",
            Some(1),
        ),
        AppError::Internal(_) => (500, "INTERNAL", "Internal error.", None),
    }
}

/// The response for an error; logs the internal detail (never a secret: errors carry none).
pub fn error_response(error: &AppError, request_id: &str) -> HttpResponse {
    let (status, code, message, retry_after) = describe(error);
    log_error(error, request_id);
    let body =
        serde_json::json!({"error": {"code": code, "message": message, "request_id": request_id}});
    let mut response = HttpResponse::json(status, &body);
    if let Some(secs) = retry_after {
        response
            .headers
            .push(("retry-after".to_owned(), secs.to_string()));
    }
    response
}

/// An error inside a successful answer (the phone part of a login that went through):
/// `{"status", "code", "message", "retry_after"?}`, logged as `error_response` logs.
pub fn embedded_error(error: &AppError, request_id: &str) -> serde_json::Value {
    let (status, code, message, retry_after) = describe(error);
    log_error(error, request_id);
    let mut body = serde_json::json!({"status": status, "code": code, "message": message});
    if let (Some(secs), Some(object)) = (retry_after, body.as_object_mut()) {
        object.insert("retry_after".into(), secs.into());
    }
    body
}

/// The alarm lines and the detail of the errors that have one.
fn log_error(error: &AppError, request_id: &str) {
    match error {
        AppError::Misconfigured(cause) => {
            let detail = cause.report();
            tracing::error!(alarm = "MISCONFIGURED", %detail, request_id, "misconfigured")
        }
        AppError::Internal(cause) => {
            let detail = cause.report();
            tracing::error!(alarm = "INTERNAL", %detail, request_id, "internal error");
            crate::metrics::count(crate::metrics::Counter::InternalErrors);
        }
        AppError::ServiceUnavailable(cause) => {
            let detail = cause.report();
            tracing::warn!(%detail, request_id, "dependency unavailable")
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_the_design_statuses() {
        let cases: Vec<(AppError, u16, &str)> = vec![
            (AppError::InvalidRequest("x"), 400, "INVALID_REQUEST"),
            (AppError::UnknownApp, 400, "UNKNOWN_APP"),
            (AppError::InvalidCode, 401, "INVALID_CODE"),
            (AppError::LoginBlocked, 403, "LOGIN_BLOCKED"),
            (AppError::AccountDisabled, 403, "ACCOUNT_DISABLED"),
            (AppError::RefreshRevoked, 401, "REFRESH_REVOKED"),
            (
                AppError::RateLimited {
                    retry_after_secs: 60,
                },
                429,
                "RATE_LIMITED",
            ),
            (
                AppError::Upstream(UpstreamFault::Busy),
                503,
                "UPSTREAM_UNAVAILABLE",
            ),
            (
                AppError::Upstream(UpstreamFault::Timeout),
                504,
                "UPSTREAM_UNAVAILABLE",
            ),
            (
                AppError::Upstream(UpstreamFault::BadReply),
                502,
                "UPSTREAM_UNAVAILABLE",
            ),
            (
                AppError::Misconfigured("secret xyz".into()),
                503,
                "MISCONFIGURED",
            ),
            (
                AppError::ServiceUnavailable("ddb".into()),
                503,
                "SERVICE_UNAVAILABLE",
            ),
        ];
        for (err, status, code) in cases {
            let r = error_response(&err, "req-1");
            assert_eq!(r.status, status, "{err:?}");
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(v["error"]["code"], code);
            assert_eq!(v["error"]["request_id"], "req-1");
            assert!(
                !r.body.contains("xyz"),
                "internal detail leaked: {}",
                r.body
            );
        }
    }

    #[test]
    fn rate_limit_and_busy_carry_retry_after() {
        let r = error_response(
            &AppError::RateLimited {
                retry_after_secs: 60,
            },
            "r",
        );
        assert_eq!(r.header("retry-after"), Some("60"));
        let r = error_response(&AppError::Upstream(UpstreamFault::Busy), "r");
        assert!(r.header("retry-after").is_some());
    }
}
