//! Phone + password. Setting a password needs an account with a verified phone; changing it
//! needs the old one and ends every other session. Login answers the same for an unknown phone
//! and a wrong password (same status, same body, same Argon2 work); failures are locked out per
//! phone and source address, with a per-phone backstop (`password_guard`). A login carrying a
//! bind token links that openid under the account rules of DESIGN §3 (`binding`).

use super::backend::Backend;
use super::session_tokens::{SessionFor, SessionTokens};
use crate::domain::{AppId, OpenId, PhoneNumber};
use crate::error::{AppError, AppResult};
use crate::password;
use crate::principal::{Principal, SessionPrincipal};
use crate::secrets::SecretSource;
use crate::store::User;
use crate::store::{Counters, Identities, PhoneOwnership, Sessions};
use crate::tokens::KeyDirectory;

use super::password_guard::Attempt;
pub use super::password_guard::{LOCK_WINDOW_SECS, MAX_FAILURES_PER_SOURCE as MAX_FAILURES};

/// Runs Argon2 off the async runtime.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::internal_from("password worker", e))
}

async fn verify(password: &str, stored: Option<String>) -> AppResult<bool> {
    let password = password.to_owned();
    blocking(move || password::verify(&password, stored.as_deref())).await
}

/// The WeChat identity a password login arrives with.
pub enum LoginVia {
    /// A bind token (SIGNUP_MODE=phone): this openid is linked to the phone's account.
    Bind(Principal),
    /// An access token: its appid names the app.
    Access(SessionPrincipal),
    /// Nothing: the request's `appid` (or the only app) names the app.
    Nothing(Option<String>),
}

impl<S: Identities + PhoneOwnership + Sessions + Counters + KeyDirectory, W, X: SecretSource>
    Backend<S, W, X>
{
    pub async fn set_password(
        &self,
        caller: &SessionPrincipal,
        new: &str,
        old: Option<&str>,
        source_ip: Option<&str>,
    ) -> AppResult<SessionTokens> {
        let user = self
            .store
            .get_user(&caller.user_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let phone = user.phone.clone().ok_or(AppError::PhoneRequired)?;
        if user.password_hash.is_some() {
            let old = old.ok_or(AppError::InvalidCredentials)?;
            // Guessing the old password meets the same lock as guessing at login.
            let now = self.clock.now();
            let attempt = Attempt::new(&phone, source_ip);
            attempt.begin(&self.store, now).await?;
            if !verify(old, user.password_hash.clone()).await? {
                return Err(AppError::InvalidCredentials);
            }
            attempt.succeeded(&self.store, now).await?;
        }
        password::check_strength(new, phone.e164().trim_start_matches('+'))
            .map_err(|w| AppError::WeakPassword(w.message()))?;
        let new = new.to_owned();
        let hash = blocking(move || password::hash(&new))
            .await?
            .map_err(AppError::internal)?;
        self.store.set_password_hash(&user.id, &hash).await?;
        tracing::info!(user_id = %user.id, "password set; other sessions ended");
        self.restart_after_cut(caller, &phone).await
    }

    pub async fn password_login(
        &self,
        phone: &PhoneNumber,
        password: &str,
        via: LoginVia,
        source_ip: Option<&str>,
    ) -> AppResult<SessionTokens> {
        let now = self.clock.now();
        let attempt = Attempt::new(phone, source_ip);
        attempt.begin(&self.store, now).await?;
        let user = match self.store.phone_owner(phone).await? {
            Some(owner) => self.store.get_user(&owner).await?,
            None => None,
        };
        if !verify(
            password,
            user.as_ref().and_then(|u| u.password_hash.clone()),
        )
        .await?
        {
            tracing::info!(phone = %phone, "password login failed");
            return Err(AppError::InvalidCredentials);
        }
        attempt.succeeded(&self.store, now).await?;
        let user = user.ok_or(AppError::InvalidCredentials)?;
        // Only after the password proved itself: the status is no oracle for guessing.
        super::live_session::refuse_disabled(user.disabled)?;
        let (appid, openid) = self.identity_for(&user, phone, via).await?;
        self.start_session(
            SessionFor {
                user_id: &user.id,
                appid: &appid,
                openid: &openid,
                phone: Some(phone),
                created: false,
                after_cutoff: None,
            },
            None,
        )
        .await
    }

    /// Which (app, openid) the tokens name; links a bind token's openid first.
    async fn identity_for(
        &self,
        user: &User,
        phone: &PhoneNumber,
        via: LoginVia,
    ) -> AppResult<(AppId, OpenId)> {
        let appid = match via {
            LoginVia::Bind(claimant) => {
                let bound = self.bind_verified_phone(&claimant, phone).await?;
                if bound.user_id != user.id {
                    return Err(AppError::PhoneTaken);
                }
                return Ok((claimant.appid().clone(), claimant.openid().clone()));
            }
            LoginVia::Access(caller) => {
                if caller.user_id == user.id {
                    return Ok((caller.appid, caller.openid));
                }
                caller.appid
            }
            LoginVia::Nothing(requested) => self.apps.get().await?.select(requested.as_deref())?.0,
        };
        match user.openids.get(&appid) {
            Some(openid) => Ok((appid, openid.clone())),
            None => Err(AppError::InvalidRequest(
                "this account has not used this mini program yet: log in with wx.login first and send its bind token",
            )),
        }
    }
}
