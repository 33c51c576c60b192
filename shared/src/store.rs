//! The storage ports (DESIGN §5): what the flows may ask of the table, as narrow operations
//! that each carry their own atomicity (conditional writes, transactions), one trait per
//! capability (`Identities`, `Sessions`, `PhoneOwnership`, `CodeClaims`, `Counters`,
//! `SmsCodes`, `Erasure`, `AccountStatus`, `Census`, `AccountImport`; the signing keys are `tokens::KeyDirectory`) and `Store`, their union. Two
//! implementations: `dynamo` (production, tested against moto) and `memory` (unit tests and
//! the local server). Every read treats `expires_at <= now` as absent.

mod account_import;
mod account_status;
pub mod attrs;
mod census;
mod code_claims;
#[cfg(any(test, feature = "fake"))]
pub mod conformance;
mod counters;
#[cfg(feature = "dynamodb")]
pub mod dynamo;
mod erasure;
mod identities;
#[cfg(feature = "key-reader")]
pub mod key_reader;
pub mod keys;
pub mod memory;
mod phone_ownership;
#[cfg(any(feature = "dynamodb", feature = "key-reader"))]
mod published_keys_item;
pub mod records;
mod sessions;
mod sms_codes;
mod window;

pub use crate::tokens::{KeyDirectory, PublishedKeySource};
pub use account_import::{AccountImport, AccountKey, CreateAccountOutcome, KeyHolder, NewAccount};
pub use account_status::AccountStatus;
pub use census::Census;
pub use code_claims::CodeClaims;
pub use counters::Counters;
pub use erasure::{EraseOutcome, Erasure, ErasurePlan};
pub use identities::Identities;
pub use memory::InMemoryStore;
pub use phone_ownership::PhoneOwnership;
pub use records::*;
pub use sessions::Sessions;
pub use sms_codes::SmsCodes;

/// Why the store could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Throttled, down, or conflicting after bounded retries: 503.
    #[error("store unavailable: {0}")]
    Unavailable(#[source] crate::error::Cause),
    /// An item that cannot be read back (a bug or manual edit): fail closed, 500.
    #[error("corrupt item: {0}")]
    Corrupt(#[source] crate::error::Cause),
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

/// Every port at once (and the published public keys, `KeyDirectory`): what a flow that has
/// not been narrowed to its ports takes. Implemented for every type that implements them all.
pub trait Store:
    Identities
    + Sessions
    + PhoneOwnership
    + CodeClaims
    + Counters
    + SmsCodes
    + Erasure
    + AccountStatus
    + Census
    + AccountImport
    + KeyDirectory
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: Identities
        + Sessions
        + PhoneOwnership
        + CodeClaims
        + Counters
        + SmsCodes
        + Erasure
        + AccountStatus
        + Census
        + AccountImport
        + KeyDirectory
        + Send
        + Sync
        + 'static
{
}
