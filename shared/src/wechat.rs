//! WeChat's server APIs as a port (`WeChatApi`), the one errcode table (`errcode`), and the
//! production HTTP client (`client`, feature `wechat`). The fake WeChat used by tests and the
//! local server is an HTTP server (`crate::fake`), so the production client is what is tested.

pub mod access_token;
#[cfg(feature = "wechat")]
pub mod client;
pub mod errcode;

pub use errcode::WeChatError;

use crate::domain::{AppId, LoginCode, OpenId, PhoneNumber, SessionKey, UnionId};
use crate::secrets::AppSecret;
use std::fmt;
use std::future::Future;

/// A successful `jscode2session`. Debug hides the session_key (a `SessionKey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxSession {
    pub openid: OpenId,
    pub session_key: SessionKey,
    pub unionid: Option<UnionId>,
}

/// A WeChat access_token (`stable_token`), held as a `SecretString`: Debug hides it.
#[derive(Clone)]
pub struct WxAccessToken {
    token: secrecy::SecretString,
    pub expires_in: u64,
}

impl WxAccessToken {
    pub fn new(token: impl Into<String>, expires_in: u64) -> Self {
        Self {
            token: secrecy::SecretString::from(token.into()),
            expires_in,
        }
    }
    /// The token text, for the one query parameter that carries it.
    pub fn expose(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.token)
    }
}

/// In constant time, like every comparison of a secret.
impl PartialEq for WxAccessToken {
    fn eq(&self, other: &Self) -> bool {
        self.expires_in == other.expires_in
            && crate::crypto::constant_time_eq(self.expose().as_bytes(), other.expose().as_bytes())
    }
}

impl Eq for WxAccessToken {}

impl fmt::Debug for WxAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WxAccessToken(.., expires_in: {})", self.expires_in)
    }
}

/// A phone number WeChat vouched for, with the app its watermark names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxPhone {
    pub phone: PhoneNumber,
    pub watermark_appid: Option<String>,
}

pub trait WeChatApi: Send + Sync + 'static {
    /// `POST /cgi-bin/stable_token` in normal mode (never `force_refresh`).
    fn stable_access_token(
        &self,
        appid: &AppId,
        secret: &AppSecret,
    ) -> impl Future<Output = Result<WxAccessToken, WeChatError>> + Send;

    /// `POST /wxa/business/getuserphonenumber`, passing the caller's openid so WeChat checks
    /// the code was issued to them.
    fn get_user_phone_number(
        &self,
        access_token: &WxAccessToken,
        code: &str,
        openid: &OpenId,
    ) -> impl Future<Output = Result<WxPhone, WeChatError>> + Send;

    /// `GET /wxa/checksession`: `Ok(true)` when `session_key` (base64 text) is the user's
    /// current one, `Ok(false)` when WeChat says 87009 (stale).
    fn check_session(
        &self,
        access_token: &WxAccessToken,
        openid: &OpenId,
        session_key: &SessionKey,
    ) -> impl Future<Output = Result<bool, WeChatError>> + Send;

    /// `GET /sns/jscode2session`. At most one short retry on `-1`; nothing else is retried.
    fn code_to_session(
        &self,
        appid: &AppId,
        secret: &AppSecret,
        code: &LoginCode,
    ) -> impl Future<Output = Result<WxSession, WeChatError>> + Send;
}
