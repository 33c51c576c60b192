//! `AccountStatus` on DynamoDB: one transaction sets (or removes) `disabled` on the user item,
//! under its version, and on every openid link that names the user.

use super::DynamoStore;
use super::item::{n, s};
use super::write::update;
use crate::store::attrs::{DISABLED, PK, USER_ID, VERSION};
use crate::store::{AccountStatus, StatusOutcome, StoreResult, User, keys};
use aws_sdk_dynamodb::types::AttributeValue;

impl AccountStatus for DynamoStore {
    async fn set_disabled(&self, user: &User, disabled: bool) -> StoreResult<StatusOutcome> {
        // Enabled is the attribute's absence, as on every user created enabled.
        let (user_change, link_change) = if disabled {
            (
                format!("SET {DISABLED} = :on, {VERSION} = :next"),
                format!("SET {DISABLED} = :on"),
            )
        } else {
            (
                format!("REMOVE {DISABLED} SET {VERSION} = :next"),
                format!("REMOVE {DISABLED}"),
            )
        };
        let mut user_update = self
            .update(keys::user(&user.id))
            .update_expression(user_change)
            .condition_expression(format!("attribute_exists({PK}) AND {VERSION} = :version"))
            .expression_attribute_values(":version", n(user.version))
            .expression_attribute_values(":next", n(user.version + 1));
        if disabled {
            user_update =
                user_update.expression_attribute_values(":on", AttributeValue::Bool(true));
        }
        let mut items = vec![update(user_update)?];
        for (appid, openid) in &user.openids {
            let mut link_update = self
                .update(keys::openid_link(appid, openid))
                .update_expression(&link_change)
                .condition_expression(format!("attribute_exists({PK}) AND {USER_ID} = :uid"))
                .expression_attribute_values(":uid", s(user.id.as_str()));
            if disabled {
                link_update =
                    link_update.expression_attribute_values(":on", AttributeValue::Bool(true));
            }
            items.push(update(link_update)?);
        }
        match self.transact(items).await? {
            Ok(()) => Ok(StatusOutcome::Set),
            Err(_) => Ok(StatusOutcome::Changed),
        }
    }
}
