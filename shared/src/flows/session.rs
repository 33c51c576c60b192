//! The session function's flows: log out (one refresh family, or every session of the user),
//! the caller's profile, and the public keys. Needs the store and the access gate only: no
//! WeChat, no secrets.

use crate::clock::{SharedClock, rfc3339};
use crate::config::TokenSettings;
use crate::crypto::constant_time_eq;
use crate::error::{AppError, AppResult};
use crate::gate::AccessGate;
use crate::principal::SessionPrincipal;
use crate::store::{Identities, Sessions};
use crate::tokens::KeyDirectory;
use crate::tokens::refresh;

pub struct SessionService<S> {
    pub store: S,
    pub gate: AccessGate<S>,
    pub clock: SharedClock,
}

/// The caller's account as `GET /auth/me` shows it (shape: `http::answers::profile`).
#[derive(Debug)]
pub struct Profile {
    pub id: String,
    pub appid: String,
    pub phone_bound: bool,
    /// Masked.
    pub phone: Option<String>,
    pub nickname: Option<String>,
    pub avatar_url: Option<String>,
    pub created_at: String,
}

/// How the caller of logout proved the session.
pub enum LogoutProof<'a> {
    Access(&'a str),
    Refresh(&'a str),
}

impl<S: Identities + Sessions + KeyDirectory + Clone> SessionService<S> {
    pub async fn new(store: S, settings: &TokenSettings, clock: SharedClock) -> AppResult<Self> {
        let gate = AccessGate::load(store.clone(), settings, clock.clone()).await?;
        Ok(Self { store, gate, clock })
    }

    /// Verifies an access token (every refusal is 401 UNAUTHORIZED).
    pub async fn authenticate(&self, token: Option<&str>) -> AppResult<SessionPrincipal> {
        let token = token.ok_or(AppError::Unauthorized)?;
        self.gate
            .authenticate(token)
            .await
            .map_err(|_| AppError::Unauthorized)
    }

    /// Revokes the session's refresh family at once; with `all`, every refresh family of the
    /// user created until now. Access tokens already issued stay valid until they expire.
    pub async fn logout(&self, proof: LogoutProof<'_>, all: bool) -> AppResult<()> {
        let (family_id, user_id) = match proof {
            LogoutProof::Access(token) => {
                let caller = self.authenticate(Some(token)).await?;
                (caller.session, caller.user_id)
            }
            LogoutProof::Refresh(token) => {
                let presented = refresh::parse(token).ok_or(AppError::RefreshRevoked)?;
                let family = self
                    .store
                    .get_family(&presented.family_id, self.clock.now())
                    .await?
                    .filter(|f| {
                        !f.revoked
                            && constant_time_eq(
                                f.secret_hash.as_bytes(),
                                presented.secret_hash.as_bytes(),
                            )
                    })
                    .ok_or(AppError::RefreshRevoked)?;
                (family.id, family.user_id)
            }
        };
        self.store.revoke_family(&family_id).await?;
        if all {
            self.store
                .end_all_sessions(&user_id, self.clock.now())
                .await?;
        }
        tracing::info!(user_id = %user_id, all, "logged out");
        Ok(())
    }

    pub async fn profile(&self, caller: &SessionPrincipal) -> AppResult<Profile> {
        let user = self
            .store
            .get_user(&caller.user_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        Ok(Profile {
            id: user.id.as_str().to_owned(),
            appid: caller.appid.as_str().to_owned(),
            phone_bound: user.phone.is_some(),
            phone: user.phone.as_ref().map(|p| p.masked()),
            nickname: user.nickname.clone(),
            avatar_url: user.avatar_url.clone(),
            created_at: rfc3339(user.created_at),
        })
    }
}
