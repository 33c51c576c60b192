//! The `Erasure` port: removing a user and every item that points at them, in one atomic write
//! (account deletion, PIPL's right to erasure). It decides nothing: the flow reads the user and
//! its unionid links first and hands over what to remove.

use super::{StoreResult, User};
use crate::domain::UnionId;
use std::future::Future;

/// What one erasure removes, as the flow read it.
#[derive(Debug, Clone, Copy)]
pub struct ErasurePlan<'a> {
    /// The user as read: erased only while its `version` is unchanged.
    pub user: &'a User,
    /// The unionid links that named this user when read.
    pub unionids: &'a [UnionId],
    /// A refresh family to remove with it (the caller's own session), if any.
    pub family_id: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EraseOutcome {
    Erased,
    /// The user changed since it was read (a bind or a link), is gone, or a pointer moved:
    /// read again.
    Changed,
}

pub trait Erasure: Send + Sync {
    /// Deletes, all or nothing: the user item (version unchanged since read); each of its
    /// openid links, the listed unionid links and its phone's ownership item, each only while
    /// it names this user (or is already gone); the session_keys of its openids, the SMS code
    /// of its phone and `family_id`'s refresh family.
    fn erase_user(
        &self,
        plan: ErasurePlan<'_>,
    ) -> impl Future<Output = StoreResult<EraseOutcome>> + Send;
}
