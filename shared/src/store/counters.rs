//! The `Counters` port: named fixed-window hit counters (send limits, failed-password
//! lockout). It counts; the limits and what they guard are the flows' business.

use super::{CounterHit, StoreResult};
use std::future::Future;

pub trait Counters: Send + Sync {
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
}
