//! The production WeChat client: injected base URL, explicit short timeouts, errcode-in-HTTP-200
//! decoding, at most one short retry on `-1`. It never logs the secret, a code or a
//! session_key; it logs errcodes only.

use super::errcode::{CallKind, classify};
use super::{WeChatApi, WeChatError, WxAccessToken, WxPhone, WxSession};
use crate::domain::{AppId, LoginCode, OpenId, PhoneNumber, UnionId};
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
    /// Each call's own cap, lowered per call by the request's deadline.
    request_timeout: Duration,
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
            request_timeout,
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
            Err(WeChatError::Busy) if retry_fits() => {
                tokio::time::sleep(BUSY_RETRY_DELAY).await;
                self.get_json_once(path, query, kind).await
            }
            other => other,
        }
    }

    /// One POST with a JSON body, decoded; retried once after a short pause on `-1`.
    async fn post_json(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &Value,
        kind: CallKind,
    ) -> Result<Value, WeChatError> {
        let once = || async {
            let url = format!("{}{path}", self.base);
            let response = self
                .http
                .post(&url)
                .timeout(call_timeout(self.request_timeout)?)
                .query(query)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .map_err(transport_error)?;
            decode(response, kind).await
        };
        match once().await {
            Err(WeChatError::Busy) if retry_fits() => {
                tokio::time::sleep(BUSY_RETRY_DELAY).await;
                once().await
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
            .timeout(call_timeout(self.request_timeout)?)
            .query(query)
            .send()
            .await
            .map_err(transport_error)?;
        decode(response, kind).await
    }
}

/// This call's timeout: the client's, or what the request's deadline leaves (`deadline`).
/// Nothing left: the call is not made.
fn call_timeout(cap: Duration) -> Result<Duration, WeChatError> {
    let budget = crate::deadline::budget(cap);
    if budget.is_zero() {
        tracing::info!("no time left before the request deadline; WeChat not called");
        return Err(WeChatError::Timeout);
    }
    Ok(budget)
}

/// A retry after `-1` only when the pause and a useful attempt still fit the deadline.
fn retry_fits() -> bool {
    crate::deadline::budget(Duration::MAX) > BUSY_RETRY_DELAY + MIN_USEFUL_ATTEMPT
}

/// An attempt with less time than this is not worth starting after a busy answer.
const MIN_USEFUL_ATTEMPT: Duration = Duration::from_millis(300);

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
    async fn stable_access_token(
        &self,
        appid: &AppId,
        secret: &AppSecret,
    ) -> Result<WxAccessToken, WeChatError> {
        self.stable_token(appid, secret).await
    }

    async fn get_user_phone_number(
        &self,
        access_token: &WxAccessToken,
        code: &str,
        openid: &OpenId,
    ) -> Result<WxPhone, WeChatError> {
        self.phone_number(access_token, code, openid).await
    }

    async fn check_session(
        &self,
        access_token: &WxAccessToken,
        openid: &OpenId,
        session_key: &str,
    ) -> Result<bool, WeChatError> {
        self.session_check(access_token, openid, session_key).await
    }

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

/// `countryCode` comes as a string or a number.
fn country_code(info: &Value) -> Option<String> {
    match info.get("countryCode")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        _ => None,
    }
}

impl WeChatClient {
    async fn stable_token(
        &self,
        appid: &AppId,
        secret: &AppSecret,
    ) -> Result<WxAccessToken, WeChatError> {
        let body = serde_json::json!({
            "grant_type": "client_credential",
            "appid": appid.as_str(),
            "secret": secret.expose(),
            "force_refresh": false,
        });
        let value = self
            .post_json("/cgi-bin/stable_token", &[], &body, CallKind::Secret)
            .await?;
        let token = string_field(&value, "access_token")
            .filter(|t| t.len() <= 2048)
            .ok_or_else(|| WeChatError::BadReply("stable_token without access_token".into()))?;
        let expires_in = value
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(7200);
        Ok(WxAccessToken {
            token: token.to_owned(),
            expires_in,
        })
    }

    async fn phone_number(
        &self,
        access_token: &WxAccessToken,
        code: &str,
        openid: &OpenId,
    ) -> Result<WxPhone, WeChatError> {
        let body = serde_json::json!({"code": code, "openid": openid.as_str()});
        let query = [("access_token", access_token.token.as_str())];
        let value = self
            .post_json(
                "/wxa/business/getuserphonenumber",
                &query,
                &body,
                CallKind::AccessToken,
            )
            .await?;
        let info = value
            .get("phone_info")
            .ok_or_else(|| WeChatError::BadReply("success without phone_info".into()))?;
        let pure = info
            .get("purePhoneNumber")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let cc = country_code(info).unwrap_or_default();
        let phone = PhoneNumber::from_parts(&cc, pure)
            .map_err(|_| WeChatError::BadReply("phone_info is not digits".into()))?;
        let watermark_appid = info
            .pointer("/watermark/appid")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(WxPhone {
            phone,
            watermark_appid,
        })
    }

    async fn session_check(
        &self,
        access_token: &WxAccessToken,
        openid: &OpenId,
        session_key: &str,
    ) -> Result<bool, WeChatError> {
        let signature = crate::crypto::hmac_sha256_hex(session_key.as_bytes(), b"");
        let query = [
            ("access_token", access_token.token.as_str()),
            ("openid", openid.as_str()),
            ("signature", signature.as_str()),
            ("sig_method", "hmac_sha256"),
        ];
        match self
            .get_json("/wxa/checksession", &query, CallKind::AccessToken)
            .await
        {
            Ok(_) => Ok(true),
            Err(WeChatError::Other(87009)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
