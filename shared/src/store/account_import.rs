//! The `AccountImport` port: creating whole accounts brought from another backend (the admin
//! tool's `import`), only where nothing exists yet, never overwriting anything; an account that
//! meets another user's key leaves nothing of itself. It also says who holds the keys of
//! accounts (the dry run). It decides nothing: the import flow (`flows/import.rs`) plans the
//! accounts and reports what this port answers.

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
    /// Every item this account's creation writes, in the order it writes them: the user
    /// item, the phone's ownership, the unionid link, the openid links.
    pub fn keys(&self) -> Vec<AccountKey> {
        let mut keys = vec![AccountKey::User(self.user.id.clone())];
        keys.extend(self.user.phone.iter().cloned().map(AccountKey::Phone));
        keys.extend(self.unionid.iter().cloned().map(AccountKey::UnionId));
        keys.extend(
            self.user
                .openids
                .iter()
                .map(|(a, o)| AccountKey::OpenId(a.clone(), o.clone())),
        );
        keys
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateAccountOutcome {
    /// Written now: the whole account, or the rest of one an interrupted run began.
    Created,
    /// There already from an earlier run (and perhaps changed by its user since): untouched.
    AlreadyPresent,
    /// `key` is `holder`'s: nothing of this account is left in the table.
    Conflict { key: AccountKey, holder: UserId },
}

/// Who holds one key: the user an item names (the user item names itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHolder {
    pub key: AccountKey,
    pub user_id: UserId,
}

pub trait AccountImport: Send + Sync {
    /// Creates each account: its user item first, then its phone's ownership item, its
    /// unionid link and its openid links (carrying its unionid and phone), each only if absent
    /// (what finds a user is written after the user, as at a first login). An item another
    /// user holds undoes what this call wrote of the account, and the user item too while it
    /// is unchanged since it was imported (`version` 1): `Conflict`. A user item already
    /// there, unchanged, is completed (an earlier run was interrupted); changed since, it is
    /// left alone. One outcome per account, in order; accounts may be written concurrently.
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
