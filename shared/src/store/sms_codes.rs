//! The `SmsCodes` port: the one live SMS code of a phone (its salted hash and the attempts
//! spent on it). It never sees the code in clear and never sends an SMS.

use super::StoreResult;
use crate::domain::PhoneNumber;
use std::future::Future;

pub trait SmsCodes: Send + Sync {
    /// Stores a phone's SMS code (salted hash), replacing any earlier one; attempts start at 0.
    fn put_sms_code(
        &self,
        phone: &PhoneNumber,
        stored_hash: &str,
        expires_at: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Spends one attempt on the phone's live SMS code and returns its stored hash; `None`
    /// when there is no code, it expired, or its attempts are used up.
    fn attempt_sms_code(
        &self,
        phone: &PhoneNumber,
        max_attempts: u32,
        now: u64,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;

    /// Deletes the code if it is still `stored_hash`: `false` when someone consumed it first.
    fn consume_sms_code(
        &self,
        phone: &PhoneNumber,
        stored_hash: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}
