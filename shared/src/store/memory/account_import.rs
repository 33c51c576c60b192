//! `AccountImport` in memory: each account under the one lock — every key checked, then the
//! missing items inserted (or, for an unchanged imported user meeting another user's key,
//! everything naming it removed), so the outcomes match DynamoDB's ordered puts and undo.

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

    fn insert_account_item(&mut self, account: &NewAccount, key: &AccountKey) {
        let user = &account.user;
        match key {
            AccountKey::User(id) => {
                self.users.insert(id.clone(), user.clone());
            }
            AccountKey::OpenId(a, o) => {
                let link = (user.id.clone(), account.unionid.clone(), user.phone.clone());
                self.links.insert((a.clone(), o.clone()), link);
            }
            AccountKey::UnionId(u) => {
                self.unionids.insert(u.clone(), user.id.clone());
            }
            AccountKey::Phone(p) => {
                self.phones.insert(p.clone(), user.id.clone());
            }
        }
    }

    fn remove_account_item(&mut self, key: &AccountKey) {
        match key {
            AccountKey::User(id) => {
                self.users.remove(id);
            }
            AccountKey::OpenId(a, o) => {
                self.links.remove(&(a.clone(), o.clone()));
            }
            AccountKey::UnionId(u) => {
                self.unionids.remove(u);
            }
            AccountKey::Phone(p) => {
                self.phones.remove(p);
            }
        }
    }

    fn create_account(&mut self, account: &NewAccount) -> CreateAccountOutcome {
        let id = &account.user.id;
        if let Some(existing) = self.users.get(id)
            && existing.version != 1
        {
            return CreateAccountOutcome::AlreadyPresent;
        }
        let keys = account.keys();
        if let Some((key, holder)) = keys.iter().find_map(|k| {
            self.holder_of(k)
                .filter(|h| h != id)
                .map(|h| (k.clone(), h))
        }) {
            for k in keys.iter().rev() {
                if self.holder_of(k).as_ref() == Some(id) {
                    self.remove_account_item(k);
                }
            }
            return CreateAccountOutcome::Conflict { key, holder };
        }
        let missing: Vec<&AccountKey> = keys
            .iter()
            .filter(|k| self.holder_of(k).is_none())
            .collect();
        if missing.is_empty() {
            return CreateAccountOutcome::AlreadyPresent;
        }
        for k in missing {
            self.insert_account_item(account, k);
        }
        CreateAccountOutcome::Created
    }
}

impl AccountImport for InMemoryStore {
    async fn create_accounts(
        &self,
        accounts: &[NewAccount],
    ) -> StoreResult<Vec<CreateAccountOutcome>> {
        let mut t = self.lock()?;
        Ok(accounts.iter().map(|a| t.create_account(a)).collect())
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
