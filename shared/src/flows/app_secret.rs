//! Calls that carry the app secret (jscode2session, stable_token): when WeChat rejects the
//! secret, it is re-read once from Secrets Manager (an operator may have rotated it) and, if it
//! changed, the call runs once more. One rule for the login and the phone paths.

use super::backend::Backend;
use crate::domain::AppId;
use crate::error::{AppError, AppResult};
use crate::secrets::{AppSecret, SecretSource};
use crate::wechat::WeChatError;
use std::future::Future;

impl<S, W, X: SecretSource> Backend<S, W, X> {
    /// Runs `call` with the app's secret, re-reading a rejected secret once.
    pub async fn with_app_secret<T, F, Fut>(&self, appid: &AppId, call: F) -> AppResult<T>
    where
        F: Fn(AppSecret) -> Fut,
        Fut: Future<Output = Result<T, WeChatError>>,
    {
        let apps = self.apps.get().await?;
        let secret = apps.secret(appid).cloned().ok_or(AppError::UnknownApp)?;
        match call(secret.clone()).await {
            Err(WeChatError::SecretRejected(errcode)) => {
                // A re-read that fails leaves the rejection standing: the operator must act
                // either way, so it is the alarm, not a dependency outage.
                let reloaded = match self.apps.force_reload().await {
                    Ok(reloaded) => reloaded,
                    Err(e) => {
                        tracing::warn!(error = %e, "re-reading the rejected app secret failed");
                        None
                    }
                };
                let rotated = reloaded
                    .as_ref()
                    .and_then(|apps| apps.secret(appid))
                    .filter(|s| **s != secret)
                    .cloned();
                match rotated {
                    Some(new_secret) => {
                        tracing::info!(appid = %appid, "app secret re-read after a rejection; retrying once");
                        Ok(call(new_secret).await?)
                    }
                    // A rejection that stands is MISCONFIGURED; the error table logs its alarm.
                    None => Err(WeChatError::SecretRejected(errcode).into()),
                }
            }
            other => Ok(other?),
        }
    }
}
