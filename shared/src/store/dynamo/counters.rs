//! `Counters` on DynamoDB: one item per (name, window), counted by one conditional `ADD` so
//! that concurrent hits cannot overshoot the limit; the window is `store::window`'s.

use super::DynamoStore;
use super::item::{get_n, n};
use super::write::when_condition_held;
use crate::store::attrs::{EXPIRES_AT, HITS};
use crate::store::window::Window;
use crate::store::{CounterHit, Counters, StoreResult, keys};
use aws_sdk_dynamodb::types::ReturnValue;

impl Counters for DynamoStore {
    async fn hit_counter(
        &self,
        name: &str,
        limit: u32,
        window_secs: u64,
        now: u64,
    ) -> StoreResult<CounterHit> {
        let window = Window::containing(now, window_secs);
        // The condition below admits the first hit whatever the limit: a window with a limit
        // of 0 is full before any hit.
        if limit == 0 {
            return Ok(window.limited(now));
        }
        let result = self
            .update_item(keys::counter(name, window.start))
            .update_expression(format!("ADD {HITS} :one SET {EXPIRES_AT} = :end"))
            .condition_expression(format!("attribute_not_exists({HITS}) OR {HITS} < :limit"))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":end", n(window.end))
            .expression_attribute_values(":limit", n(u64::from(limit)))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        let Some(out) = when_condition_held(result)? else {
            return Ok(window.limited(now));
        };
        let hits = out
            .attributes
            .as_ref()
            .and_then(|a| get_n(a, HITS))
            .unwrap_or(1);
        Ok(CounterHit::Counted(u32::try_from(hits).unwrap_or(u32::MAX)))
    }

    async fn read_counter(&self, name: &str, window_secs: u64, now: u64) -> StoreResult<u32> {
        let window = Window::containing(now, window_secs);
        let item = self.get(keys::counter(name, window.start)).await?;
        Ok(item
            .and_then(|i| get_n(&i, HITS))
            .map(|h| u32::try_from(h).unwrap_or(u32::MAX))
            .unwrap_or(0))
    }
}
