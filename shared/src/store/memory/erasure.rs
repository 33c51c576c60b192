//! `Erasure` in memory: the user and everything that names it leave their maps under the one
//! lock, after every condition has been checked (nothing is removed when one fails).

use super::InMemoryStore;
use crate::store::{EraseOutcome, Erasure, ErasurePlan, StoreResult};

impl Erasure for InMemoryStore {
    async fn erase_user(&self, plan: ErasurePlan<'_>) -> StoreResult<EraseOutcome> {
        let mut t = self.lock()?;
        let user = plan.user;
        let names_user =
            |owner: Option<&crate::domain::UserId>| owner.is_none_or(|o| *o == user.id);
        let unchanged = t
            .users
            .get(&user.id)
            .is_some_and(|current| current.version == user.version);
        let links_name_user = user
            .openids
            .iter()
            .all(|(a, o)| names_user(t.links.get(&(a.clone(), o.clone())).map(|link| &link.0)));
        let unionids_name_user = plan.unionids.iter().all(|u| names_user(t.unionids.get(u)));
        let phone_names_user = user
            .phone
            .as_ref()
            .is_none_or(|p| names_user(t.phones.get(p)));
        if !(unchanged && links_name_user && unionids_name_user && phone_names_user) {
            return Ok(EraseOutcome::Changed);
        }
        t.users.remove(&user.id);
        for (appid, openid) in &user.openids {
            let key = (appid.clone(), openid.clone());
            t.links.remove(&key);
            t.session_keys.remove(&key);
        }
        for unionid in plan.unionids {
            t.unionids.remove(unionid);
        }
        if let Some(phone) = &user.phone {
            t.phones.remove(phone);
            t.sms_codes.remove(phone);
        }
        if let Some(family_id) = plan.family_id {
            t.families.remove(family_id);
        }
        Ok(EraseOutcome::Erased)
    }
}
