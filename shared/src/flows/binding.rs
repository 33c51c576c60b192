//! The account rules of DESIGN §3 for a phone number that has been proved (by WeChat's phone
//! code, legacy encrypted data, or one of our SMS codes) — the one place they live. Every
//! decision is carried out by a conditional write or transaction in the store; a lost race
//! is re-decided from a fresh read, a bounded number of times.
//!
//! - A caller with an account (access token): phone free → bind; already theirs → same answer;
//!   owned by someone else → `PHONE_TAKEN`; they have another phone → `PHONE_ALREADY_BOUND`.
//! - A caller without one (bind token, SIGNUP_MODE=phone): phone unknown → a new user with the
//!   phone and this openid; phone known and its user has no openid for this app → link it (log
//!   in as them); its user has a different openid for this app → `PHONE_TAKEN`.

use super::backend::Backend;
use super::live_session::refuse_disabled;
use crate::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};
use crate::error::{AppError, AppResult};
use crate::events::{self, AccountEvent};
use crate::metrics::{self, Counter};
use crate::principal::Principal;
use crate::secrets::SecretSource;
use crate::store::{BindOutcome, CreateUserOutcome, LinkOutcome, User};
use crate::store::{Identities, PhoneOwnership};

const MAX_ATTEMPTS: usize = 4;

/// The account the phone now belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub user_id: UserId,
    pub phone: PhoneNumber,
    pub created: bool,
}

impl<S: Identities + PhoneOwnership, W, X: SecretSource> Backend<S, W, X> {
    pub async fn bind_verified_phone(
        &self,
        claimant: &Principal,
        phone: &PhoneNumber,
    ) -> AppResult<Bound> {
        for _ in 0..MAX_ATTEMPTS {
            let decided = match claimant {
                Principal::User(caller) => self.bind_to_user(&caller.user_id, phone).await?,
                Principal::Unlinked {
                    appid,
                    openid,
                    unionid,
                } => {
                    self.bind_unlinked(appid, openid, unionid.as_ref(), phone)
                        .await?
                }
            };
            if let Some(bound) = decided {
                tracing::info!(user_id = %bound.user_id, phone = %phone, created = bound.created, "phone bound");
                metrics::count(Counter::PhoneBinds);
                if bound.created {
                    metrics::count(Counter::NewUsers);
                    let appid = match claimant {
                        Principal::User(caller) => &caller.appid,
                        Principal::Unlinked { appid, .. } => appid,
                    };
                    events::publish(AccountEvent::UserCreated {
                        user_id: &bound.user_id,
                        appid,
                        via: "phone",
                    })
                    .await;
                }
                events::publish(AccountEvent::PhoneBound {
                    user_id: &bound.user_id,
                    change: false,
                })
                .await;
                return Ok(bound);
            }
        }
        Err(AppError::ServiceUnavailable(
            "phone binding contention did not settle".into(),
        ))
    }

    /// `None`: a concurrent change won; decide again.
    async fn bind_to_user(
        &self,
        user_id: &UserId,
        phone: &PhoneNumber,
    ) -> AppResult<Option<Bound>> {
        let user = self
            .store
            .get_user(user_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        refuse_disabled(user.disabled)?;
        let same = |created| {
            Some(Bound {
                user_id: user.id.clone(),
                phone: phone.clone(),
                created,
            })
        };
        match &user.phone {
            Some(p) if p == phone => return Ok(same(false)),
            Some(_) => return Err(AppError::PhoneAlreadyBound),
            None => {}
        }
        if self
            .store
            .phone_owner(phone)
            .await?
            .is_some_and(|owner| owner != user.id)
        {
            return Err(AppError::PhoneTaken);
        }
        match self.store.bind_phone(&user, phone).await? {
            BindOutcome::Bound => Ok(same(false)),
            BindOutcome::PhoneTaken => Err(AppError::PhoneTaken),
            BindOutcome::UserChanged => Ok(None),
        }
    }

    async fn bind_unlinked(
        &self,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
        phone: &PhoneNumber,
    ) -> AppResult<Option<Bound>> {
        let now = self.clock.now();
        // The openid may have gained a user since the bind token was issued.
        if let Some(linked) = self
            .store
            .touch_openid_link(appid, openid, unionid, now)
            .await?
        {
            return self.bind_to_user(&linked.user_id, phone).await;
        }
        match self.store.phone_owner(phone).await? {
            None => {
                let mut user = User::new(UserId::new_random(), now);
                user.phone = Some(phone.clone());
                match self
                    .store
                    .create_user(&user, appid, openid, unionid)
                    .await?
                {
                    CreateUserOutcome::Created => Ok(Some(Bound {
                        user_id: user.id,
                        phone: phone.clone(),
                        created: true,
                    })),
                    CreateUserOutcome::PhoneTaken | CreateUserOutcome::OpenIdTaken => Ok(None),
                    // Another app's login made this person's user first: join it, then apply
                    // the rules to that user.
                    CreateUserOutcome::UnionIdTaken => {
                        let Some(u) = unionid else { return Ok(None) };
                        let Some(existing) = self.store.find_unionid_user(u).await? else {
                            return Ok(None);
                        };
                        let Some(user) = self.store.get_user(&existing).await? else {
                            return Ok(None);
                        };
                        refuse_disabled(user.disabled)?;
                        match self
                            .store
                            .link_openid(&user, appid, openid, unionid, now)
                            .await?
                        {
                            LinkOutcome::Linked => self.bind_to_user(&existing, phone).await,
                            LinkOutcome::UserHasOtherOpenId => Err(AppError::PhoneTaken),
                            LinkOutcome::OpenIdTaken | LinkOutcome::UserChanged => Ok(None),
                        }
                    }
                }
            }
            Some(owner) => {
                let user = self
                    .store
                    .get_user(&owner)
                    .await?
                    .ok_or_else(|| AppError::internal("phone owner missing"))?;
                refuse_disabled(user.disabled)?;
                match user.openids.get(appid) {
                    Some(existing) if existing == openid => Ok(Some(Bound {
                        user_id: user.id,
                        phone: phone.clone(),
                        created: false,
                    })),
                    Some(_) => Err(AppError::PhoneTaken),
                    None => match self
                        .store
                        .link_openid(&user, appid, openid, unionid, now)
                        .await?
                    {
                        LinkOutcome::Linked => {
                            if let Some(u) = unionid {
                                self.store.put_unionid_link_if_absent(u, &user.id).await?;
                            }
                            Ok(Some(Bound {
                                user_id: user.id,
                                phone: phone.clone(),
                                created: false,
                            }))
                        }
                        LinkOutcome::UserHasOtherOpenId => Err(AppError::PhoneTaken),
                        LinkOutcome::OpenIdTaken | LinkOutcome::UserChanged => Ok(None),
                    },
                }
            }
        }
    }
}
