//! Issuing a new session (refresh family + token pair) and the shape every successful
//! login/refresh/phone answer shares (DESIGN §2).

use super::backend::Backend;
use crate::domain::{AppId, OpenId, PhoneNumber, UserId};
use crate::error::AppResult;
use crate::secrets::SecretSource;
use crate::store::Sessions;
use crate::store::{Family, SessionKeyRecord};
use crate::tokens::KeyDirectory;
use crate::tokens::issuer::AccessSubject;
use crate::tokens::refresh;

/// WeChat's session_key is kept this long (legacy decryption needs it shortly after login;
/// `checksession` tells when WeChat rotated it earlier).
pub const SESSION_KEY_TTL_SECS: u64 = 3 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserView {
    pub id: String,
    pub phone_bound: bool,
    /// Masked (`138****8000`).
    pub phone: Option<String>,
    pub created: bool,
}

impl UserView {
    pub fn new(user_id: &UserId, phone: Option<&PhoneNumber>, created: bool) -> Self {
        Self {
            id: user_id.as_str().to_owned(),
            phone_bound: phone.is_some(),
            phone: phone.map(PhoneNumber::masked),
            created,
        }
    }
}

/// A freshly issued pair (the answer's shape is `http::answers::tokens`).
#[derive(Debug, Clone)]
pub struct SessionTokens {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub refresh_expires_in: u64,
    pub user: UserView,
}

impl SessionTokens {
    /// The answer for a freshly issued pair.
    pub fn issued(
        access_token: String,
        refresh_token: String,
        refresh_expires_in: u64,
        settings: &crate::config::TokenSettings,
        user: UserView,
    ) -> Self {
        Self {
            access_token,
            expires_in: settings.access_ttl_secs,
            refresh_token,
            refresh_expires_in,
            user,
        }
    }
}

/// When a refresh family used at `now` expires: `REFRESH_TOKEN_TTL` after this use, but never
/// later than `REFRESH_TOKEN_MAX_LIFETIME` after the login that started it.
pub fn refresh_expiry(settings: &crate::config::TokenSettings, created_at: u64, now: u64) -> u64 {
    let sliding = now.saturating_add(settings.refresh_ttl_secs);
    let absolute = created_at.saturating_add(settings.refresh_max_lifetime_secs);
    sliding.min(absolute)
}

/// Who gets the session.
pub struct SessionFor<'a> {
    pub user_id: &'a UserId,
    pub appid: &'a AppId,
    pub openid: &'a OpenId,
    pub phone: Option<&'a PhoneNumber>,
    pub created: bool,
    /// The session starts right after the cut-off returned by `end_all_sessions` ("every other
    /// session ends"): it is dated one second past it, so the cut-off spares only it.
    pub after_cutoff: Option<u64>,
}

impl<S: Sessions + KeyDirectory, W, X: SecretSource> Backend<S, W, X> {
    /// "Every other session ends" after a credential change: the user's sessions are cut off,
    /// the caller's family revoked, and the caller's new session dated past the cut.
    pub(super) async fn restart_after_cut(
        &self,
        caller: &crate::principal::SessionPrincipal,
        phone: &PhoneNumber,
    ) -> AppResult<SessionTokens> {
        let now = self.clock.now();
        let cut = self.store.end_all_sessions(&caller.user_id, now).await?;
        self.store.revoke_family(&caller.session).await?;
        self.start_session(
            SessionFor {
                user_id: &caller.user_id,
                appid: &caller.appid,
                openid: &caller.openid,
                phone: Some(phone),
                created: false,
                after_cutoff: Some(cut.unwrap_or(now)),
            },
            None,
        )
        .await
    }

    /// A new refresh family + access token; stores WeChat's `session_key`, when this session
    /// comes with a new one, in the same transaction.
    pub async fn start_session(
        &self,
        who: SessionFor<'_>,
        session_key: Option<&crate::domain::SessionKey>,
    ) -> AppResult<SessionTokens> {
        let keys = self.signing_keys().await?;
        let now = self.clock.now();
        let settings = &self.issuer.settings;
        let family_id = refresh::new_family_id();
        let created_at = who.after_cutoff.map_or(now, |cut| now.max(cut + 1));
        let expires_at = refresh_expiry(settings, created_at, now);
        let minted = refresh::mint(&family_id);
        let family = Family {
            id: family_id.clone(),
            user_id: who.user_id.clone(),
            appid: who.appid.clone(),
            openid: who.openid.clone(),
            secret_hash: minted.secret_hash.clone(),
            created_at,
            expires_at,
            revoked: false,
            retired: Vec::new(),
        };
        let key = session_key.map(|sk| SessionKeyRecord {
            appid: who.appid.clone(),
            openid: who.openid.clone(),
            session_key: sk.clone(),
            expires_at: now + SESSION_KEY_TTL_SECS,
        });
        let access_token = self.issuer.access_token(
            &keys,
            &AccessSubject {
                user_id: who.user_id,
                appid: who.appid,
                openid: who.openid,
                family_id: &family_id,
                phone_bound: who.phone.is_some(),
            },
            now,
        )?;
        self.store.start_session(key.as_ref(), &family).await?;
        Ok(SessionTokens::issued(
            access_token,
            minted.token,
            expires_at.saturating_sub(now),
            settings,
            UserView::new(who.user_id, who.phone, who.created),
        ))
    }
}
