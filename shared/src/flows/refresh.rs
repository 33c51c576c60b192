//! `POST /auth/refresh`: rotate a refresh token (DESIGN §4). A presented token that this family
//! issued earlier (its hash is among the retired ones) is a reuse: the whole family is revoked;
//! a secret the family never issued is refused without touching it. A family older than
//! the user's last "logout all" is dead.

use super::backend::Backend;
use super::session_tokens::{SessionTokens, UserView, refresh_expiry};
use crate::crypto::constant_time_eq;
use crate::error::{AppError, AppResult};
use crate::metrics::{self, Counter};
use crate::secrets::SecretSource;
use crate::store::RotateOutcome;
use crate::store::{Identities, Sessions};
use crate::tokens::KeyDirectory;
use crate::tokens::issuer::AccessSubject;
use crate::tokens::refresh;

impl<S: Sessions + Identities + KeyDirectory, W, X: SecretSource> Backend<S, W, X> {
    pub async fn refresh(&self, presented: &str) -> AppResult<SessionTokens> {
        let presented = refresh::parse(presented).ok_or(AppError::RefreshRevoked)?;
        let now = self.clock.now();
        let family = self
            .store
            .get_family(&presented.family_id, now)
            .await?
            .ok_or(AppError::RefreshRevoked)?;
        if family.revoked {
            return Err(AppError::RefreshRevoked);
        }
        if !constant_time_eq(
            family.secret_hash.as_bytes(),
            presented.secret_hash.as_bytes(),
        ) {
            // Only a token this family really issued proves a reuse; anything else (a guess
            // built from an access token's `sid`) is refused and changes nothing.
            let mark = refresh::retired_mark(&presented.secret_hash);
            if family.retired.binary_search(&mark).is_ok() {
                tracing::warn!(family = %family.id, user_id = %family.user_id, "refresh token reused; family revoked");
                metrics::count(Counter::RefreshReuse);
                self.store.revoke_family(&family.id).await?;
            } else {
                tracing::info!(family = %family.id, "refresh secret never issued in this family; refused");
            }
            return Err(AppError::RefreshRevoked);
        }
        let user = self
            .store
            .get_user(&family.user_id)
            .await?
            .ok_or(AppError::RefreshRevoked)?;
        if !super::live_session::family_is_live(&family, &user) {
            self.store.revoke_family(&family.id).await?;
            return Err(AppError::RefreshRevoked);
        }
        let settings = &self.issuer.settings;
        let expires_at = refresh_expiry(settings, family.created_at, now);
        if expires_at <= now {
            // Past the absolute lifetime (the item's own expiry normally says so first).
            return Err(AppError::RefreshRevoked);
        }
        let keys = self.signing_keys().await?;
        let minted = refresh::mint(&family.id);
        let access_token = self.issuer.access_token(
            &keys,
            &AccessSubject {
                user_id: &user.id,
                appid: &family.appid,
                openid: &family.openid,
                family_id: &family.id,
                phone_bound: user.phone.is_some(),
            },
            now,
        )?;
        let outcome = self
            .store
            .rotate_family(
                &family.id,
                &presented.secret_hash,
                &minted.secret_hash,
                expires_at,
                now,
            )
            .await?;
        if outcome == RotateOutcome::Refused {
            // A concurrent use of the same token won the rotation: treat this one as reuse.
            tracing::warn!(family = %family.id, "concurrent refresh with one token; family revoked");
            metrics::count(Counter::RefreshReuse);
            self.store.revoke_family(&family.id).await?;
            return Err(AppError::RefreshRevoked);
        }
        Ok(SessionTokens::issued(
            access_token,
            minted.token,
            expires_at - now,
            settings,
            UserView::new(&user.id, user.phone.as_ref(), false),
        ))
    }
}
