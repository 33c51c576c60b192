//! The `AccountImport` port: creating whole accounts brought from another backend (the admin
//! tool's `import`), each all or nothing and only where nothing exists yet, and saying who
//! holds the keys of an account that could not be created. It decides nothing: the import flow
//! (`flows/import.rs`) plans the accounts and classifies what this port reports.

use super::{StoreResult, User};
use crate::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};
use std::future::Future;

/// One account to create: the user item as it will be stored (its openids, phone and profile
/// filled in) and the unionid that finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub user: User,
    pub unionid: Option<UnionId>,
}

/// An item an account's creation needs absent: its user item, one of its openid links, its
/// unionid link, its phone's ownership item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountKey {
    User(UserId),
    OpenId(AppId, OpenId),
    UnionId(UnionId),
    Phone(PhoneNumber),
}

impl NewAccount {
    /// Every item this account's creation writes, the user item first.
    pub fn keys(&self) -> Vec<AccountKey> {
        let mut keys = vec![AccountKey::User(self.user.id.clone())];
        keys.extend(
            self.user
                .openids
                .iter()
                .map(|(a, o)| AccountKey::OpenId(a.clone(), o.clone())),
        );
        keys.extend(self.unionid.iter().cloned().map(AccountKey::UnionId));
        keys.extend(self.user.phone.iter().cloned().map(AccountKey::Phone));
        keys
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateAccountOutcome {
    Created,
    /// One of its items exists already: nothing of this account was written.
    Blocked,
}

/// Who holds one key: the user an item names (the user item names itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHolder {
    pub key: AccountKey,
    pub user_id: UserId,
}

pub trait AccountImport: Send + Sync {
    /// Creates each account whole — the user item, its openid links (carrying its unionid and
    /// phone), its unionid link and its phone's ownership item — each item only if absent, so
    /// an account is written entirely or not at all, and nothing existing is overwritten. An
    /// account blocked by an existing item does not stop the others. One outcome per account,
    /// in order.
    fn create_accounts(
        &self,
        accounts: &[NewAccount],
    ) -> impl Future<Output = StoreResult<Vec<CreateAccountOutcome>>> + Send;

    /// The keys of these accounts that exist, with the user each names (absent keys are left
    /// out). A read only.
    fn key_holders(
        &self,
        accounts: &[NewAccount],
    ) -> impl Future<Output = StoreResult<Vec<KeyHolder>>> + Send;
}
