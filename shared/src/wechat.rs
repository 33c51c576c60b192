//! WeChat's server APIs as a port (`WeChatApi`), the one errcode table (`errcode`), and the
//! production HTTP client (`client`, feature `wechat`). The fake WeChat used by tests and the
//! local server is an HTTP server (`crate::fake`), so the production client is what is tested.

#[cfg(feature = "wechat")]
pub mod client;
pub mod errcode;

pub use errcode::WeChatError;

use crate::domain::{AppId, LoginCode, OpenId, UnionId};
use crate::secrets::AppSecret;
use std::fmt;
use std::future::Future;

/// A successful `jscode2session`. Debug hides the session_key.
#[derive(Clone, PartialEq, Eq)]
pub struct WxSession {
    pub openid: OpenId,
    /// Base64 text of 16 bytes, exactly as WeChat sent it.
    pub session_key: String,
    pub unionid: Option<UnionId>,
}

impl fmt::Debug for WxSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WxSession")
            .field("openid", &self.openid)
            .field("session_key", &"..")
            .field("unionid", &self.unionid)
            .finish()
    }
}

pub trait WeChatApi: Send + Sync + 'static {
    /// `GET /sns/jscode2session`. At most one short retry on `-1`; nothing else is retried.
    fn code_to_session(
        &self,
        appid: &AppId,
        secret: &AppSecret,
        code: &LoginCode,
    ) -> impl Future<Output = Result<WxSession, WeChatError>> + Send;
}
