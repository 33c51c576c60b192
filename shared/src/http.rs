//! Transport-neutral HTTP: the request/response the handlers see (built from an API Gateway
//! event by `lambda`, or from a socket by the local server), JSON body parsing with a size
//! cap, the error table of DESIGN §6, and one handler per function.

pub mod answers;
pub mod body;
pub mod error_table;
pub mod routes;

use std::time::Instant;

/// Bodies larger than this are refused before parsing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// The raw query string (without `?`), as API Gateway's `rawQueryString`.
    pub query: String,
    /// Lowercase names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source_ip: Option<String>,
    pub request_id: String,
    /// `requestContext.authorizer` as API Gateway passed it (`{"lambda": {...}}` from the
    /// Lambda authorizer, `{"jwt": {"claims": {...}}}` from the JWT authorizer); `None` on a
    /// route without one.
    pub authorizer: Option<serde_json::Value>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The token of `Authorization: Bearer <token>`.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn json(status: u16, body: &impl serde::Serialize) -> Self {
        let body = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
        Self {
            status,
            headers: vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                ("cache-control".to_owned(), "no-store".to_owned()),
            ],
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Logs the one outcome line of a request (DESIGN §9): id, route, status, error code (as
/// decided by the error table, `""` on success), latency.
pub fn log_outcome(
    request: &HttpRequest,
    route: &str,
    response: &HttpResponse,
    error_code: &str,
    started: Instant,
) {
    tracing::info!(
        request_id = %request.request_id,
        route,
        status = response.status,
        error_code,
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    crate::metrics::duration(started.elapsed().as_secs_f64() * 1000.0);
}
