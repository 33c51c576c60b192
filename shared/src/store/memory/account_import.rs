//! `AccountImport` in memory: each account's keys checked, then all of its items inserted,
//! under the one lock (an account is created whole or not at all).

use super::{InMemoryStore, Tables};
use crate::domain::UserId;
use crate::store::{
    AccountImport, AccountKey, CreateAccountOutcome, KeyHolder, NewAccount, StoreResult,
};

impl Tables {
    /// The user `key`'s item names, if it exists.
    fn holder_of(&self, key: &AccountKey) -> Option<UserId> {
        match key {
            AccountKey::User(id) => self.users.get(id).map(|u| u.id.clone()),
            AccountKey::OpenId(a, o) => {
                self.links.get(&(a.clone(), o.clone())).map(|l| l.0.clone())
            }
            AccountKey::UnionId(u) => self.unionids.get(u).cloned(),
            AccountKey::Phone(p) => self.phones.get(p).cloned(),
        }
    }
}

impl AccountImport for InMemoryStore {
    async fn create_accounts(
        &self,
        accounts: &[NewAccount],
    ) -> StoreResult<Vec<CreateAccountOutcome>> {
        let mut t = self.lock()?;
        let mut outcomes = Vec::with_capacity(accounts.len());
        for account in accounts {
            if account.keys().iter().any(|k| t.holder_of(k).is_some()) {
                outcomes.push(CreateAccountOutcome::Blocked);
                continue;
            }
            let user = &account.user;
            for (appid, openid) in &user.openids {
                t.links.insert(
                    (appid.clone(), openid.clone()),
                    (user.id.clone(), account.unionid.clone(), user.phone.clone()),
                );
            }
            if let Some(u) = &account.unionid {
                t.unionids.insert(u.clone(), user.id.clone());
            }
            if let Some(p) = &user.phone {
                t.phones.insert(p.clone(), user.id.clone());
            }
            t.users.insert(user.id.clone(), user.clone());
            outcomes.push(CreateAccountOutcome::Created);
        }
        Ok(outcomes)
    }

    async fn key_holders(&self, accounts: &[NewAccount]) -> StoreResult<Vec<KeyHolder>> {
        let t = self.lock()?;
        Ok(accounts
            .iter()
            .flat_map(NewAccount::keys)
            .filter_map(|key| t.holder_of(&key).map(|user_id| KeyHolder { key, user_id }))
            .collect())
    }
}
