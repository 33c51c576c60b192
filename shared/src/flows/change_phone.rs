//! `POST /auth/phone/change`: replace the bound phone with a proved new one (a WeChat phone
//! code, an SMS code sent to the new number, or legacy encrypted data), under the binding
//! rules: a number another user owns is `PHONE_TAKEN`; the current number is the same answer
//! (idempotent). The move is one atomic write (`PhoneOwnership::change_phone`): the old number
//! is released, the new one owned, the user and its links carry it. Every other session ends;
//! the caller gets fresh tokens dated after the cut.

use super::backend::Backend;
use super::bind_phone::{PhoneProof, PhoneUse};
use super::live_session::refuse_disabled;
use super::session_tokens::SessionTokens;
use crate::error::{AppError, AppResult};
use crate::events::{self, AccountEvent};
use crate::principal::{Principal, SessionPrincipal};
use crate::secrets::SecretSource;
use crate::store::{BindOutcome, CodeClaims, Counters, Identities, KeyDirectory};
use crate::store::{PhoneOwnership, Sessions, SmsCodes};
use crate::wechat::WeChatApi;

/// A move lost to a concurrent change is re-decided at most this often.
const MAX_CHANGE_ATTEMPTS: usize = 4;

impl<S, W: WeChatApi, X: SecretSource> Backend<S, W, X>
where
    S: CodeClaims + SmsCodes + Counters + Sessions + Identities + PhoneOwnership + KeyDirectory,
{
    pub async fn change_phone(
        &self,
        caller: &SessionPrincipal,
        proof: PhoneProof,
        source_ip: Option<&str>,
    ) -> AppResult<SessionTokens> {
        // The route checked the session is live; a user without a phone binds one instead.
        if self.live_caller(caller).await?.phone.is_none() {
            return Err(AppError::PhoneRequired);
        }
        let claimant = Principal::User(caller.clone());
        let new = self
            .prove_phone(&claimant, proof, source_ip, PhoneUse::Change)
            .await?;
        let mut moved = false;
        for _ in 0..MAX_CHANGE_ATTEMPTS {
            let user = self
                .store
                .get_user(&caller.user_id)
                .await?
                .ok_or(AppError::Unauthorized)?;
            refuse_disabled(user.disabled)?;
            if user.phone.as_ref() == Some(&new) {
                moved = true;
                break;
            }
            if self
                .store
                .phone_owner(&new)
                .await?
                .is_some_and(|owner| owner != user.id)
            {
                return Err(AppError::PhoneTaken);
            }
            match self.store.change_phone(&user, &new).await? {
                BindOutcome::Bound => {
                    tracing::info!(user_id = %user.id, phone = %new, "phone changed; old number released");
                    events::publish(AccountEvent::PhoneBound {
                        user_id: &user.id,
                        change: true,
                    })
                    .await;
                    moved = true;
                    break;
                }
                BindOutcome::PhoneTaken => return Err(AppError::PhoneTaken),
                BindOutcome::UserChanged => continue,
            }
        }
        if !moved {
            return Err(AppError::ServiceUnavailable(
                "phone change contention did not settle".into(),
            ));
        }
        self.restart_after_cut(caller, &new).await
    }
}
