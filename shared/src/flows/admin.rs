//! The operator's actions (`wxlogin-admin`): find a user, disable or enable one, end every
//! session of one, delete, export, count. Over the same ports as the functions; deletion and
//! export are the users' own flows (`delete_account::erase_user`, `export::export_user`).
//! What an operator sees of a user is masked (`UserSummary`), except in an export, which is
//! the user's own data handed over on their request.

use crate::clock::rfc3339;
use crate::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};
use crate::error::{AppError, AppResult};
use crate::store::{AccountStatus, Identities, PhoneOwnership, Sessions, StatusOutcome, User};
use serde::Serialize;

/// A status change lost to a concurrent change is re-decided at most this often.
const MAX_STATUS_ATTEMPTS: usize = 4;

/// How an operator names a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    User(UserId),
    OpenId(AppId, OpenId),
    UnionId(UnionId),
    Phone(PhoneNumber),
}

pub async fn find_user<S: Identities + PhoneOwnership>(
    store: &S,
    lookup: &Lookup,
    now: u64,
) -> AppResult<Option<User>> {
    let user_id = match lookup {
        Lookup::User(id) => Some(id.clone()),
        Lookup::OpenId(appid, openid) => store
            .touch_openid_link(appid, openid, None, now)
            .await?
            .map(|link| link.user_id),
        Lookup::UnionId(unionid) => store.find_unionid_user(unionid).await?,
        Lookup::Phone(phone) => store.phone_owner(phone).await?,
    };
    match user_id {
        Some(id) => Ok(store.get_user(&id).await?),
        None => Ok(None),
    }
}

/// Disables or enables `user_id`; the user as it is now, `None` when there is no such user.
/// Disabling ends every session (`live_session::family_is_live`); enabling brings none back.
pub async fn set_disabled<S: Identities + AccountStatus>(
    store: &S,
    user_id: &UserId,
    disabled: bool,
) -> AppResult<Option<User>> {
    for _ in 0..MAX_STATUS_ATTEMPTS {
        let Some(user) = store.get_user(user_id).await? else {
            return Ok(None);
        };
        if store.set_disabled(&user, disabled).await? == StatusOutcome::Set {
            tracing::info!(user_id = %user.id, disabled, "account status set by an operator");
            return Ok(store.get_user(user_id).await?);
        }
    }
    Err(AppError::ServiceUnavailable(
        "account status contention did not settle".into(),
    ))
}

/// Ends every session of `user_id` started until `now`; whether the user exists.
pub async fn force_logout<S: Identities + Sessions>(
    store: &S,
    user_id: &UserId,
    now: u64,
) -> AppResult<bool> {
    if store.get_user(user_id).await?.is_none() {
        return Ok(false);
    }
    store.end_all_sessions(user_id, now).await?;
    tracing::info!(user_id = %user_id, "every session ended by an operator");
    Ok(true)
}

/// What an operator is shown of a user: ids and states, the phone and openids masked.
#[derive(Debug, Serialize)]
pub struct UserSummary {
    pub id: String,
    pub created_at: String,
    pub phone: Option<String>,
    pub disabled: bool,
    pub password_set: bool,
    pub sessions_valid_after: Option<String>,
    pub wechat: Vec<MaskedIdentity>,
}

#[derive(Debug, Serialize)]
pub struct MaskedIdentity {
    pub appid: String,
    pub openid: String,
}

impl UserSummary {
    pub fn of(user: &User) -> Self {
        Self {
            id: user.id.as_str().to_owned(),
            created_at: rfc3339(user.created_at),
            phone: user.phone.as_ref().map(PhoneNumber::masked),
            disabled: user.disabled,
            password_set: user.password_hash.is_some(),
            sessions_valid_after: (user.sessions_valid_after > 0)
                .then(|| rfc3339(user.sessions_valid_after)),
            wechat: user
                .openids
                .iter()
                .map(|(appid, openid)| MaskedIdentity {
                    appid: appid.as_str().to_owned(),
                    openid: mask_id(openid.as_str()),
                })
                .collect(),
        }
    }
}

/// The first 4 and last 2 characters of an identifier, enough to tell two apart.
pub fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "****".to_owned();
    }
    let head: String = chars.iter().take(4).collect();
    let tail: String = chars.iter().skip(chars.len() - 2).collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_masked_to_their_ends() {
        assert_eq!(mask_id("o6_bmjrPTlm6_2sgVt7hMZOPfL2M"), "o6_b****2M");
        assert_eq!(mask_id("short"), "****");
    }
}
