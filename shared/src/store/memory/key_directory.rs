//! `KeyDirectory` in memory: the one published set, replaced only as
//! `tokens::directory::may_replace` allows.

use super::InMemoryStore;
use crate::store::StoreResult;
use crate::tokens::directory::may_replace;
use crate::tokens::{KeyDirectory, PublishedKeySource, PublishedKeys};

impl PublishedKeySource for InMemoryStore {
    async fn load_keys(&self) -> StoreResult<Option<PublishedKeys>> {
        Ok(self.lock()?.published_keys.clone())
    }
}

impl KeyDirectory for InMemoryStore {
    async fn publish_keys(&self, keys: &PublishedKeys) -> StoreResult<()> {
        let mut t = self.lock()?;
        if may_replace(t.published_keys.as_ref(), keys) {
            t.published_keys = Some(keys.clone());
        }
        Ok(())
    }
}
