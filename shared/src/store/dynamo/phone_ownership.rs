//! `PhoneOwnership` on DynamoDB: the ownership item per phone number is the uniqueness guard;
//! a bind is one transaction over it, the user item and every openid link of the user.

use super::DynamoStore;
use super::item::{n, phone_owner_item, s, user_id_of};
use super::write::{condition_failed_at, delete, item_absent, update};
use crate::domain::{PhoneNumber, UserId};
use crate::store::attrs::{PHONE, PK, USER_ID, VERSION};
use crate::store::{BindOutcome, PhoneOwnership, StoreResult, User, keys};
use aws_sdk_dynamodb::types::TransactWriteItem;
use std::collections::HashMap;

impl DynamoStore {
    /// Sends `items` (the new number's ownership first, then the user's update) with an
    /// update of every openid link of `user` to carry `phone`, in one transaction: bound, the
    /// number taken (the first item's condition failed), or the user changed since read.
    async fn bind_in_one_transaction(
        &self,
        mut items: Vec<TransactWriteItem>,
        user: &User,
        phone: &PhoneNumber,
    ) -> StoreResult<BindOutcome> {
        for (appid, openid) in &user.openids {
            let link_update = self
                .update(keys::openid_link(appid, openid))
                .update_expression(format!("SET {PHONE} = :phone"))
                .condition_expression(format!("attribute_exists({PK}) AND {USER_ID} = :uid"))
                .expression_attribute_values(":phone", s(phone.e164()))
                .expression_attribute_values(":uid", s(user.id.as_str()));
            items.push(update(link_update)?);
        }
        match self.transact(items).await? {
            Ok(()) => Ok(BindOutcome::Bound),
            Err(reasons) if condition_failed_at(&reasons, 0) => Ok(BindOutcome::PhoneTaken),
            Err(_) => Ok(BindOutcome::UserChanged),
        }
    }
}

impl PhoneOwnership for DynamoStore {
    async fn phone_owner(&self, phone: &PhoneNumber) -> StoreResult<Option<UserId>> {
        let Some(item) = self.get(keys::phone_owner(phone)).await? else {
            return Ok(None);
        };
        Ok(Some(user_id_of(&item, "phone owner")?))
    }

    async fn bind_phone(&self, user: &User, phone: &PhoneNumber) -> StoreResult<BindOutcome> {
        let mut owner_put = self.put(
            phone_owner_item(phone, &user.id),
            Some(&format!("attribute_not_exists({PK}) OR {USER_ID} = :uid")),
        )?;
        if let Some(put) = owner_put.put.as_mut() {
            put.expression_attribute_values =
                Some(HashMap::from([(":uid".to_owned(), s(user.id.as_str()))]));
        }
        let user_update = self
            .update(keys::user(&user.id))
            .update_expression(format!("SET {PHONE} = :phone, {VERSION} = :next"))
            .condition_expression(format!(
                "attribute_exists({PK}) AND attribute_not_exists({PHONE}) AND {VERSION} = :version"
            ))
            .expression_attribute_values(":phone", s(phone.e164()))
            .expression_attribute_values(":version", n(user.version))
            .expression_attribute_values(":next", n(user.version + 1));
        self.bind_in_one_transaction(vec![owner_put, update(user_update)?], user, phone)
            .await
    }

    async fn change_phone(&self, user: &User, new: &PhoneNumber) -> StoreResult<BindOutcome> {
        let Some(old) = &user.phone else {
            return Ok(BindOutcome::UserChanged);
        };
        let new_owner = self.put(phone_owner_item(new, &user.id), Some(&item_absent()))?;
        let old_owner = delete(
            self.delete(keys::phone_owner(old))
                .condition_expression(format!("attribute_not_exists({PK}) OR {USER_ID} = :uid"))
                .expression_attribute_values(":uid", s(user.id.as_str())),
        )?;
        let user_update = self
            .update(keys::user(&user.id))
            .update_expression(format!("SET {PHONE} = :new, {VERSION} = :next"))
            .condition_expression(format!(
                "attribute_exists({PK}) AND {PHONE} = :old AND {VERSION} = :version"
            ))
            .expression_attribute_values(":new", s(new.e164()))
            .expression_attribute_values(":old", s(old.e164()))
            .expression_attribute_values(":version", n(user.version))
            .expression_attribute_values(":next", n(user.version + 1));
        let items = vec![new_owner, old_owner, update(user_update)?];
        self.bind_in_one_transaction(items, user, new).await
    }
}
