//! `SmsCodes` on DynamoDB: one item per phone holding the code's salted hash and the
//! attempts spent; an attempt is one conditional `ADD`, a consume one conditional delete.

use super::DynamoStore;
use super::item::{get_s, n, s};
use super::write::{condition_may_fail, unavailable, when_condition_held};
use crate::domain::PhoneNumber;
use crate::store::attrs::{ATTEMPTS, CODE, EXPIRES_AT, KIND, PK, kind};
use crate::store::{SmsCodes, StoreResult, keys};
use aws_sdk_dynamodb::types::ReturnValue;

impl SmsCodes for DynamoStore {
    async fn put_sms_code(
        &self,
        phone: &PhoneNumber,
        stored_hash: &str,
        expires_at: u64,
    ) -> StoreResult<()> {
        self.put_item()
            .item(PK, s(keys::sms_code(phone)))
            .item(KIND, s(kind::SMS_CODE))
            .item(CODE, s(stored_hash))
            .item(ATTEMPTS, n(0))
            .item(EXPIRES_AT, n(expires_at))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn attempt_sms_code(
        &self,
        phone: &PhoneNumber,
        max_attempts: u32,
        now: u64,
    ) -> StoreResult<Option<String>> {
        let result = self
            .update_item(keys::sms_code(phone))
            .update_expression(format!("ADD {ATTEMPTS} :one"))
            .condition_expression(format!(
                "attribute_exists({PK}) AND {ATTEMPTS} < :max AND {EXPIRES_AT} > :now"
            ))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(u64::from(max_attempts)))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        Ok(when_condition_held(result)?.and_then(|out| {
            out.attributes
                .as_ref()
                .and_then(|a| get_s(a, CODE))
                .map(str::to_owned)
        }))
    }

    async fn consume_sms_code(&self, phone: &PhoneNumber, stored_hash: &str) -> StoreResult<bool> {
        let result = self
            .delete_item(keys::sms_code(phone))
            .condition_expression(format!("{CODE} = :code"))
            .expression_attribute_values(":code", s(stored_hash))
            .send()
            .await;
        condition_may_fail(result)
    }
}
