//! `AccountStatus` in memory: the flag lives on the user (openid links read it from there
//! under the same lock).

use super::InMemoryStore;
use crate::store::{AccountStatus, StatusOutcome, StoreResult, User};

impl AccountStatus for InMemoryStore {
    async fn set_disabled(&self, user: &User, disabled: bool) -> StoreResult<StatusOutcome> {
        let mut t = self.lock()?;
        let Some(current) = t.users.get_mut(&user.id) else {
            return Ok(StatusOutcome::Changed);
        };
        if current.version != user.version {
            return Ok(StatusOutcome::Changed);
        }
        current.disabled = disabled;
        current.version += 1;
        Ok(StatusOutcome::Set)
    }
}
