//! `GET /auth/me/export`: every personal datum wxlogin holds about the caller, for PIPL's right
//! to obtain one's data. The phone is shown whole (it is the caller's own); secrets are not:
//! the password is reported as set or not, a stored WeChat session_key only as held (with its
//! expiry), never its value. What cannot be tied to the user id (counters keyed by address or
//! number, code digests, SMS code hashes, all gone within a day) is named, not listed.

use super::live_session::live_session;
use super::session::SessionService;
use crate::clock::rfc3339;
use crate::error::AppResult;
use crate::principal::SessionPrincipal;
use crate::store::{Family, Identities, Sessions, User};
use crate::tokens::KeyDirectory;
use serde::Serialize;

/// The export, serialized as the answer.
#[derive(Debug, Serialize)]
pub struct Export {
    pub exported_at: String,
    pub user: ExportedUser,
    /// One entry per mini program the user logged in to.
    pub wechat: Vec<ExportedWeChatIdentity>,
    /// The refresh family of the token that asked (other sessions are not indexed by user;
    /// they end at `REFRESH_TOKEN_MAX_LIFETIME` at the latest, or at once with log out all).
    /// `null` in an operator's export.
    pub current_session: Option<ExportedSession>,
    /// Kept briefly, and not by user id, so not listed here.
    pub not_listed: &'static [&'static str],
}

#[derive(Debug, Serialize)]
pub struct ExportedUser {
    pub id: String,
    pub created_at: String,
    pub phone: Option<String>,
    pub nickname: Option<String>,
    pub avatar_url: Option<String>,
    pub password_set: bool,
    /// "Log out everywhere" or a password change ended every session before this.
    pub sessions_valid_after: Option<String>,
    /// Disabled by an operator.
    pub disabled: bool,
}

#[derive(Debug, Serialize)]
pub struct ExportedWeChatIdentity {
    pub appid: String,
    pub openid: String,
    pub unionid: Option<String>,
    pub session_key_held: bool,
    pub session_key_expires_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ExportedSession {
    pub created_at: String,
    pub expires_at: String,
}

pub const NOT_LISTED: &[&str] = &[
    "rate-limit counters (keyed by address, phone or number block; deleted when their window ends, at most 7 days)",
    "login and phone-code claims (SHA-256 digests of used codes; deleted after 10 minutes)",
    "SMS codes (salted hashes; deleted after 5 minutes)",
    "other sessions' refresh families (not indexed by user; each ends by its expiry)",
];

impl<S: Identities + Sessions + KeyDirectory + Clone> SessionService<S> {
    pub async fn export(&self, caller: &SessionPrincipal) -> AppResult<Export> {
        let now = self.clock.now();
        // Personal data only for a live session: a logged-out token, still a valid JWT until
        // it expires, exports nothing.
        let (family, user) = live_session(&self.store, caller, now).await?;
        export_user(&self.store, &user, Some(&family), now).await
    }
}

/// The export of `user` (read by the caller), with the refresh family that asked, if any (the
/// admin tool exports without one).
pub async fn export_user<S: Identities + Sessions>(
    store: &S,
    user: &User,
    session: Option<&Family>,
    now: u64,
) -> AppResult<Export> {
    let mut wechat = Vec::new();
    for (appid, openid) in &user.openids {
        // Without a unionid to record this is a read.
        let link = store.touch_openid_link(appid, openid, None, now).await?;
        let key = store.get_session_key(appid, openid, now).await?;
        wechat.push(ExportedWeChatIdentity {
            appid: appid.as_str().to_owned(),
            openid: openid.as_str().to_owned(),
            unionid: link.and_then(|l| l.unionid).map(|u| u.as_str().to_owned()),
            session_key_held: key.is_some(),
            session_key_expires_at: key.map(|k| rfc3339(k.expires_at)),
        });
    }
    tracing::info!(user_id = %user.id, "personal data exported");
    Ok(Export {
        exported_at: rfc3339(now),
        user: ExportedUser {
            id: user.id.as_str().to_owned(),
            created_at: rfc3339(user.created_at),
            phone: user.phone.as_ref().map(|p| p.e164().to_owned()),
            nickname: user.nickname.clone(),
            avatar_url: user.avatar_url.clone(),
            password_set: user.password_hash.is_some(),
            sessions_valid_after: (user.sessions_valid_after > 0)
                .then(|| rfc3339(user.sessions_valid_after)),
            disabled: user.disabled,
        },
        wechat,
        current_session: session.map(|family| ExportedSession {
            created_at: rfc3339(family.created_at),
            expires_at: rfc3339(family.expires_at),
        }),
        not_listed: NOT_LISTED,
    })
}
