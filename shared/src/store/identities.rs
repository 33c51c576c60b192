//! The `Identities` port: users and the openid/unionid links that find them (who someone is,
//! and the profile and password on their user item). No sessions, no phone ownership items.

use super::{CreateUserOutcome, LinkOutcome, LinkedUser, StoreResult, User};
use crate::domain::{AppId, OpenId, UnionId, UserId};
use std::future::Future;

pub trait Identities: Send + Sync {
    /// Finds the user an openid is linked to (a strongly consistent read), and records a
    /// unionid the link did not have (a write only then; never erasing one).
    fn touch_openid_link(
        &self,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
        now: u64,
    ) -> impl Future<Output = StoreResult<Option<LinkedUser>>> + Send;

    /// The user a unionid link names. A link naming a user that does not exist (left by a
    /// first login that undid itself) is removed and reported as absent.
    fn find_unionid_user(
        &self,
        unionid: &UnionId,
    ) -> impl Future<Output = StoreResult<Option<UserId>>> + Send;

    /// Links a unionid to a user unless it is already linked (to anyone).
    fn put_unionid_link_if_absent(
        &self,
        unionid: &UnionId,
        user_id: &UserId,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn get_user(&self, user_id: &UserId) -> impl Future<Output = StoreResult<Option<User>>> + Send;

    /// Creates `user` with its first openid link (and unionid link, and the ownership item of
    /// its phone when it has one), atomically.
    fn create_user(
        &self,
        user: &User,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
    ) -> impl Future<Output = StoreResult<CreateUserOutcome>> + Send;

    /// Links an openid to an existing user as read (`user`), atomically: the link is created
    /// (recording `unionid`), the user gains the openid for that app, and the user's phone is
    /// unchanged since read. The unionid link item is the caller's business.
    fn link_openid(
        &self,
        user: &User,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
        now: u64,
    ) -> impl Future<Output = StoreResult<LinkOutcome>> + Send;

    fn set_password_hash(
        &self,
        user_id: &UserId,
        hash: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Sets the given profile fields (others unchanged).
    fn set_profile(
        &self,
        user_id: &UserId,
        nickname: Option<&str>,
        avatar_url: Option<&str>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
