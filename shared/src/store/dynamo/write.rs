//! Conditional writes and transactions: which SDK failures are a condition that failed by
//! design, which transaction cancellations are worth sending again (and the pause between),
//! and how any other failure becomes `StoreError::Unavailable` without quoting item values.

use super::DynamoStore;
use super::item::Item;
use crate::error::Cause;
use crate::store::attrs::PK;
use crate::store::{StoreError, StoreResult};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::RequestId;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::{DeleteBuilder, UpdateBuilder};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use std::time::Duration;

const TRANSACTION_ATTEMPTS: u32 = 3;

/// The cancellation reason of an item whose condition failed.
const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// Item reasons a cancelled transaction may clear if sent again.
const TRANSIENT_CANCELLATIONS: [&str; 3] = [
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

impl DynamoStore {
    /// Runs a transaction; `Ok(Err(reasons))` when a condition failed (codes per item). A
    /// transaction cancelled only for transient reasons (see [`cancelled_transiently`]) is sent
    /// again, at most `TRANSACTION_ATTEMPTS` times in all, after a jittered pause; the SDK does
    /// not retry those itself (its standard mode retries only top-level throttling errors).
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> StoreResult<Result<(), Vec<String>>> {
        let mut attempt = 1;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(Ok(())),
                Err(e) => e,
            };
            let reasons: Option<Vec<String>> = match &err {
                SdkError::ServiceError(service) => match service.err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => Some(
                        c.cancellation_reasons()
                            .iter()
                            .map(|r| r.code().unwrap_or("None").to_owned())
                            .collect(),
                    ),
                    _ => None,
                },
                _ => None,
            };
            match reasons {
                Some(r) if r.iter().any(|c| c == CONDITION_FAILED) => return Ok(Err(r)),
                Some(r) if cancelled_transiently(&r) => {
                    if attempt >= TRANSACTION_ATTEMPTS {
                        let id = err.request_id().unwrap_or("none");
                        return Err(StoreError::Unavailable(Cause::new(format!(
                            "DynamoDB: transaction cancelled [{}] {attempt} times (request id {id})",
                            r.join(", ")
                        ))));
                    }
                    transaction_backoff(attempt).await;
                    attempt += 1;
                }
                _ => return Err(unavailable(err)),
            }
        }
    }

    /// A put of `item` inside a transaction, under `condition` when given.
    pub(super) fn put(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(|e| StoreError::Corrupt(Cause::with_source("building the request", e)))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

/// An update (begun with `DynamoStore::update`) as a transaction item.
pub(super) fn update(builder: UpdateBuilder) -> StoreResult<TransactWriteItem> {
    let update = builder
        .build()
        .map_err(|e| StoreError::Corrupt(Cause::with_source("building the request", e)))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// A delete (begun with `DynamoStore::delete`) as a transaction item.
pub(super) fn delete(builder: DeleteBuilder) -> StoreResult<TransactWriteItem> {
    let delete = builder
        .build()
        .map_err(|e| StoreError::Corrupt(Cause::with_source("building the request", e)))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// The condition that the item exists.
pub(super) fn item_exists() -> String {
    format!("attribute_exists({PK})")
}

/// The condition that the item does not exist.
pub(super) fn item_absent() -> String {
    format!("attribute_not_exists({PK})")
}

/// Whether the transaction item at `index` is one whose condition failed.
pub(super) fn condition_failed_at(reasons: &[String], index: usize) -> bool {
    reasons.get(index).is_some_and(|c| c == CONDITION_FAILED)
}

/// `StoreError::Unavailable` naming only what failed: the error code (or the kind of transport
/// failure) and the AWS request id. Never the SDK's message text: it may quote item values.
pub(super) fn unavailable<E>(e: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata,
{
    StoreError::Unavailable(Cause::new(crate::sdk_fault::sdk_fault!(
        aws_sdk_dynamodb,
        "DynamoDB",
        &e
    )))
}

/// Cancelled solely for transient reasons: at least one item has one, and every other item
/// has none (`None`). A validation error or a failed condition is never retried.
fn cancelled_transiently(reasons: &[String]) -> bool {
    let transient = |c: &String| TRANSIENT_CANCELLATIONS.contains(&c.as_str());
    reasons.iter().any(transient) && reasons.iter().all(|c| c == "None" || transient(c))
}

/// The pause before transaction attempt `attempt + 1`: 20 ms per attempt made plus 0–39 ms of
/// jitter (20–59 ms, then 40–79 ms), so that racing requests do not collide again in step.
async fn transaction_backoff(attempt: u32) {
    let [random] = crate::crypto::random_bytes::<1>();
    let millis = 20 * u64::from(attempt) + u64::from(random % 40);
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// A conditional write whose condition may fail by design: `Ok(false)` when it did.
pub(super) fn condition_may_fail<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> StoreResult<bool>
where
    E: ProvideErrorMetadata,
{
    when_condition_held(result).map(|output| output.is_some())
}

/// A conditional write whose condition may fail by design: its output, or `Ok(None)` when the
/// condition failed.
pub(super) fn when_condition_held<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> StoreResult<Option<T>>
where
    E: ProvideErrorMetadata,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(e) if is_conditional_failure(&e) => Ok(None),
        Err(e) => Err(unavailable(e)),
    }
}

fn is_conditional_failure<E, R>(e: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    matches!(e, SdkError::ServiceError(se) if se.err().code() == Some("ConditionalCheckFailedException"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn only_transactions_cancelled_solely_for_transient_reasons_are_retried() {
        for retried in [
            &["None", "TransactionConflict"][..],
            &["TransactionConflict"],
            &["ThrottlingError", "None"],
            &[
                "None",
                "ProvisionedThroughputExceeded",
                "TransactionConflict",
            ],
        ] {
            assert!(cancelled_transiently(&codes(retried)), "{retried:?}");
        }
        for refused in [
            &[][..],
            &["None", "None"],
            &["ConditionalCheckFailed", "TransactionConflict"],
            &["ValidationError", "TransactionConflict"],
            &["ItemCollectionSizeLimitExceeded", "None"],
        ] {
            assert!(!cancelled_transiently(&codes(refused)), "{refused:?}");
        }
    }
}
