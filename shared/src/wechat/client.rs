//! The production WeChat client: injected base URL, explicit short timeouts, errcode-in-HTTP-200
//! decoding, at most one short retry on `-1`. It never logs the secret, a code or a
//! session_key; it logs errcodes only.

use super::errcode::{CallKind, TransportError, classify};
use super::{WeChatApi, WeChatError, WxAccessToken, WxPhone, WxSession};
use crate::domain::{AppId, LoginCode, OpenId, PhoneNumber, SessionKey, UnionId};
use crate::secrets::AppSecret;
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;
use std::time::Duration;

/// Connect within 1 s, answer within 3 s: two attempts still finish far inside API Gateway's 30 s.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
pub const BUSY_RETRY_DELAY: Duration = Duration::from_millis(150);
/// WeChat replies are small; a larger body is not WeChat.
const MAX_REPLY_BYTES: usize = 64 * 1024;

pub use crate::tls::ClientBuildError;

#[derive(Clone)]
pub struct WeChatClient {
    http: reqwest::Client,
    base: String,
    /// Each call's own cap, lowered per call by the request's deadline.
    request_timeout: Duration,
}

impl WeChatClient {
    pub fn new(base_url: &str) -> Result<Self, ClientBuildError> {
        Self::with_timeout(base_url, REQUEST_TIMEOUT)
    }

    /// With another answer timeout (tests use a short one to exercise the 504 path quickly).
    pub fn with_timeout(
        base_url: &str,
        request_timeout: Duration,
    ) -> Result<Self, ClientBuildError> {
        let http = crate::tls::http_client("WeChat", CONNECT_TIMEOUT, request_timeout)?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            request_timeout,
        })
    }

    /// One GET, decoded into `T`; retried once after a short pause when WeChat says `-1`.
    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        kind: CallKind,
    ) -> Result<T, WeChatError> {
        let url = format!("{}{path}", self.base);
        self.call(
            || {
                Ok(self
                    .http
                    .get(&url)
                    .timeout(call_timeout(self.request_timeout)?)
                    .query(query))
            },
            kind,
        )
        .await
    }

    /// One POST with a JSON body, decoded into `T`; retried once after a short pause on `-1`.
    async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &Value,
        kind: CallKind,
    ) -> Result<T, WeChatError> {
        let url = format!("{}{path}", self.base);
        let body = body.to_string();
        self.call(
            || {
                Ok(self
                    .http
                    .post(&url)
                    .timeout(call_timeout(self.request_timeout)?)
                    .query(query)
                    .header("content-type", "application/json")
                    .body(body.clone()))
            },
            kind,
        )
        .await
    }

    /// Builds and sends a request (`build` runs per attempt: each has its own timeout), then
    /// decodes the reply; once more after a short pause when WeChat says `-1`.
    async fn call<T, B>(&self, build: B, kind: CallKind) -> Result<T, WeChatError>
    where
        T: DeserializeOwned,
        B: Fn() -> Result<reqwest::RequestBuilder, WeChatError>,
    {
        let once = || async { decode(&read(build()?).await?, kind) };
        let result = match once().await {
            Err(WeChatError::Busy) if retry_fits() => {
                tokio::time::sleep(BUSY_RETRY_DELAY).await;
                once().await
            }
            other => other,
        };
        if let Err(e) = &result {
            crate::metrics::wechat_error(e.class());
        }
        result
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
        WeChatError::Transport(TransportError::new(e.without_url()))
    }
}

/// Sends a request and reads its reply: HTTP status, bounded body. Not generic, so the
/// transport code exists once whatever the reply type.
async fn read(request: reqwest::RequestBuilder) -> Result<impl AsRef<[u8]>, WeChatError> {
    let response = request.send().await.map_err(transport_error)?;
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
    Ok(body)
}

/// Decodes a reply body: a JSON object, its errcode (absent or 0 is a success; anything
/// else present, `null` included, that is not an integer is a bad reply), then the call's
/// own fields.
fn decode<T: DeserializeOwned>(body: impl AsRef<[u8]>, kind: CallKind) -> Result<T, WeChatError> {
    let reply: Reply<T> = serde_json::from_slice(body.as_ref()).map_err(|e| {
        // The fields are all lenient, so a data error is the reply's own shape.
        WeChatError::BadReply(
            if e.is_data() {
                "not a JSON object"
            } else {
                "not JSON"
            }
            .into(),
        )
    })?;
    match reply.errcode {
        None | Some(Loose::Typed(0)) => Ok(reply.body),
        Some(Loose::Typed(n)) => {
            tracing::warn!(errcode = n, "WeChat returned an error");
            Err(classify(n, kind))
        }
        Some(Loose::Other(_)) => Err(WeChatError::BadReply("errcode is not a number".into())),
    }
}

/// Any reply: WeChat's errcode-in-HTTP-200 beside the call's own fields. `errmsg` is never
/// read: only errcodes are logged, and a raw `errmsg` is never shown.
#[derive(Deserialize)]
struct Reply<T> {
    #[serde(default, deserialize_with = "present")]
    errcode: Option<Loose<i64>>,
    #[serde(flatten)]
    body: T,
}

/// A field of the expected JSON type, or of another one: WeChat's replies are read leniently,
/// a wrongly typed field counting as absent (a required one then makes the reply bad).
#[derive(Deserialize)]
#[serde(untagged)]
enum Loose<T> {
    Typed(T),
    Other(IgnoredAny),
}

impl<T> Loose<T> {
    fn typed(self) -> Option<T> {
        match self {
            Loose::Typed(value) => Some(value),
            Loose::Other(_) => None,
        }
    }
}

/// `Some` for any value present, `null` included (an `Option` alone reads `null` as absent).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A non-empty string field.
fn text(field: Option<Loose<String>>) -> Option<String> {
    field.and_then(Loose::typed).filter(|s| !s.is_empty())
}

/// `GET /sns/jscode2session`.
#[derive(Deserialize)]
struct SessionReply {
    openid: Option<Loose<String>>,
    session_key: Option<Loose<String>>,
    unionid: Option<Loose<String>>,
}

impl SessionReply {
    fn into_session(self) -> Result<WxSession, WeChatError> {
        let openid = text(self.openid)
            .and_then(|s| OpenId::parse(&s).ok())
            .ok_or_else(|| WeChatError::BadReply("success without a valid openid".into()))?;
        let session_key = text(self.session_key)
            .filter(|s| crate::crypto::b64_decode(s).is_some_and(|k| k.len() == 16))
            .ok_or_else(|| WeChatError::BadReply("success without a valid session_key".into()))?;
        let unionid = match text(self.unionid) {
            None => None,
            Some(s) => Some(
                UnionId::parse(&s)
                    .map_err(|_| WeChatError::BadReply("malformed unionid".into()))?,
            ),
        };
        Ok(WxSession {
            openid,
            session_key: SessionKey::new(session_key),
            unionid,
        })
    }
}

/// `POST /cgi-bin/stable_token`.
#[derive(Deserialize)]
struct StableTokenReply {
    access_token: Option<Loose<String>>,
    expires_in: Option<Loose<u64>>,
}

impl StableTokenReply {
    fn into_token(self) -> Result<WxAccessToken, WeChatError> {
        let token = text(self.access_token)
            .filter(|t| t.len() <= 2048)
            .ok_or_else(|| WeChatError::BadReply("stable_token without access_token".into()))?;
        let expires_in = self.expires_in.and_then(Loose::typed).unwrap_or(7200);
        Ok(WxAccessToken::new(token, expires_in))
    }
}

/// `POST /wxa/business/getuserphonenumber`. `phone_info` of another type than an object
/// counts as an empty one (its number then is not digits).
#[derive(Deserialize)]
struct PhoneReply {
    #[serde(default, deserialize_with = "present")]
    phone_info: Option<Loose<PhoneInfo>>,
}

impl PhoneReply {
    fn into_phone(self) -> Result<WxPhone, WeChatError> {
        let info = self
            .phone_info
            .ok_or_else(|| WeChatError::BadReply("success without phone_info".into()))?
            .typed()
            .unwrap_or_default();
        let pure = info
            .pure_phone_number
            .and_then(Loose::typed)
            .unwrap_or_default();
        let cc = info
            .country_code
            .and_then(CountryCode::into_text)
            .unwrap_or_default();
        let phone = PhoneNumber::from_parts(&cc, &pure)
            .map_err(|_| WeChatError::BadReply("phone_info is not digits".into()))?;
        let watermark_appid = info
            .watermark
            .and_then(Loose::typed)
            .and_then(|w| w.appid)
            .and_then(Loose::typed);
        Ok(WxPhone {
            phone,
            watermark_appid,
        })
    }
}

#[derive(Deserialize, Default)]
struct PhoneInfo {
    #[serde(rename = "purePhoneNumber")]
    pure_phone_number: Option<Loose<String>>,
    #[serde(rename = "countryCode")]
    country_code: Option<CountryCode>,
    watermark: Option<Loose<Watermark>>,
}

/// `countryCode` comes as a string or a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum CountryCode {
    Text(String),
    Number(u64),
    Other(IgnoredAny),
}

impl CountryCode {
    fn into_text(self) -> Option<String> {
        match self {
            CountryCode::Text(s) => Some(s),
            CountryCode::Number(n) => Some(n.to_string()),
            CountryCode::Other(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct Watermark {
    appid: Option<Loose<String>>,
}

/// `GET /wxa/checksession`: nothing but the errcode.
#[derive(Deserialize)]
struct CheckSessionReply {}

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
        session_key: &SessionKey,
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
        self.get_json("/sns/jscode2session", &query, CallKind::Secret)
            .await
            .and_then(SessionReply::into_session)
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
        self.post_json("/cgi-bin/stable_token", &[], &body, CallKind::Secret)
            .await
            .and_then(StableTokenReply::into_token)
    }

    async fn phone_number(
        &self,
        access_token: &WxAccessToken,
        code: &str,
        openid: &OpenId,
    ) -> Result<WxPhone, WeChatError> {
        let body = serde_json::json!({"code": code, "openid": openid.as_str()});
        let query = [("access_token", access_token.expose())];
        self.post_json(
            "/wxa/business/getuserphonenumber",
            &query,
            &body,
            CallKind::AccessToken,
        )
        .await
        .and_then(PhoneReply::into_phone)
    }

    async fn session_check(
        &self,
        access_token: &WxAccessToken,
        openid: &OpenId,
        session_key: &SessionKey,
    ) -> Result<bool, WeChatError> {
        let signature = crate::crypto::hmac_sha256_hex(session_key.expose().as_bytes(), b"");
        let query = [
            ("access_token", access_token.expose()),
            ("openid", openid.as_str()),
            ("signature", signature.as_str()),
            ("sig_method", "hmac_sha256"),
        ];
        match self
            .get_json::<CheckSessionReply>("/wxa/checksession", &query, CallKind::AccessToken)
            .await
        {
            Ok(_) => Ok(true),
            Err(WeChatError::StaleSessionKey) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// base64 of 16 bytes, as WeChat sends a session_key.
    const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAA==";

    fn bad(detail: &str) -> WeChatError {
        WeChatError::BadReply(detail.into())
    }

    fn session(body: &str) -> Result<WxSession, WeChatError> {
        decode::<SessionReply>(body, CallKind::Secret).and_then(SessionReply::into_session)
    }

    fn token(body: &str) -> Result<WxAccessToken, WeChatError> {
        decode::<StableTokenReply>(body, CallKind::Secret).and_then(StableTokenReply::into_token)
    }

    fn phone(body: &str) -> Result<WxPhone, WeChatError> {
        decode::<PhoneReply>(body, CallKind::AccessToken).and_then(PhoneReply::into_phone)
    }

    #[test]
    fn html_truncated_and_non_object_replies_are_bad() {
        assert_eq!(session("<html>502</html>").unwrap_err(), bad("not JSON"));
        assert_eq!(
            session(r#"{"openid":"o1","session_key":"#).unwrap_err(),
            bad("not JSON")
        );
        assert_eq!(session("").unwrap_err(), bad("not JSON"));
        assert_eq!(session("{} {}").unwrap_err(), bad("not JSON"));
        for not_object in ["[]", "null", "\"ok\"", "42", r#"[{"openid":"o1"}]"#] {
            assert_eq!(
                session(not_object).unwrap_err(),
                bad("not a JSON object"),
                "{not_object}"
            );
        }
    }

    #[test]
    fn errcode_absent_or_zero_is_a_success_an_integer_is_classified_anything_else_is_bad() {
        assert!(session(&format!(r#"{{"openid":"o1","session_key":"{KEY}"}}"#)).is_ok());
        assert!(
            session(&format!(
                r#"{{"errcode":0,"errmsg":"ok","openid":"o1","session_key":"{KEY}"}}"#
            ))
            .is_ok()
        );
        assert_eq!(
            session(r#"{"errcode":-1,"errmsg":"system busy"}"#).unwrap_err(),
            WeChatError::Busy
        );
        assert_eq!(
            session(r#"{"errcode":40029,"errmsg":"invalid code"}"#).unwrap_err(),
            WeChatError::InvalidCode(40029)
        );
        for odd in [
            "null",
            "\"0\"",
            "1.5",
            "0.0",
            "true",
            "{}",
            "18446744073709551615",
        ] {
            assert_eq!(
                session(&format!(r#"{{"errcode":{odd}}}"#)).unwrap_err(),
                bad("errcode is not a number"),
                "{odd}"
            );
        }
    }

    #[test]
    fn a_session_needs_a_valid_openid_and_session_key() {
        let openid = bad("success without a valid openid");
        for value in ["", "7", "null", "\"\"", "\"o 1\""] {
            let body = if value.is_empty() {
                format!(r#"{{"session_key":"{KEY}"}}"#)
            } else {
                format!(r#"{{"openid":{value},"session_key":"{KEY}"}}"#)
            };
            assert_eq!(session(&body).unwrap_err(), openid, "{body}");
        }
        let session_key = bad("success without a valid session_key");
        for body in [
            r#"{"openid":"o1"}"#,
            r#"{"openid":"o1","session_key":""}"#,
            r#"{"openid":"o1","session_key":16}"#,
            r#"{"openid":"o1","session_key":"AAAA"}"#,
            r#"{"openid":"o1","session_key":"not base64!"}"#,
        ] {
            assert_eq!(session(body).unwrap_err(), session_key, "{body}");
        }
        let ok = session(&format!(
            r#"{{"openid":"o1","session_key":"{KEY}","unionid":"u1"}}"#
        ))
        .unwrap();
        assert_eq!((ok.openid.as_str(), ok.session_key.expose()), ("o1", KEY));
        assert_eq!(ok.unionid.unwrap().as_str(), "u1");
        for none in ["\"\"", "null", "5"] {
            let body = format!(r#"{{"openid":"o1","session_key":"{KEY}","unionid":{none}}}"#);
            assert!(session(&body).unwrap().unionid.is_none(), "{body}");
        }
        assert_eq!(
            session(&format!(
                r#"{{"openid":"o1","session_key":"{KEY}","unionid":"u 1"}}"#
            ))
            .unwrap_err(),
            bad("malformed unionid")
        );
    }

    #[test]
    fn country_code_comes_as_a_string_or_a_number_and_the_number_must_be_digits() {
        for cc in ["\"86\"", "86"] {
            let body = format!(
                r#"{{"errcode":0,"errmsg":"ok","phone_info":{{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":{cc},"watermark":{{"appid":"wx1","timestamp":1}}}}}}"#
            );
            let p = phone(&body).unwrap();
            assert_eq!(p.phone.e164(), "+8613800138000");
            assert_eq!(p.watermark_appid.as_deref(), Some("wx1"));
        }
        let p =
            phone(r#"{"phone_info":{"purePhoneNumber":"2025550123","countryCode":1}}"#).unwrap();
        assert_eq!(p.phone.e164(), "+12025550123");
        assert_eq!(p.watermark_appid, None);
        let p = phone(
            r#"{"phone_info":{"purePhoneNumber":"13800138000","countryCode":"86","watermark":{"appid":7}}}"#,
        )
        .unwrap();
        assert_eq!(p.watermark_appid, None);

        let digits = bad("phone_info is not digits");
        for info in [
            r#"{"purePhoneNumber":"138-0013-8000","countryCode":"86"}"#,
            r#"{"purePhoneNumber":"13800138000","countryCode":86.0}"#,
            r#"{"purePhoneNumber":"13800138000","countryCode":-86}"#,
            r#"{"purePhoneNumber":"13800138000","countryCode":"+86"}"#,
            r#"{"purePhoneNumber":"13800138000","countryCode":null}"#,
            r#"{"purePhoneNumber":"13800138000"}"#,
            r#"{"purePhoneNumber":13800138000,"countryCode":"86"}"#,
            "{}",
            "null",
            "\"13800138000\"",
        ] {
            assert_eq!(
                phone(&format!(r#"{{"phone_info":{info}}}"#)).unwrap_err(),
                digits,
                "{info}"
            );
        }
        assert_eq!(
            phone(r#"{"errcode":0}"#).unwrap_err(),
            bad("success without phone_info")
        );
    }

    #[test]
    fn stable_token_needs_an_access_token_and_defaults_its_lifetime() {
        let t = token(r#"{"access_token":"AT","expires_in":7100}"#).unwrap();
        assert_eq!((t.expose(), t.expires_in), ("AT", 7100));
        for lifetime in [r#""7100""#, "-5", "7100.0", "null"] {
            let body = format!(r#"{{"access_token":"AT","expires_in":{lifetime}}}"#);
            assert_eq!(token(&body).unwrap().expires_in, 7200, "{body}");
        }
        assert_eq!(token(r#"{"access_token":"AT"}"#).unwrap().expires_in, 7200);
        let missing = bad("stable_token without access_token");
        let long = format!(r#"{{"access_token":"{}"}}"#, "a".repeat(2049));
        for body in [
            "{}",
            r#"{"access_token":""}"#,
            r#"{"access_token":5}"#,
            long.as_str(),
        ] {
            assert_eq!(token(body).unwrap_err(), missing);
        }
    }

    #[test]
    fn checksession_errcode_87009_is_the_errcode_tables_stale_key() {
        assert_eq!(
            decode::<CheckSessionReply>(
                r#"{"errcode":87009,"errmsg":"invalid signature"}"#,
                CallKind::AccessToken
            )
            .err(),
            Some(WeChatError::StaleSessionKey)
        );
        assert!(
            decode::<CheckSessionReply>(r#"{"errcode":0,"errmsg":"ok"}"#, CallKind::AccessToken)
                .is_ok()
        );
    }
}
