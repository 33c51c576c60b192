//! `AccountImport` on DynamoDB: ordered conditional puts, the way a first login writes
//! (`identities.rs::create_user_in_order`): the user item, then its phone's ownership, its
//! unionid link and its openid links, each `PutItem` only if absent, answering the item it
//! found (`ALL_OLD`) when there was one. An item naming another user undoes the account
//! (deletes of everything naming it, the user item under `version` 1) and reports whose it
//! is. Not one transaction per account: a transaction costs two write units per item instead
//! of one, and a crash between puts leaves a consistent user (no pointer names a missing
//! user) that the next run completes. The accounts of one call are written concurrently.
//! Who holds the keys is read with consistent `BatchGetItem`s of 100 keys, unprocessed keys
//! sent again a bounded number of times.

use super::DynamoStore;
use super::identities::{link_item, unionid_item, whole_user_item};
use super::item::{Item, corrupt, get_n, get_s, n, phone_owner_item, s, user_id_of};
use super::write::{condition_may_fail, item_absent, unavailable};
use crate::error::Cause;
use crate::store::attrs::{PK, USER_ID, VERSION};
use crate::store::{
    AccountImport, AccountKey, CreateAccountOutcome, KeyHolder, NewAccount, StoreError,
    StoreResult, keys,
};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{KeysAndAttributes, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;
use std::time::Duration;

/// DynamoDB's limit of keys per `BatchGetItem`.
const MAX_BATCH_GET_KEYS: usize = 100;
/// `BatchGetItem` rounds for one chunk of keys before the store counts as unavailable.
const BATCH_GET_ROUNDS: u32 = 6;

fn pk_of(key: &AccountKey) -> String {
    match key {
        AccountKey::User(id) => keys::user(id),
        AccountKey::OpenId(appid, openid) => keys::openid_link(appid, openid),
        AccountKey::UnionId(unionid) => keys::unionid_link(unionid),
        AccountKey::Phone(phone) => keys::phone_owner(phone),
    }
}

/// The item `key` stands for in `account`.
fn item_of(account: &NewAccount, key: &AccountKey) -> Item {
    let user = &account.user;
    match key {
        AccountKey::User(_) => whole_user_item(user),
        AccountKey::Phone(phone) => phone_owner_item(phone, &user.id),
        AccountKey::UnionId(unionid) => unionid_item(unionid, &user.id),
        AccountKey::OpenId(appid, openid) => link_item(
            &user.id,
            appid,
            openid,
            account.unionid.as_ref(),
            user.phone.as_ref(),
            user.created_at,
        ),
    }
}

impl DynamoStore {
    /// Puts `item` if absent: `None` when written, else the item that was there.
    async fn put_if_absent_or_show(&self, item: Item) -> StoreResult<Option<Item>> {
        let result = self
            .put_item()
            .set_item(Some(item))
            .condition_expression(item_absent())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                match e.into_err() {
                    PutItemError::ConditionalCheckFailedException(c) => {
                        Ok(Some(c.item.unwrap_or_default()))
                    }
                    _ => Err(corrupt("conditional failure")),
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn create_account(&self, account: &NewAccount) -> StoreResult<CreateAccountOutcome> {
        let id = &account.user.id;
        let mut wrote = false;
        for key in account.keys() {
            let Some(found) = self.put_if_absent_or_show(item_of(account, &key)).await? else {
                wrote = true;
                continue;
            };
            if let AccountKey::User(_) = key {
                // Imported before; changed by its user since: the export is older than the
                // account, which is left as it is.
                if get_n(&found, VERSION) != Some(1) {
                    return Ok(CreateAccountOutcome::AlreadyPresent);
                }
                continue;
            }
            let holder = user_id_of(&found, "holder user_id")?;
            if holder != *id {
                self.undo_account(account).await?;
                return Ok(CreateAccountOutcome::Conflict { key, holder });
            }
        }
        Ok(if wrote {
            CreateAccountOutcome::Created
        } else {
            CreateAccountOutcome::AlreadyPresent
        })
    }

    /// Deletes, last written first, every item of the account that still names its user, and
    /// the user item while unchanged since imported.
    async fn undo_account(&self, account: &NewAccount) -> StoreResult<()> {
        let uid = s(account.user.id.as_str());
        for key in account.keys().iter().rev() {
            let mut delete = self
                .delete_item(pk_of(key))
                .expression_attribute_values(":uid", uid.clone());
            delete = match key {
                AccountKey::User(_) => delete
                    .condition_expression(format!("{USER_ID} = :uid AND {VERSION} = :v"))
                    .expression_attribute_values(":v", n(1)),
                _ => delete.condition_expression(format!("{USER_ID} = :uid")),
            };
            condition_may_fail(delete.send().await)?;
        }
        Ok(())
    }

    /// One consistent `BatchGetItem` of at most 100 keys, unprocessed keys sent again.
    async fn batch_get(&self, pks: Vec<String>) -> StoreResult<Vec<Item>> {
        let mut found = Vec::new();
        let mut keys: Vec<Item> = pks
            .into_iter()
            .map(|pk| HashMap::from([(PK.to_owned(), s(pk))]))
            .collect();
        for round in 1..=BATCH_GET_ROUNDS {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .projection_expression(format!("{PK}, {USER_ID}"))
                .build()
                .map_err(|e| StoreError::Corrupt(Cause::with_source("building the request", e)))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(&self.table).unwrap_or_default());
            }
            keys = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if keys.is_empty() {
                return Ok(found);
            }
            tokio::time::sleep(Duration::from_millis(50 * u64::from(round))).await;
        }
        Err(StoreError::Unavailable(Cause::new(format!(
            "DynamoDB: BatchGetItem left {} keys unprocessed after {BATCH_GET_ROUNDS} rounds",
            keys.len()
        ))))
    }
}

impl AccountImport for DynamoStore {
    async fn create_accounts(
        &self,
        accounts: &[NewAccount],
    ) -> StoreResult<Vec<CreateAccountOutcome>> {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, account) in accounts.iter().enumerate() {
            let (store, account) = (self.clone(), account.clone());
            tasks.spawn(async move { (i, store.create_account(&account).await) });
        }
        let mut outcomes: Vec<Option<CreateAccountOutcome>> = vec![None; accounts.len()];
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let (i, result) = joined.map_err(|e| {
                StoreError::Unavailable(Cause::with_source("an account write stopped", e))
            })?;
            match (result, outcomes.get_mut(i)) {
                (Ok(outcome), Some(slot)) => *slot = Some(outcome),
                (Err(e), _) => first_error = first_error.or(Some(e)),
                (Ok(_), None) => return Err(corrupt("account index")),
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        outcomes
            .into_iter()
            .map(|o| o.ok_or_else(|| corrupt("an account without an outcome")))
            .collect()
    }

    async fn key_holders(&self, accounts: &[NewAccount]) -> StoreResult<Vec<KeyHolder>> {
        let mut by_pk: HashMap<String, AccountKey> = HashMap::new();
        for key in accounts.iter().flat_map(NewAccount::keys) {
            by_pk.insert(pk_of(&key), key);
        }
        let pks: Vec<String> = by_pk.keys().cloned().collect();
        let mut holders = Vec::new();
        for chunk in pks.chunks(MAX_BATCH_GET_KEYS) {
            for item in self.batch_get(chunk.to_vec()).await? {
                let key = get_s(&item, PK)
                    .and_then(|pk| by_pk.get(pk))
                    .ok_or_else(|| corrupt("batch get answered a key not asked for"))?;
                holders.push(KeyHolder {
                    key: key.clone(),
                    user_id: user_id_of(&item, "holder user_id")?,
                });
            }
        }
        holders.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(holders)
    }
}
