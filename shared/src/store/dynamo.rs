//! The DynamoDB store: one table, string key `pk`, TTL attribute `expires_at`. Ownership
//! decisions are conditional writes or transactions (never read-then-write); throttling is
//! retried by the SDK (standard mode, 3 attempts); transaction conflicts are retried here a
//! bounded number of times with jitter; anything left is `StoreError::Unavailable` (503).
//! This file holds the client and the request builders every port shares; each port's
//! implementation is in `dynamo/<port>.rs`, the item helpers in `item`, the transaction and
//! condition helpers in `write`. It decides no rule: the flows do.

mod account_import;
mod account_status;
mod census;
mod code_claims;
mod counters;
mod erasure;
mod identities;
mod item;
mod key_directory;
mod phone_ownership;
mod sessions;
mod sms_codes;
mod write;

use super::StoreResult;
use super::attrs::PK;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::builders::{DeleteBuilder, UpdateBuilder};
use aws_sdk_dynamodb::types::{Delete, Update};
use item::{Item, s};

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    #[cfg(feature = "sdk-config")]
    pub fn new(sdk: &aws_config::SdkConfig, table: &str) -> Self {
        Self::from_client(Client::new(sdk), table)
    }

    pub fn from_client(client: Client, table: &str) -> Self {
        Self {
            client,
            table: table.to_owned(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A consistent read of the item `pk`.
    async fn get(&self, pk: String) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(write::unavailable)?;
        Ok(out.item)
    }

    /// A `PutItem` into this table.
    fn put_item(&self) -> PutItemFluentBuilder {
        self.client.put_item().table_name(&self.table)
    }

    /// An `UpdateItem` of the item `pk`.
    fn update_item(&self, pk: String) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(pk))
    }

    /// A `DeleteItem` of the item `pk`.
    fn delete_item(&self, pk: String) -> DeleteItemFluentBuilder {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(pk))
    }

    /// An update of the item `pk` inside a transaction (see `write::update`).
    fn update(&self, pk: String) -> UpdateBuilder {
        Update::builder().table_name(&self.table).key(PK, s(pk))
    }

    /// A delete of the item `pk` inside a transaction (see `write::delete`).
    fn delete(&self, pk: String) -> DeleteBuilder {
        Delete::builder().table_name(&self.table).key(PK, s(pk))
    }
}
