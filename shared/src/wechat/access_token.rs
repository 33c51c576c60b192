//! The WeChat access_token, per app, kept in this instance's memory until shortly before it
//! expires. `stable_token` in normal mode hands every caller the same token while it is valid,
//! so Lambda instances need no lock and no shared cache (DESIGN §5). A call rejected with
//! 40001/40014/42001 drops the token, fetches once more in normal mode and retries once; a
//! request never uses `force_refresh` (WeChat allows 20 a day).

use super::{WeChatApi, WeChatError, WxAccessToken};
use crate::domain::AppId;
use crate::secrets::AppSecret;
use std::collections::HashMap;
use std::future::Future;
use tokio::sync::Mutex;

/// Refetch this long before `expires_in` runs out (WeChat renews 5 minutes before expiry).
pub const EARLY_REFRESH_SECS: u64 = 300;

#[derive(Default)]
pub struct AccessTokenCache {
    slot: Mutex<HashMap<AppId, (WxAccessToken, u64)>>,
}

impl AccessTokenCache {
    async fn get<W: WeChatApi>(
        &self,
        wechat: &W,
        appid: &AppId,
        secret: &AppSecret,
        now: u64,
    ) -> Result<WxAccessToken, WeChatError> {
        if let Some((token, good_until)) = self.slot.lock().await.get(appid)
            && now < *good_until
        {
            return Ok(token.clone());
        }
        let token = wechat.stable_access_token(appid, secret).await?;
        let good_until = now + token.expires_in.saturating_sub(EARLY_REFRESH_SECS).max(60);
        self.slot
            .lock()
            .await
            .insert(appid.clone(), (token.clone(), good_until));
        Ok(token)
    }

    async fn drop_token(&self, appid: &AppId, token: &WxAccessToken) {
        let mut slot = self.slot.lock().await;
        if slot.get(appid).is_some_and(|(held, _)| held == token) {
            slot.remove(appid);
        }
    }

    /// Runs `call` with the app's access token; on an access-token error, once more with a
    /// freshly fetched one.
    pub async fn with_token<W, T, F, Fut>(
        &self,
        wechat: &W,
        appid: &AppId,
        secret: &AppSecret,
        now: u64,
        call: F,
    ) -> Result<T, WeChatError>
    where
        W: WeChatApi,
        F: Fn(WxAccessToken) -> Fut,
        Fut: Future<Output = Result<T, WeChatError>>,
    {
        let token = self.get(wechat, appid, secret, now).await?;
        match call(token.clone()).await {
            Err(WeChatError::AccessTokenRejected(errcode)) => {
                tracing::warn!(errcode, appid = %appid, "WeChat access_token rejected; fetching it again");
                self.drop_token(appid, &token).await;
                let fresh = self.get(wechat, appid, secret, now).await?;
                call(fresh).await
            }
            other => other,
        }
    }
}
