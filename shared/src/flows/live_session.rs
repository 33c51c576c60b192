//! Whether a session is still live — the one rule for it. A refresh family is live while it
//! is not revoked and was started after the user's last "log out everywhere" (or password
//! change). Refresh applies it to the family it rotates; every route that mints tokens or
//! changes credentials with an access token applies it to the token's `sid`, because a JWT
//! alone stays valid until it expires, logout or not.

use super::backend::Backend;
use crate::error::{AppError, AppResult};
use crate::principal::SessionPrincipal;
use crate::secrets::SecretSource;
use crate::store::{Family, User};
use crate::store::{Identities, Sessions};

/// The rule itself (`get_family` has already dropped expired families). A disabled user has
/// no live session: disabling ends them all, and enabling does not bring them back.
pub fn family_is_live(family: &Family, user: &User) -> bool {
    !family.revoked
        && !user.disabled
        && family.user_id == user.id
        && family.created_at > user.sessions_valid_after
}

/// The one rule for a disabled user everywhere a session would start (login, bind, password):
/// `ACCOUNT_DISABLED`.
pub fn refuse_disabled(disabled: bool) -> AppResult<()> {
    if disabled {
        return Err(AppError::AccountDisabled);
    }
    Ok(())
}

/// The session's family and its user when the session is still live; `UNAUTHORIZED` when it
/// was logged out, revoked, cut off or has expired. Two reads, made at once.
pub async fn live_session<S: Sessions + Identities>(
    store: &S,
    caller: &SessionPrincipal,
    now: u64,
) -> AppResult<(Family, User)> {
    let (family, user) = tokio::join!(
        store.get_family(&caller.session, now),
        store.get_user(&caller.user_id)
    );
    let (family, user) = (
        family?.ok_or(AppError::Unauthorized)?,
        user?.ok_or(AppError::Unauthorized)?,
    );
    if !family_is_live(&family, &user) {
        tracing::info!(user_id = %user.id, "access token of an ended session refused");
        return Err(AppError::Unauthorized);
    }
    Ok((family, user))
}

impl<S: Sessions + Identities, W, X: SecretSource> Backend<S, W, X> {
    /// The caller's user when the access token's session is still live (`live_session`).
    pub async fn live_caller(&self, caller: &SessionPrincipal) -> AppResult<User> {
        live_session(&self.store, caller, self.clock.now())
            .await
            .map(|(_, user)| user)
    }
}
