//! The profile: nickname and avatar URL, set directly (`PATCH /auth/me`) or from WeChat's
//! legacy `getUserInfo` data, whose `rawData` signature (`sha1(rawData + session_key)`) and
//! watermark are checked. WeChat now returns placeholder values there ("微信用户" and a grey
//! avatar) unless the user fills them in with the nickname/avatar components.

use super::session::SessionService;
use crate::crypto::{constant_time_eq, sha1_hex};
use crate::error::{AppError, AppResult};
use crate::open_data::{self, OpenDataError};
use crate::principal::SessionPrincipal;
use crate::store::{Identities, Sessions};
use serde_json::Value;

pub const MAX_NICKNAME_CHARS: usize = 32;
pub const MAX_AVATAR_URL_LEN: usize = 512;

pub fn check_nickname(n: &str) -> AppResult<()> {
    let chars = n.chars().count();
    if chars == 0 || chars > MAX_NICKNAME_CHARS || n.chars().any(char::is_control) || n.trim() != n
    {
        return Err(AppError::InvalidRequest(
            "nickname must be 1-32 characters, no control characters or edge spaces",
        ));
    }
    Ok(())
}

pub fn check_avatar_url(u: &str) -> AppResult<()> {
    let host_ok = u
        .strip_prefix("https://")
        .and_then(|rest| rest.split('/').next())
        .is_some_and(|host| !host.is_empty() && !host.contains('@'));
    if u.len() > MAX_AVATAR_URL_LEN
        || !host_ok
        || u.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AppError::InvalidRequest(
            "avatar_url must be an https URL of at most 512 characters",
        ));
    }
    Ok(())
}

/// Legacy `getUserInfo` fields as the client posts them.
pub struct UserInfoData<'a> {
    pub raw_data: &'a str,
    pub signature: &'a str,
    pub encrypted_data: &'a str,
    pub iv: &'a str,
}

impl<S: Identities + Sessions + Clone> SessionService<S> {
    pub async fn update_profile(
        &self,
        caller: &SessionPrincipal,
        nickname: Option<&str>,
        avatar_url: Option<&str>,
    ) -> AppResult<()> {
        if nickname.is_none() && avatar_url.is_none() {
            return Err(AppError::InvalidRequest("send nickname and/or avatar_url"));
        }
        if let Some(n) = nickname {
            check_nickname(n)?;
        }
        if let Some(u) = avatar_url {
            check_avatar_url(u)?;
        }
        self.store
            .set_profile(&caller.user_id, nickname, avatar_url)
            .await?;
        Ok(())
    }

    /// Verifies, decrypts and stores legacy user info; every flaw is `DECRYPT_FAILED`.
    pub async fn apply_user_info(
        &self,
        caller: &SessionPrincipal,
        data: UserInfoData<'_>,
    ) -> AppResult<()> {
        if data.raw_data.len() > 4096
            || data.encrypted_data.len() > 8192
            || data.signature.len() > 64
            || data.iv.len() > 64
        {
            return Err(AppError::InvalidRequest("user info fields are too long"));
        }
        let (appid, openid) = (&caller.appid, &caller.openid);
        let now = self.clock.now();
        let record = self
            .store
            .get_session_key(appid, openid, now)
            .await?
            .ok_or(AppError::SessionKeyStale)?;
        let expected =
            sha1_hex(format!("{}{}", data.raw_data, record.session_key.expose()).as_bytes());
        if !constant_time_eq(
            expected.as_bytes(),
            data.signature.to_ascii_lowercase().as_bytes(),
        ) {
            tracing::info!("user info signature mismatch");
            return Err(AppError::DecryptFailed);
        }
        let info = match open_data::open(
            record.session_key.expose(),
            data.encrypted_data,
            data.iv,
            appid.as_str(),
            now,
        ) {
            Ok(info) => info,
            Err(OpenDataError::SessionKeyCorrupt) => {
                return Err(AppError::internal(
                    OpenDataError::SessionKeyCorrupt.reason(),
                ));
            }
            Err(e) => {
                tracing::info!(reason = e.reason(), "legacy user info refused");
                return Err(AppError::DecryptFailed);
            }
        };
        let nickname = info
            .get("nickName")
            .and_then(Value::as_str)
            .filter(|n| check_nickname(n).is_ok());
        let avatar = info
            .get("avatarUrl")
            .and_then(Value::as_str)
            .filter(|u| check_avatar_url(u).is_ok());
        self.store
            .set_profile(&caller.user_id, nickname, avatar)
            .await?;
        Ok(())
    }
}
