//! `Counters` in memory: hits per (name, window) under the table's counter key; the window
//! is `store::window`'s, as in DynamoDB.

use super::InMemoryStore;
use crate::store::window::Window;
use crate::store::{CounterHit, Counters, StoreResult, keys};

impl Counters for InMemoryStore {
    async fn hit_counter(
        &self,
        name: &str,
        limit: u32,
        window_secs: u64,
        now: u64,
    ) -> StoreResult<CounterHit> {
        let window = Window::containing(now, window_secs);
        let mut t = self.lock()?;
        let entry = t
            .counters
            .entry(keys::counter(name, window.start))
            .or_insert((0, window.end));
        if entry.0 >= limit {
            return Ok(window.limited(now));
        }
        entry.0 += 1;
        Ok(CounterHit::Counted(entry.0))
    }

    async fn read_counter(&self, name: &str, window_secs: u64, now: u64) -> StoreResult<u32> {
        let start = Window::containing(now, window_secs).start;
        Ok(self
            .lock()?
            .counters
            .get(&keys::counter(name, start))
            .map(|c| c.0)
            .unwrap_or(0))
    }
}
