//! The `Sessions` port: WeChat session_keys, refresh-token families, and "log out
//! everywhere". It never creates users or links.

use super::{Family, RotateOutcome, SessionKeyRecord, StoreResult};
use crate::domain::{AppId, OpenId, UserId};
use std::future::Future;

pub trait Sessions: Send + Sync {
    /// Creates a refresh family and, when given, stores the session_key; `Ok` only when both
    /// are written (no transaction: either one alone is harmless, and no token names it).
    fn start_session(
        &self,
        key: Option<&SessionKeyRecord>,
        family: &Family,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn put_session_key(
        &self,
        key: &SessionKeyRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn get_session_key(
        &self,
        appid: &AppId,
        openid: &OpenId,
        now: u64,
    ) -> impl Future<Output = StoreResult<Option<SessionKeyRecord>>> + Send;

    fn get_family(
        &self,
        family_id: &str,
        now: u64,
    ) -> impl Future<Output = StoreResult<Option<Family>>> + Send;

    /// Replaces the family's secret hash if it is still `old_hash` and the family is live.
    fn rotate_family(
        &self,
        family_id: &str,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: u64,
        now: u64,
    ) -> impl Future<Output = StoreResult<RotateOutcome>> + Send;

    fn revoke_family(&self, family_id: &str) -> impl Future<Output = StoreResult<()>> + Send;

    /// "Log out everywhere": refresh families created at or before the returned cut-off stop
    /// working. The cut-off is `now`, or one second past the current one when that is already
    /// `now` or later, so a second cut in one second still ends a session dated after the
    /// first (`SessionFor::after_cutoff`). `None` when there is no such user.
    fn end_all_sessions(
        &self,
        user_id: &UserId,
        now: u64,
    ) -> impl Future<Output = StoreResult<Option<u64>>> + Send;
}
