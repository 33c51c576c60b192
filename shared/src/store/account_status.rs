//! The `AccountStatus` port: an operator disabling or enabling a user. The flag is written to
//! the user item and to each of its openid links at once, so a returning login (which reads
//! only the link) sees it without reading the user.

use super::{StatusOutcome, StoreResult, User};
use std::future::Future;

pub trait AccountStatus: Send + Sync {
    /// Sets `disabled` on `user` as read (version unchanged, bumped) and on every openid link
    /// of it, atomically; `Changed` when the user changed since read or is gone.
    fn set_disabled(
        &self,
        user: &User,
        disabled: bool,
    ) -> impl Future<Output = StoreResult<StatusOutcome>> + Send;
}
