//! The conformance suites of the store ports: every operation's documented semantics,
//! checked the same way against every implementation (in-memory here, DynamoDB on moto in
//! the tests crate). One suite per port (`run_<port>`), `run_all` for a whole `Store`; the
//! suites share `fixtures`. Each check makes its own random ids, so checks can share one
//! table. Test support: it asserts, so it may unwrap and panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod account_import;
pub mod account_status;
pub mod code_claims;
pub mod counters;
pub mod erasure;
pub mod fixtures;
pub mod identities;
pub mod key_directory;
pub mod phone_ownership;
pub mod sessions;
pub mod sms_codes;

pub use account_import::run_account_import;
pub use account_status::run_account_status;
pub use code_claims::run_code_claims;
pub use counters::run_counters;
pub use erasure::run_erasure;
pub use fixtures::{NOW, app, join_all, openid, phone, unionid};
pub use identities::run_identities;
pub use key_directory::run_key_directory;
pub use phone_ownership::run_phone_ownership;
pub use sessions::run_sessions;
pub use sms_codes::run_sms_codes;

use super::Store;

/// Runs every port's suite against `store`.
pub async fn run_all<S: Store>(store: &S) {
    run_identities(store).await;
    run_sessions(store).await;
    run_phone_ownership(store).await;
    run_code_claims(store).await;
    run_counters(store).await;
    run_sms_codes(store).await;
    run_erasure(store).await;
    run_account_status(store).await;
    run_account_import(store).await;
    run_key_directory(store).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::InMemoryStore;

    #[tokio::test]
    async fn in_memory_store_conforms() {
        run_all(&InMemoryStore::new()).await;
    }
}
