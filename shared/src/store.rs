//! The storage port (DESIGN §5): what the flows may ask of the table, as narrow operations
//! that each carry their own atomicity (conditional writes, transactions). Two
//! implementations: `dynamo` (production, tested against moto) and `memory` (unit tests and
//! the local server). Every read treats `expires_at <= now` as absent.

#[cfg(any(test, feature = "fake"))]
pub mod conformance;
#[cfg(feature = "dynamodb")]
pub mod dynamo;
#[cfg(feature = "key-reader")]
pub mod key_reader;
pub mod keys;
pub mod memory;
pub mod records;

pub use memory::InMemoryStore;
pub use records::*;

use crate::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};
use std::future::Future;

/// Why the store could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Throttled, down, or conflicting after bounded retries: 503.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// An item that cannot be read back (a bug or manual edit): fail closed, 500.
    #[error("corrupt item: {0}")]
    Corrupt(String),
}

impl From<StoreError> for crate::error::AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => Self::ServiceUnavailable(m),
            StoreError::Corrupt(m) => Self::Internal(m),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Every store also holds the published public keys (`KeyDirectory`).
pub trait Store: crate::tokens::KeyDirectory + Send + Sync + 'static {
    /// Claims a login code so that it is sent to WeChat at most once.
    fn claim_login_code(
        &self,
        appid: &AppId,
        code_digest: &str,
        now: u64,
        expires_at: u64,
    ) -> impl Future<Output = StoreResult<CodeClaim>> + Send;

    /// Finds the user an openid is linked to and records the login on the link (setting a
    /// unionid it did not have; never erasing one). One call.
    fn touch_openid_link(
        &self,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
        now: u64,
    ) -> impl Future<Output = StoreResult<Option<LinkedUser>>> + Send;

    fn find_unionid_user(
        &self,
        unionid: &UnionId,
    ) -> impl Future<Output = StoreResult<Option<UserId>>> + Send;

    /// Links a unionid to a user unless it is already linked (to anyone).
    fn put_unionid_link_if_absent(
        &self,
        unionid: &UnionId,
        user_id: &UserId,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn get_user(&self, user_id: &UserId) -> impl Future<Output = StoreResult<Option<User>>> + Send;

    /// Creates `user` with its first openid link (and unionid link, and the ownership item of
    /// its phone when it has one), atomically.
    fn create_user(
        &self,
        user: &User,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
    ) -> impl Future<Output = StoreResult<CreateUserOutcome>> + Send;

    /// Links an openid to an existing user as read (`user`), atomically: the link is created
    /// (recording `unionid`), the user gains the openid for that app, and the user's phone is
    /// unchanged since read. The unionid link item is the caller's business.
    fn link_openid(
        &self,
        user: &User,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
        now: u64,
    ) -> impl Future<Output = StoreResult<LinkOutcome>> + Send;

    /// Creates a refresh family and, when given, stores the session_key, in one transaction.
    fn start_session(
        &self,
        key: Option<&SessionKeyRecord>,
        family: &Family,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn put_session_key(
        &self,
        key: &SessionKeyRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn get_session_key(
        &self,
        appid: &AppId,
        openid: &OpenId,
        now: u64,
    ) -> impl Future<Output = StoreResult<Option<SessionKeyRecord>>> + Send;

    fn get_family(
        &self,
        family_id: &str,
        now: u64,
    ) -> impl Future<Output = StoreResult<Option<Family>>> + Send;

    /// Replaces the family's secret hash if it is still `old_hash` and the family is live.
    fn rotate_family(
        &self,
        family_id: &str,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: u64,
        now: u64,
    ) -> impl Future<Output = StoreResult<RotateOutcome>> + Send;

    fn revoke_family(&self, family_id: &str) -> impl Future<Output = StoreResult<()>> + Send;

    /// Who owns a phone number, if anyone (the ownership item is the uniqueness guard).
    fn phone_owner(
        &self,
        phone: &PhoneNumber,
    ) -> impl Future<Output = StoreResult<Option<UserId>>> + Send;

    /// Binds `phone` to `user` as read, atomically: the ownership item is created (or is
    /// already this user's), the user item gains the phone (version unchanged since read, no
    /// phone yet), and every openid link of the user carries the phone.
    fn bind_phone(
        &self,
        user: &User,
        phone: &PhoneNumber,
    ) -> impl Future<Output = StoreResult<BindOutcome>> + Send;

    /// Claims a phone code for `openid` so that it is sent to WeChat at most once.
    fn claim_phone_code(
        &self,
        appid: &AppId,
        code_digest: &str,
        openid: &OpenId,
        now: u64,
        expires_at: u64,
    ) -> impl Future<Output = StoreResult<PhoneCodeClaim>> + Send;

    /// Records WeChat's answer for a claimed phone code.
    fn complete_phone_code(
        &self,
        appid: &AppId,
        code_digest: &str,
        phone: &PhoneNumber,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Forgets a claim whose WeChat call failed, so the same code can be tried again.
    fn release_phone_code(
        &self,
        appid: &AppId,
        code_digest: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Counts a hit in the fixed window of `window_secs` containing `now`, unless the window
    /// already holds `limit` hits (one conditional write: concurrent hits cannot overshoot).
    fn hit_counter(
        &self,
        name: &str,
        limit: u32,
        window_secs: u64,
        now: u64,
    ) -> impl Future<Output = StoreResult<CounterHit>> + Send;

    /// The hits in the window containing `now`.
    fn read_counter(
        &self,
        name: &str,
        window_secs: u64,
        now: u64,
    ) -> impl Future<Output = StoreResult<u32>> + Send;

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

    fn set_password_hash(
        &self,
        user_id: &UserId,
        hash: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Sets the given profile fields (others unchanged).
    fn set_profile(
        &self,
        user_id: &UserId,
        nickname: Option<&str>,
        avatar_url: Option<&str>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// "Log out everywhere": refresh families created at or before `now` stop working.
    fn end_all_sessions(
        &self,
        user_id: &UserId,
        now: u64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
