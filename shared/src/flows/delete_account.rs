//! Account deletion (`DELETE /auth/me`; the admin tool's `delete`): the user and every item
//! that points at them leave in one atomic erasure, so a failure at any step leaves the whole
//! account or none of it. The erasure is conditioned on the user as read: a bind or link racing
//! it makes it read again (a bounded number of times). Deleting a user that is gone succeeds.
//!
//! What is not erased here, and why (the README lists it): other sessions' refresh families
//! (not indexed by user; with the user gone no route accepts them, and each ends by its expiry),
//! and the counters and code digests that expire within days.

use super::live_session::live_session;
use super::session::SessionService;
use crate::domain::{UnionId, UserId};
use crate::error::{AppError, AppResult};
use crate::events::{self, AccountEvent};
use crate::metrics::{self, Counter};
use crate::principal::SessionPrincipal;
use crate::store::{EraseOutcome, Erasure, ErasurePlan, Identities, Sessions, User};
use crate::tokens::KeyDirectory;

/// An erasure lost to a concurrent change is re-decided at most this often.
const MAX_ERASE_ATTEMPTS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    /// Nothing to delete: the user was deleted before (a retried request).
    AlreadyGone,
}

/// Erases `user_id` and everything pointing at it; `family_id` (the caller's own refresh
/// family) goes with it.
pub async fn erase_user<S: Identities + Erasure>(
    store: &S,
    user_id: &UserId,
    family_id: Option<&str>,
    now: u64,
) -> AppResult<Deletion> {
    for _ in 0..MAX_ERASE_ATTEMPTS {
        let Some(user) = store.get_user(user_id).await? else {
            return Ok(Deletion::AlreadyGone);
        };
        let unionids = unionids_naming(store, &user, now).await?;
        let plan = ErasurePlan {
            user: &user,
            unionids: &unionids,
            family_id,
        };
        if store.erase_user(plan).await? == EraseOutcome::Erased {
            tracing::info!(user_id = %user.id, "user deleted");
            metrics::count(Counter::UsersDeleted);
            events::publish(AccountEvent::UserDeleted { user_id: &user.id }).await;
            return Ok(Deletion::Deleted);
        }
    }
    Err(AppError::ServiceUnavailable(
        "account deletion contention did not settle".into(),
    ))
}

/// The unionid links that name `user`: the unionids its openid links recorded, each kept only
/// when its link names this user (an earlier link to another user wins, and stays).
async fn unionids_naming<S: Identities>(
    store: &S,
    user: &User,
    now: u64,
) -> AppResult<Vec<UnionId>> {
    let mut found: Vec<UnionId> = Vec::new();
    for (appid, openid) in &user.openids {
        // Without a unionid to record this is a read.
        let Some(unionid) = store
            .touch_openid_link(appid, openid, None, now)
            .await?
            .and_then(|link| link.unionid)
        else {
            continue;
        };
        if !found.contains(&unionid)
            && store.find_unionid_user(&unionid).await?.as_ref() == Some(&user.id)
        {
            found.push(unionid);
        }
    }
    Ok(found)
}

impl<S: Identities + Sessions + Erasure + KeyDirectory + Clone> SessionService<S> {
    /// `DELETE /auth/me`: the caller's account, when the token's session is live. A token whose
    /// user is already gone gets the same answer (the request was retried).
    pub async fn delete_account(&self, caller: &SessionPrincipal) -> AppResult<Deletion> {
        let now = self.clock.now();
        match live_session(&self.store, caller, now).await {
            Ok(_) => {}
            Err(AppError::Unauthorized)
                if self.store.get_user(&caller.user_id).await?.is_none() =>
            {
                return Ok(Deletion::AlreadyGone);
            }
            Err(e) => return Err(e),
        }
        erase_user(&self.store, &caller.user_id, Some(&caller.session), now).await
    }
}
