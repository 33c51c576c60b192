//! `POST /auth/password/reset`: a forgotten password replaced with an SMS proof of the bound
//! phone, no token needed. The new password must pass the policy before the code is spent; an
//! unproved code, an unknown phone and a wrong code get the answers they get everywhere else;
//! a disabled account is refused after the proof. Every session of the user ends: the holder
//! of the phone logs in again with the new password.

use super::backend::Backend;
use super::live_session::refuse_disabled;
use crate::domain::PhoneNumber;
use crate::error::{AppError, AppResult};
use crate::password;
use crate::secrets::SecretSource;
use crate::store::{Counters, Identities, PhoneOwnership, Sessions, SmsCodes};

impl<S, W, X: SecretSource> Backend<S, W, X>
where
    S: Identities + PhoneOwnership + Sessions + SmsCodes + Counters,
{
    pub async fn reset_password(
        &self,
        phone: &PhoneNumber,
        sms_code: &str,
        new: &str,
    ) -> AppResult<()> {
        // The policy first: a refused password does not use up the code.
        password::check_strength(new, phone.e164().trim_start_matches('+'))
            .map_err(|w| AppError::WeakPassword(w.message()))?;
        self.verify_sms_code(phone, sms_code).await?;
        // The caller holds the phone now; a phone without an account is the login's answer.
        let owner = self
            .store
            .phone_owner(phone)
            .await?
            .ok_or(AppError::InvalidCredentials)?;
        let user = self
            .store
            .get_user(&owner)
            .await?
            .ok_or(AppError::InvalidCredentials)?;
        refuse_disabled(user.disabled)?;
        let new = new.to_owned();
        let hash = tokio::task::spawn_blocking(move || password::hash(&new))
            .await
            .map_err(|e| AppError::internal_from("password worker", e))?
            .map_err(AppError::internal)?;
        self.store.set_password_hash(&user.id, &hash).await?;
        self.store
            .end_all_sessions(&user.id, self.clock.now())
            .await?;
        tracing::info!(user_id = %user.id, "password reset by SMS; every session ended");
        Ok(())
    }
}
