//! `Census` on DynamoDB: a paginated `Scan` reading only each item's key and expiry, counted
//! by key prefix. Eventually consistent and a full read: an operator's command.

use super::DynamoStore;
use super::item::get_n;
use crate::store::attrs::{EXPIRES_AT, PK};
use crate::store::{Census, StoreResult, keys};
use std::collections::BTreeMap;

impl Census for DynamoStore {
    async fn count_by_kind(&self, now: u64) -> StoreResult<BTreeMap<String, u64>> {
        let mut counts = BTreeMap::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression("#pk, #exp")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#exp", EXPIRES_AT)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(super::write::unavailable)?;
            for item in page.items() {
                if get_n(item, EXPIRES_AT).is_some_and(|e| e <= now) {
                    continue;
                }
                if let Some(pk) = item.get(PK).and_then(|v| v.as_s().ok()) {
                    *counts.entry(keys::kind_of(pk).to_owned()).or_insert(0) += 1;
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(counts),
            }
        }
    }
}
