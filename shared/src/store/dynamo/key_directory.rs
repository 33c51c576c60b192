//! `KeyDirectory` on DynamoDB: the published public keys in one item, `pk = SIGNING_KEYS`
//! (the authorizer's IAM policy is limited to it with `dynamodb:LeadingKeys`). Its format is
//! `store::published_keys_item`'s; the condition keeps a stale signer from rolling it back.

use super::DynamoStore;
use super::item::{get_s, s};
use super::write::condition_may_fail;
use crate::store::attrs::{CURRENT_KID, KIND, PK, kind};
use crate::store::keys::SIGNING_KEYS;
use crate::store::{StoreResult, published_keys_item};
use crate::tokens::{KeyDirectory, PublishedKeySource, PublishedKeys};

impl KeyDirectory for DynamoStore {
    async fn publish_keys(&self, published: &PublishedKeys) -> StoreResult<()> {
        let mut put = self
            .put_item()
            .item(PK, s(SIGNING_KEYS))
            .item(KIND, s(kind::SIGNING_KEYS));
        for (name, value) in published_keys_item::encode(published)? {
            put = put.item(name, s(value));
        }
        put = put.expression_attribute_values(":cur", s(&published.current_kid));
        put = match &published.previous_kid {
            Some(prev) => put
                .condition_expression(format!(
                    "attribute_not_exists({PK}) OR {CURRENT_KID} = :cur OR {CURRENT_KID} = :prev"
                ))
                .expression_attribute_values(":prev", s(prev)),
            None => put.condition_expression(format!(
                "attribute_not_exists({PK}) OR {CURRENT_KID} = :cur"
            )),
        };
        condition_may_fail(put.send().await).map(|_| ())
    }
}

impl PublishedKeySource for DynamoStore {
    async fn load_keys(&self) -> StoreResult<Option<PublishedKeys>> {
        let Some(item) = self.get(SIGNING_KEYS.to_owned()).await? else {
            return Ok(None);
        };
        published_keys_item::decode(|name| get_s(&item, name)).map(Some)
    }
}
