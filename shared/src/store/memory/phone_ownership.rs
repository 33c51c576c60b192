//! `PhoneOwnership` in memory: the phone → owner map is the uniqueness guard; a bind updates
//! it, the user and the user's openid links under the one lock.

use super::{InMemoryStore, Tables};
use crate::domain::{AppId, OpenId, PhoneNumber, UserId};
use crate::store::{BindOutcome, PhoneOwnership, StoreResult, User};

impl PhoneOwnership for InMemoryStore {
    async fn phone_owner(&self, phone: &PhoneNumber) -> StoreResult<Option<UserId>> {
        Ok(self.lock()?.phones.get(phone).cloned())
    }

    async fn bind_phone(&self, user: &User, phone: &PhoneNumber) -> StoreResult<BindOutcome> {
        let mut t = self.lock()?;
        if t.phones.get(phone).is_some_and(|owner| *owner != user.id) {
            return Ok(BindOutcome::PhoneTaken);
        }
        let Some(current) = t.users.get(&user.id) else {
            return Ok(BindOutcome::UserChanged);
        };
        if current.version != user.version || current.phone.is_some() {
            return Ok(BindOutcome::UserChanged);
        }
        t.give_phone(&user.id, phone);
        Ok(BindOutcome::Bound)
    }

    async fn change_phone(&self, user: &User, new: &PhoneNumber) -> StoreResult<BindOutcome> {
        let mut t = self.lock()?;
        if t.phones.contains_key(new) {
            return Ok(BindOutcome::PhoneTaken);
        }
        let Some(current) = t.users.get(&user.id) else {
            return Ok(BindOutcome::UserChanged);
        };
        let Some(old) = current.phone.clone() else {
            return Ok(BindOutcome::UserChanged);
        };
        if current.version != user.version || Some(&old) != user.phone.as_ref() {
            return Ok(BindOutcome::UserChanged);
        }
        if t.phones.get(&old) == Some(&user.id) {
            t.phones.remove(&old);
        }
        t.give_phone(&user.id, new);
        Ok(BindOutcome::Bound)
    }
}

impl Tables {
    /// Makes `phone` the user's (checked by the caller): the ownership item, the user item
    /// (version bumped) and every openid link of the user.
    fn give_phone(&mut self, user_id: &UserId, phone: &PhoneNumber) {
        let Some(user) = self.users.get_mut(user_id) else {
            return;
        };
        user.phone = Some(phone.clone());
        user.version += 1;
        let openids: Vec<(AppId, OpenId)> = user
            .openids
            .iter()
            .map(|(a, o)| (a.clone(), o.clone()))
            .collect();
        self.phones.insert(phone.clone(), user_id.clone());
        for key in openids {
            if let Some(link) = self.links.get_mut(&key)
                && link.0 == *user_id
            {
                link.2 = Some(phone.clone());
            }
        }
    }
}
