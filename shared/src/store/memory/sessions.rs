//! `Sessions` in memory: session keys and refresh families in their maps, and
//! `sessions_valid_after` on the stored user; reads filter `expires_at <= now` as DynamoDB's do.

use super::InMemoryStore;
use crate::domain::{AppId, OpenId, UserId};
use crate::store::{Family, RotateOutcome, SessionKeyRecord, Sessions, StoreError, StoreResult};

impl Sessions for InMemoryStore {
    async fn start_session(
        &self,
        key: Option<&SessionKeyRecord>,
        family: &Family,
    ) -> StoreResult<()> {
        let mut t = self.lock()?;
        if t.families.contains_key(&family.id) {
            return Err(StoreError::Corrupt("refresh family id collision".into()));
        }
        if let Some(key) = key {
            t.session_keys
                .insert((key.appid.clone(), key.openid.clone()), key.clone());
        }
        t.families.insert(family.id.clone(), family.clone());
        Ok(())
    }

    async fn put_session_key(&self, key: &SessionKeyRecord) -> StoreResult<()> {
        self.lock()?
            .session_keys
            .insert((key.appid.clone(), key.openid.clone()), key.clone());
        Ok(())
    }

    async fn get_session_key(
        &self,
        appid: &AppId,
        openid: &OpenId,
        now: u64,
    ) -> StoreResult<Option<SessionKeyRecord>> {
        let t = self.lock()?;
        Ok(t.session_keys
            .get(&(appid.clone(), openid.clone()))
            .filter(|k| k.expires_at > now)
            .cloned())
    }

    async fn get_family(&self, family_id: &str, now: u64) -> StoreResult<Option<Family>> {
        Ok(self
            .lock()?
            .families
            .get(family_id)
            .filter(|f| f.expires_at > now)
            .cloned())
    }

    async fn rotate_family(
        &self,
        family_id: &str,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: u64,
        now: u64,
    ) -> StoreResult<RotateOutcome> {
        let mut t = self.lock()?;
        match t.families.get_mut(family_id) {
            Some(f) if !f.revoked && f.expires_at > now && f.secret_hash == old_hash => {
                let mark = crate::tokens::refresh::retired_mark(old_hash);
                if let Err(at) = f.retired.binary_search(&mark) {
                    f.retired.insert(at, mark);
                }
                f.secret_hash = new_hash.to_owned();
                f.expires_at = new_expires_at;
                Ok(RotateOutcome::Rotated)
            }
            _ => Ok(RotateOutcome::Refused),
        }
    }

    async fn revoke_family(&self, family_id: &str) -> StoreResult<()> {
        if let Some(f) = self.lock()?.families.get_mut(family_id) {
            f.revoked = true;
        }
        Ok(())
    }

    async fn end_all_sessions(&self, user_id: &UserId, now: u64) -> StoreResult<Option<u64>> {
        let mut t = self.lock()?;
        let Some(u) = t.users.get_mut(user_id) else {
            return Ok(None);
        };
        u.sessions_valid_after = if u.sessions_valid_after < now {
            now
        } else {
            u.sessions_valid_after + 1
        };
        Ok(Some(u.sessions_valid_after))
    }
}
