//! `PhoneOwnership` in memory: the phone → owner map is the uniqueness guard; a bind updates
//! it, the user and the user's openid links under the one lock.

use super::InMemoryStore;
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
        let Some(current) = t.users.get_mut(&user.id) else {
            return Ok(BindOutcome::UserChanged);
        };
        if current.version != user.version || current.phone.is_some() {
            return Ok(BindOutcome::UserChanged);
        }
        current.phone = Some(phone.clone());
        current.version += 1;
        let openids: Vec<(AppId, OpenId)> = current
            .openids
            .iter()
            .map(|(a, o)| (a.clone(), o.clone()))
            .collect();
        t.phones.insert(phone.clone(), user.id.clone());
        for key in openids {
            if let Some(link) = t.links.get_mut(&key)
                && link.0 == user.id
            {
                link.2 = Some(phone.clone());
            }
        }
        Ok(BindOutcome::Bound)
    }

    async fn change_phone(&self, user: &User, new: &PhoneNumber) -> StoreResult<BindOutcome> {
        let mut t = self.lock()?;
        if t.phones.contains_key(new) {
            return Ok(BindOutcome::PhoneTaken);
        }
        let Some(current) = t.users.get_mut(&user.id) else {
            return Ok(BindOutcome::UserChanged);
        };
        let Some(old) = current.phone.clone() else {
            return Ok(BindOutcome::UserChanged);
        };
        if current.version != user.version || Some(&old) != user.phone.as_ref() {
            return Ok(BindOutcome::UserChanged);
        }
        current.phone = Some(new.clone());
        current.version += 1;
        let openids: Vec<(AppId, OpenId)> = current
            .openids
            .iter()
            .map(|(a, o)| (a.clone(), o.clone()))
            .collect();
        if t.phones.get(&old) == Some(&user.id) {
            t.phones.remove(&old);
        }
        t.phones.insert(new.clone(), user.id.clone());
        for key in openids {
            if let Some(link) = t.links.get_mut(&key)
                && link.0 == user.id
            {
                link.2 = Some(new.clone());
            }
        }
        Ok(BindOutcome::Bound)
    }
}
