//! `Erasure` on DynamoDB: one `TransactWriteItems` of deletes — the user item under its
//! version, every pointer at the user under "still names this user, or already gone", the
//! session_keys, SMS code and family unconditionally — so a failure at any point leaves either
//! the whole account or none of it.

use super::DynamoStore;
use super::item::{n, s};
use super::write::delete;
use crate::store::attrs::{PK, USER_ID, VERSION};
use crate::store::{EraseOutcome, Erasure, ErasurePlan, StoreResult, keys};
use aws_sdk_dynamodb::types::TransactWriteItem;

/// DynamoDB's limit of items per transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

impl Erasure for DynamoStore {
    async fn erase_user(&self, plan: ErasurePlan<'_>) -> StoreResult<EraseOutcome> {
        let user = plan.user;
        let uid = s(user.id.as_str());
        let names_user = format!("attribute_not_exists({PK}) OR {USER_ID} = :uid");
        let pointer = |pk: String| -> StoreResult<TransactWriteItem> {
            delete(
                self.delete(pk)
                    .condition_expression(&names_user)
                    .expression_attribute_values(":uid", uid.clone()),
            )
        };
        let mut items = vec![delete(
            self.delete(keys::user(&user.id))
                .condition_expression(format!("{VERSION} = :version"))
                .expression_attribute_values(":version", n(user.version)),
        )?];
        for (appid, openid) in &user.openids {
            items.push(pointer(keys::openid_link(appid, openid))?);
            items.push(delete(self.delete(keys::session_key(appid, openid)))?);
        }
        for unionid in plan.unionids {
            items.push(pointer(keys::unionid_link(unionid))?);
        }
        if let Some(phone) = &user.phone {
            items.push(pointer(keys::phone_owner(phone))?);
            items.push(delete(self.delete(keys::sms_code(phone)))?);
        }
        if let Some(family_id) = plan.family_id {
            items.push(pointer(keys::family(family_id))?);
        }
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(crate::store::StoreError::Corrupt(
                "a user with more openids than one transaction can erase".into(),
            ));
        }
        match self.transact(items).await? {
            Ok(()) => Ok(EraseOutcome::Erased),
            Err(_) => Ok(EraseOutcome::Changed),
        }
    }
}
