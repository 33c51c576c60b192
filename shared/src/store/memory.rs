//! The in-memory store: the same operations and atomicity as DynamoDB (one mutex makes each
//! operation a transaction), for unit tests and the local server. Not for production: it
//! forgets everything on restart and is not shared between processes. This file holds the
//! tables and the lock; each port's implementation is in `memory/<port>.rs`.

mod account_import;
mod account_status;
mod census;
mod code_claims;
mod counters;
mod erasure;
mod identities;
mod key_directory;
mod phone_ownership;
mod sessions;
mod sms_codes;

use super::{Family, SessionKeyRecord, StoreError, StoreResult, User};
use crate::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// An openid link: its user, the unionid it recorded, and the user's phone.
type Link = (UserId, Option<UnionId>, Option<PhoneNumber>);

#[derive(Default)]
struct Tables {
    users: HashMap<UserId, User>,
    links: HashMap<(AppId, OpenId), Link>,
    unionids: HashMap<UnionId, UserId>,
    session_keys: HashMap<(AppId, OpenId), SessionKeyRecord>,
    codes: HashMap<(AppId, String), u64>,
    families: HashMap<String, Family>,
    phones: HashMap<PhoneNumber, UserId>,
    /// (owner openid, WeChat's answer once known, expires_at)
    phone_codes: HashMap<(AppId, String), (OpenId, Option<PhoneNumber>, u64)>,
    published_keys: Option<crate::tokens::PublishedKeys>,
    counters: HashMap<String, (u32, u64)>,
    /// (stored hash, attempts, expires_at)
    sms_codes: HashMap<PhoneNumber, (String, u32, u64)>,
}

#[derive(Clone, Default)]
pub struct InMemoryStore {
    tables: Arc<Mutex<Tables>>,
}

impl InMemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, Tables>> {
        self.tables
            .lock()
            .map_err(|_| StoreError::Unavailable("in-memory store poisoned".into()))
    }

    /// How many users exist (tests assert "one user, not two").
    pub fn user_count(&self) -> usize {
        self.lock().map(|t| t.users.len()).unwrap_or(0)
    }
}
