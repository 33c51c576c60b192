//! The production WeChat client: injected base URL, explicit short timeouts, errcode-in-HTTP-200
//! decoding, at most one short retry on `-1`. It never logs the secret, a code or a
//! session_key; it logs errcodes only.

use super::errcode::{CallKind, classify};
use super::{WeChatApi, WeChatError, WxSession};
use crate::domain::{AppId, LoginCode, OpenId, UnionId};
use crate::secrets::AppSecret;
use serde_json::Value;
use std::time::Duration;

/// Connect within 1 s, answer within 3 s: two attempts still finish far inside API Gateway's 30 s.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
pub const BUSY_RETRY_DELAY: Duration = Duration::from_millis(150);
/// WeChat replies are small; a larger body is not WeChat.
const MAX_REPLY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct WeChatClient {
    http: reqwest::Client,
    base: String,
}

impl WeChatClient {
    pub fn new(base_url: &str) -> Result<Self, String> {
        Self::with_timeout(base_url, REQUEST_TIMEOUT)
    }

    /// With another answer timeout (tests use a short one to exercise the 504 path quickly).
    pub fn with_timeout(base_url: &str, request_timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(request_timeout)
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .map_err(|e| format!("cannot build the WeChat HTTP client: {e}"))?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// One GET, decoded; retried once after a short pause when WeChat says `-1`.
    async fn get_json(
        &self,
        path: &str,
        query: &[(&str, &str)],
        kind: CallKind,
    ) -> Result<Value, WeChatError> {
        match self.get_json_once(path, query, kind).await {
            Err(WeChatError::Busy) => {
                tokio::time::sleep(BUSY_RETRY_DELAY).await;
                self.get_json_once(path, query, kind).await
            }
            other => other,
        }
    }

    async fn get_json_once(
        &self,
        path: &str,
        query: &[(&str, &str)],
        kind: CallKind,
    ) -> Result<Value, WeChatError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .get(&url)
            .query(query)
            .send()
            .await
            .map_err(transport_error)?;
        decode(response, kind).await
    }
}

fn transport_error(e: reqwest::Error) -> WeChatError {
    if e.is_timeout() {
        WeChatError::Timeout
    } else {
        // Without the URL: it carries the secret and the code.
        WeChatError::BadReply(format!("transport: {}", e.without_url()))
    }
}

/// Reads a reply: HTTP status, bounded body, JSON object, errcode.
async fn decode(response: reqwest::Response, kind: CallKind) -> Result<Value, WeChatError> {
    if !response.status().is_success() {
        return Err(WeChatError::BadReply(format!(
            "HTTP {}",
            response.status().as_u16()
        )));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_REPLY_BYTES as u64)
    {
        return Err(WeChatError::BadReply("reply too large".into()));
    }
    let body = response.bytes().await.map_err(transport_error)?;
    if body.len() > MAX_REPLY_BYTES {
        return Err(WeChatError::BadReply("reply too large".into()));
    }
    let value: Value =
        serde_json::from_slice(&body).map_err(|_| WeChatError::BadReply("not JSON".into()))?;
    if !value.is_object() {
        return Err(WeChatError::BadReply("not a JSON object".into()));
    }
    match value.get("errcode") {
        None => Ok(value),
        Some(code) => match code.as_i64() {
            Some(0) => Ok(value),
            Some(n) => {
                tracing::warn!(errcode = n, "WeChat returned an error");
                Err(classify(n, kind))
            }
            None => Err(WeChatError::BadReply("errcode is not a number".into())),
        },
    }
}

fn string_field<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

impl WeChatApi for WeChatClient {
    async fn code_to_session(
        &self,
        appid: &AppId,
        secret: &AppSecret,
        code: &LoginCode,
    ) -> Result<WxSession, WeChatError> {
        let query = [
            ("appid", appid.as_str()),
            ("secret", secret.expose()),
            ("js_code", code.expose()),
            ("grant_type", "authorization_code"),
        ];
        let value = self
            .get_json("/sns/jscode2session", &query, CallKind::Secret)
            .await?;
        let openid = string_field(&value, "openid")
            .and_then(|s| OpenId::parse(s).ok())
            .ok_or_else(|| WeChatError::BadReply("success without a valid openid".into()))?;
        let session_key = string_field(&value, "session_key")
            .filter(|s| crate::crypto::b64_decode(s).is_some_and(|k| k.len() == 16))
            .ok_or_else(|| WeChatError::BadReply("success without a valid session_key".into()))?;
        let unionid = match string_field(&value, "unionid") {
            None => None,
            Some(s) => Some(
                UnionId::parse(s).map_err(|_| WeChatError::BadReply("malformed unionid".into()))?,
            ),
        };
        Ok(WxSession {
            openid,
            session_key: session_key.to_owned(),
            unionid,
        })
    }
}
