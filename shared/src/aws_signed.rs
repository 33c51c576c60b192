//! One SigV4-signed call to an AWS JSON-protocol API (`POST /` with `X-Amz-Target`), without
//! the SDK: the authorizer's key read (DynamoDB `GetItem`) and the account events
//! (EventBridge `PutEvents`). Signing is the SDK's own `aws-sigv4`; the transport is hyper's
//! HTTP/1.1 client over rustls with the process's shared TLS configuration (`crate::tls`,
//! compiled-in roots), not reqwest: the authorizer links no URL parser, no IDNA tables and no
//! platform certificate verifier. The client holds the timeouts; the caller decides about
//! retries.

use crate::error::Cause;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};
use tower_service::Service;

/// AWS JSON answers here are small (a key set, a `PutEvents` result); a larger one is refused.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The HTTP client of the signed calls: connect within `connect_timeout`, the whole call
/// (connect, send, read the answer) within `timeout`. It keeps the connection of the last
/// call for the next one (a function serves one request at a time, so one connection is all
/// it needs; hyper-util's pool would add 20 KB to the authorizer for nothing more).
pub struct SignedHttp {
    connector: HttpsConnector<HttpConnector>,
    idle: tokio::sync::Mutex<Option<SendRequest<Full<Bytes>>>>,
    timeout: Duration,
}

/// One call's status and body, on its way.
type Answer<'a> = Pin<Box<dyn Future<Output = Result<(u16, Bytes), Cause>> + Send + 'a>>;

/// A boxed connector error as an `Error` with its sources (for `Cause::report`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ConnectError(Box<dyn std::error::Error + Send + Sync>);

impl SignedHttp {
    pub fn new(connect_timeout: Duration, timeout: Duration) -> Result<Self, String> {
        let tls = crate::tls::client_config().map_err(|e| e.to_string())?;
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        Ok(Self {
            connector,
            idle: tokio::sync::Mutex::new(None),
            timeout,
        })
    }

    /// One POST of `body` with `headers` for the call `target`: the status and the answer's text.
    async fn post<'a>(
        &self,
        target: &str,
        url: &str,
        headers: impl Iterator<Item = (&'a str, &'a str)>,
        body: String,
    ) -> Result<(u16, String), Cause> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| Cause::with_source(format!("{target} request"), e))?;
        let authority = uri.authority().map(|a| a.as_str().to_owned());
        // Origin form on the wire, the authority as Host (what SigV4 signed).
        let mut request = hyper::Request::post(uri.path());
        if let Some(host) = &authority {
            request = request.header(hyper::header::HOST, host);
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| Cause::with_source(format!("{target} request"), e))?;
        // Boxed and erased: the functions' handler futures nest this one deep, and its concrete
        // type (connect, TLS, handshake, send) took the account function's past the compiler's
        // query depth limit.
        let call: Answer<'_> = Box::pin(async move {
            let mut idle = self.idle.lock().await;
            let (sender, response) = self.send(target, &uri, idle.take(), request).await?;
            let status = response.status().as_u16();
            let bytes = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| Cause::new(format!("{target} body: {e}")))?
                .to_bytes();
            *idle = Some(sender);
            Ok((status, bytes))
        });
        let (status, bytes) = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| {
                Cause::new(format!(
                    "{target}: no answer within {} ms",
                    self.timeout.as_millis()
                ))
            })??;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| Cause::new(format!("{target} body is not UTF-8")))?;
        Ok((status, text))
    }

    /// Sends on the kept connection when it is still open, else on a new one; again on a new
    /// one only when the kept one took nothing (closed by the server while idle), so a call is
    /// never sent twice. Errors never carry the URL (hyper's do not).
    async fn send(
        &self,
        target: &str,
        uri: &hyper::Uri,
        kept: Option<SendRequest<Full<Bytes>>>,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<(SendRequest<Full<Bytes>>, hyper::Response<Incoming>), Cause> {
        let failed = |e: hyper::Error| Cause::with_source(target.to_owned(), e);
        let request = match kept.filter(|s| !s.is_closed()) {
            Some(mut sender) => match sender.try_send_request(request).await {
                Ok(response) => return Ok((sender, response)),
                Err(mut e) => match e.take_message() {
                    Some(unsent) => unsent,
                    None => return Err(failed(e.into_error())),
                },
            },
            None => request,
        };
        let mut sender = self.connect(target, uri).await?;
        let response = sender.send_request(request).await.map_err(failed)?;
        Ok((sender, response))
    }

    async fn connect(
        &self,
        target: &str,
        uri: &hyper::Uri,
    ) -> Result<SendRequest<Full<Bytes>>, Cause> {
        let cannot = |e| Cause::with_source(format!("{target}: cannot connect"), ConnectError(e));
        let mut connector = self.connector.clone();
        std::future::poll_fn(|cx| connector.poll_ready(cx))
            .await
            .map_err(cannot)?;
        let io = connector.call(uri.clone()).await.map_err(cannot)?;
        let (sender, connection) = http1::handshake(io)
            .await
            .map_err(|e| Cause::with_source(target.to_owned(), e))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "signed-call connection ended");
            }
        });
        Ok(sender)
    }
}

/// One API's address and protocol.
#[derive(Debug, Clone, Copy)]
pub struct JsonApi<'a> {
    /// `https://dynamodb.cn-north-1.amazonaws.com.cn` or an override, without a trailing `/`.
    pub endpoint: &'a str,
    pub region: &'a str,
    /// The signing name: `dynamodb`, `events`.
    pub service: &'a str,
    /// `application/x-amz-json-1.0` (DynamoDB) or `-1.1` (EventBridge).
    pub content_type: &'a str,
}

/// Signs and sends `body` to `target` (`DynamoDB_20120810.GetItem`); the HTTP status and the
/// body. A transport failure names no URL (it may hold an override with credentials).
pub async fn post_json(
    http: &SignedHttp,
    api: JsonApi<'_>,
    target: &str,
    body: String,
    credentials: &Credentials,
) -> Result<(u16, String), Cause> {
    let url = format!("{}/", api.endpoint);
    let unsigned = [("content-type", api.content_type), ("x-amz-target", target)];
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(api.region)
        .name(api.service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| Cause::with_source("signing", e))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        &url,
        unsigned.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| Cause::with_source("signing", e))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| Cause::with_source("signing", e))?
        .into_parts();
    http.post(
        target,
        &url,
        unsigned.iter().copied().chain(instructions.headers()),
        body,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers each request with `{}`, `close`: after one answer per
    /// connection. Counts the connections it accepted and keeps the Host headers it saw.
    async fn server(close: bool) -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (accepted, hosts) = (Arc::new(AtomicUsize::new(0)), Arc::default());
        let (count, seen): (_, Arc<std::sync::Mutex<Vec<String>>>) =
            (accepted.clone(), Arc::clone(&hosts));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    loop {
                        let Ok(n) = socket.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        let text = String::from_utf8_lossy(&buf[..n]).to_lowercase();
                        if let Some(host) = text.lines().find_map(|l| l.strip_prefix("host: ")) {
                            seen.lock().unwrap().push(host.trim().to_owned());
                        }
                        let connection = if close { "close" } else { "keep-alive" };
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: {connection}\r\n\r\n{{}}"
                        );
                        if socket.write_all(answer.as_bytes()).await.is_err() || close {
                            return;
                        }
                    }
                });
            }
        });
        (url, accepted, hosts)
    }

    fn api(endpoint: &str) -> JsonApi<'_> {
        JsonApi {
            endpoint,
            region: "us-east-1",
            service: "dynamodb",
            content_type: "application/x-amz-json-1.0",
        }
    }

    /// Three calls in a row through one client: each answer.
    async fn three_calls(url: &str) -> Vec<(u16, String)> {
        let http = SignedHttp::new(Duration::from_secs(1), Duration::from_secs(5)).unwrap();
        let creds = Credentials::new("AKID", "secret", None, None, "test");
        let mut answers = Vec::new();
        for _ in 0..3 {
            let call = post_json(&http, api(url), "T.Op", "{}".into(), &creds);
            answers.push(call.await.unwrap());
        }
        answers
    }

    #[tokio::test]
    async fn calls_share_one_connection_and_name_the_signed_host() {
        let (url, accepted, hosts) = server(false).await;
        assert_eq!(three_calls(&url).await, vec![(200, "{}".to_owned()); 3]);
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        let authority = url.trim_start_matches("http://").to_owned();
        assert_eq!(*hosts.lock().unwrap(), vec![authority; 3]);
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_replaced_and_nothing_fails() {
        let (url, accepted, _) = server(true).await;
        assert_eq!(three_calls(&url).await, vec![(200, "{}".to_owned()); 3]);
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_fails_within_the_timeout_without_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://user:pw@{}", listener.local_addr().unwrap());
        drop(listener);
        let http = SignedHttp::new(Duration::from_secs(1), Duration::from_secs(2)).unwrap();
        let creds = Credentials::new("AKID", "secret", None, None, "test");
        let err = post_json(&http, api(&url), "T.Op", "{}".into(), &creds)
            .await
            .unwrap_err()
            .report();
        assert!(err.starts_with("T.Op: cannot connect"), "{err}");
        assert!(!err.contains("pw"), "{err}");
    }
}
