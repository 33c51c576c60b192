//! `AccountImport` on DynamoDB. Creation packs whole accounts into `TransactWriteItems` of at
//! most 100 items, every item put only if absent; a transaction cancelled by a failed condition
//! names the items (cancellation reasons), so the accounts holding them are reported blocked
//! and the rest of the batch is sent again, until it goes through or is empty (each round drops
//! one account at least). Unconditional `BatchWriteItem` puts were not used: they would
//! overwrite a link a live login wrote meanwhile. Who holds the keys is read with consistent
//! `BatchGetItem`s of 100 keys, unprocessed keys sent again a bounded number of times.

use super::DynamoStore;
use super::identities::{link_item, unionid_item, whole_user_item};
use super::item::{Item, corrupt, get_s, phone_owner_item, s, user_id_of};
use super::write::{condition_failed_at, item_absent, unavailable};
use crate::error::Cause;
use crate::store::attrs::{PK, USER_ID};
use crate::store::{
    AccountImport, AccountKey, CreateAccountOutcome, KeyHolder, NewAccount, StoreError,
    StoreResult, keys,
};
use aws_sdk_dynamodb::types::{KeysAndAttributes, TransactWriteItem};
use std::collections::HashMap;
use std::time::Duration;

/// DynamoDB's limits: items per transaction, keys per `BatchGetItem`.
const MAX_TRANSACTION_ITEMS: usize = 100;
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

impl DynamoStore {
    /// The account's puts, each under "absent", the user item first.
    fn account_puts(&self, account: &NewAccount) -> StoreResult<Vec<TransactWriteItem>> {
        let user = &account.user;
        let absent = item_absent();
        let mut items = vec![whole_user_item(user)];
        for (appid, openid) in &user.openids {
            items.push(link_item(
                &user.id,
                appid,
                openid,
                account.unionid.as_ref(),
                user.phone.as_ref(),
                user.created_at,
            ));
        }
        if let Some(u) = &account.unionid {
            items.push(unionid_item(u, &user.id));
        }
        if let Some(p) = &user.phone {
            items.push(phone_owner_item(p, &user.id));
        }
        items
            .into_iter()
            .map(|item| self.put(item, Some(&absent)))
            .collect()
    }

    /// Sends one group of accounts (at most 100 items) until the rest of it is written: the
    /// accounts whose items failed a condition are dropped and reported blocked each round.
    async fn create_group(
        &self,
        accounts: &[NewAccount],
        group: &[usize],
        outcomes: &mut [CreateAccountOutcome],
    ) -> StoreResult<()> {
        let mut pending: Vec<(usize, Vec<TransactWriteItem>)> = group
            .iter()
            .map(|&i| {
                let account = accounts.get(i).ok_or_else(|| corrupt("account index"))?;
                Ok((i, self.account_puts(account)?))
            })
            .collect::<StoreResult<_>>()?;
        while !pending.is_empty() {
            let items: Vec<TransactWriteItem> =
                pending.iter().flat_map(|(_, puts)| puts.clone()).collect();
            let reasons = match self.transact(items).await? {
                Ok(()) => {
                    for (i, _) in &pending {
                        set(outcomes, *i, CreateAccountOutcome::Created)?;
                    }
                    return Ok(());
                }
                Err(reasons) => reasons,
            };
            let mut offset = 0;
            let mut still_pending = Vec::with_capacity(pending.len());
            for (i, puts) in pending {
                let blocked =
                    (offset..offset + puts.len()).any(|k| condition_failed_at(&reasons, k));
                offset += puts.len();
                if blocked {
                    set(outcomes, i, CreateAccountOutcome::Blocked)?;
                } else {
                    still_pending.push((i, puts));
                }
            }
            pending = still_pending;
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

fn set(
    outcomes: &mut [CreateAccountOutcome],
    i: usize,
    outcome: CreateAccountOutcome,
) -> StoreResult<()> {
    *outcomes
        .get_mut(i)
        .ok_or_else(|| corrupt("account index"))? = outcome;
    Ok(())
}

impl AccountImport for DynamoStore {
    async fn create_accounts(
        &self,
        accounts: &[NewAccount],
    ) -> StoreResult<Vec<CreateAccountOutcome>> {
        let mut outcomes = vec![CreateAccountOutcome::Blocked; accounts.len()];
        let mut group: Vec<usize> = Vec::new();
        let mut group_items = 0;
        for (i, account) in accounts.iter().enumerate() {
            let size = account.keys().len();
            if size > MAX_TRANSACTION_ITEMS {
                return Err(corrupt(
                    "an account with more items than one transaction holds",
                ));
            }
            if group_items + size > MAX_TRANSACTION_ITEMS {
                self.create_group(accounts, &group, &mut outcomes).await?;
                group.clear();
                group_items = 0;
            }
            group.push(i);
            group_items += size;
        }
        if !group.is_empty() {
            self.create_group(accounts, &group, &mut outcomes).await?;
        }
        Ok(outcomes)
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
