//! The `Census` port: how many live items of each kind the table holds (the admin tool's
//! `counts`), kinds named by their key prefix (`keys::kind_of`). A full read of the table: for
//! operators, never for a request.

use super::StoreResult;
use std::collections::BTreeMap;
use std::future::Future;

pub trait Census: Send + Sync {
    /// Items per key prefix (`USER`, `OPENID`, `FAMILY`, …), leaving out those expired at
    /// `now`.
    fn count_by_kind(
        &self,
        now: u64,
    ) -> impl Future<Output = StoreResult<BTreeMap<String, u64>>> + Send;
}
