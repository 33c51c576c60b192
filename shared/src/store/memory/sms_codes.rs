//! `SmsCodes` in memory: each phone's live code (salted hash, attempts spent, expiry).

use super::InMemoryStore;
use crate::domain::PhoneNumber;
use crate::store::{SmsCodes, StoreResult};

impl SmsCodes for InMemoryStore {
    async fn put_sms_code(
        &self,
        phone: &PhoneNumber,
        stored_hash: &str,
        expires_at: u64,
    ) -> StoreResult<()> {
        self.lock()?
            .sms_codes
            .insert(phone.clone(), (stored_hash.to_owned(), 0, expires_at));
        Ok(())
    }

    async fn attempt_sms_code(
        &self,
        phone: &PhoneNumber,
        max_attempts: u32,
        now: u64,
    ) -> StoreResult<Option<String>> {
        let mut t = self.lock()?;
        match t.sms_codes.get_mut(phone) {
            Some((hash, attempts, exp)) if *exp > now && *attempts < max_attempts => {
                *attempts += 1;
                Ok(Some(hash.clone()))
            }
            _ => Ok(None),
        }
    }

    async fn consume_sms_code(&self, phone: &PhoneNumber, stored_hash: &str) -> StoreResult<bool> {
        let mut t = self.lock()?;
        if t.sms_codes.get(phone).is_some_and(|c| c.0 == stored_hash) {
            t.sms_codes.remove(phone);
            return Ok(true);
        }
        Ok(false)
    }
}
