//! The HTTP transport of the China SMS clients: one request within the request's deadline
//! (`deadline::budget`), a bounded reply, and at most one retry, only when the connection
//! failed (nothing reached the provider, so no SMS can have been sent: neither provider
//! documents an idempotent SendSms). Errors never carry the URL (its query holds the phone
//! and the code for Alibaba Cloud).

use std::time::Duration;

/// Connect within 1 s, answer within 4 s (SMS gateways answer after the carrier hand-off).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);
/// A SendSms reply is a few hundred bytes.
const MAX_REPLY_BYTES: usize = 64 * 1024;
/// A retry with less time than this is not started.
const MIN_USEFUL_ATTEMPT: Duration = Duration::from_millis(500);

pub use crate::tls::ClientBuildError;

/// A provider's reply: HTTP status and body (both providers put their error codes in JSON,
/// Alibaba Cloud with HTTP 4xx for signature errors, Tencent Cloud with HTTP 200).
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

enum Failure {
    /// The connection was never made: safe to try again.
    NotConnected(String),
    Other(String),
}

impl Failure {
    fn text(self) -> String {
        match self {
            Failure::NotConnected(t) | Failure::Other(t) => t,
        }
    }
}

#[derive(Clone)]
pub struct SmsHttp {
    http: reqwest::Client,
    request_timeout: Duration,
}

impl SmsHttp {
    pub fn new() -> Result<Self, ClientBuildError> {
        Self::with_timeout(REQUEST_TIMEOUT)
    }

    pub fn with_timeout(request_timeout: Duration) -> Result<Self, ClientBuildError> {
        let http = crate::tls::http_client("SMS", CONNECT_TIMEOUT, request_timeout)?;
        Ok(Self {
            http,
            request_timeout,
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends the request `build` makes (freshly signed per attempt, with that attempt's
    /// timeout) and reads the reply; once more only if the first could not connect.
    pub async fn send<B>(&self, provider: &str, build: B) -> Result<Reply, String>
    where
        B: Fn(Duration) -> Result<reqwest::RequestBuilder, String>,
    {
        let attempt = || async {
            let timeout = crate::deadline::budget(self.request_timeout);
            if timeout.is_zero() {
                return Err(Failure::Other(format!(
                    "{provider}: no time left before the request deadline; not sent"
                )));
            }
            let request = build(timeout).map_err(Failure::Other)?;
            read(provider, request).await
        };
        match attempt().await {
            Err(Failure::NotConnected(first))
                if crate::deadline::budget(Duration::MAX) > MIN_USEFUL_ATTEMPT =>
            {
                tracing::info!(error = %first, "SMS provider unreachable; one more attempt");
                attempt().await.map_err(Failure::text)
            }
            other => other.map_err(Failure::text),
        }
    }
}

fn describe(provider: &str, e: &reqwest::Error) -> Failure {
    // Without the URL: it carries the phone and the code.
    let text = if e.is_timeout() {
        format!("{provider}: timed out")
    } else {
        format!("{provider}: transport error: {}", strip_url(e))
    };
    if e.is_connect() && !e.is_timeout() {
        Failure::NotConnected(text)
    } else {
        Failure::Other(text)
    }
}

fn strip_url(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = String::from(if e.is_connect() {
        "cannot connect"
    } else if e.is_request() {
        "request failed"
    } else if e.is_body() || e.is_decode() {
        "reply body failed"
    } else {
        "failed"
    });
    let mut next = e.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

async fn read(provider: &str, request: reqwest::RequestBuilder) -> Result<Reply, Failure> {
    let response = request.send().await.map_err(|e| describe(provider, &e))?;
    let status = response.status().as_u16();
    if response
        .content_length()
        .is_some_and(|n| n > MAX_REPLY_BYTES as u64)
    {
        return Err(Failure::Other(format!("{provider}: reply too large")));
    }
    let body = response.bytes().await.map_err(|e| describe(provider, &e))?;
    if body.len() > MAX_REPLY_BYTES {
        return Err(Failure::Other(format!("{provider}: reply too large")));
    }
    Ok(Reply {
        status,
        body: body.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_provider_is_tried_twice_and_the_error_hides_the_url() {
        // A port nobody listens on: connect fails at once, twice.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let http = SmsHttp::new().unwrap();
        let attempts = std::sync::atomic::AtomicUsize::new(0);
        let url = format!("http://127.0.0.1:{port}/?PhoneNumbers=13800138000&code=123456");
        let err = http
            .send("Test SMS", |timeout| {
                attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(http.client().post(&url).timeout(timeout))
            })
            .await
            .err()
            .unwrap();
        assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert!(err.starts_with("Test SMS: transport error"), "{err}");
        assert!(
            !err.contains("13800138000") && !err.contains("123456"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn nothing_is_sent_without_time_left() {
        let http = SmsHttp::new().unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(100);
        let built = std::sync::atomic::AtomicUsize::new(0);
        let err = crate::deadline::within(deadline, async {
            http.send("Test SMS", |timeout| {
                built.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(http.client().post("http://127.0.0.1:9/").timeout(timeout))
            })
            .await
        })
        .await
        .err()
        .unwrap();
        assert!(err.contains("no time left"), "{err}");
        assert_eq!(built.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
}
