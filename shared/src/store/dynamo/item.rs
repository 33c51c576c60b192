//! Items as the SDK carries them: building attribute values, reading them back, and the
//! pieces of item more than one port writes or reads (a phone, the phone's ownership item).
//! Attribute names come from `store::attrs`; nothing here talks to the table.

use crate::domain::{PhoneNumber, UserId};
use crate::store::attrs::{KIND, PHONE, PK, USER_ID, kind};
use crate::store::{StoreError, StoreResult, keys};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An item from (name, value) pairs.
pub(super) fn item<const N: usize>(attributes: [(&str, AttributeValue); N]) -> Item {
    attributes
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

pub(super) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(super) fn get_n(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.into())
}

/// The item's `user_id`; `Corrupt(what)` when it is missing or not a user id.
pub(super) fn user_id_of(item: &Item, what: &str) -> StoreResult<UserId> {
    get_s(item, USER_ID)
        .and_then(|u| UserId::parse(u).ok())
        .ok_or_else(|| corrupt(what))
}

/// The item's `phone`, when it has one.
pub(super) fn phone_of(item: &Item) -> StoreResult<Option<PhoneNumber>> {
    get_s(item, PHONE)
        .map(|p| PhoneNumber::parse_e164(p).map_err(|_| corrupt(PHONE)))
        .transpose()
}

/// A phone's ownership item: the uniqueness guard (written by `create_user` and `bind_phone`).
pub(super) fn phone_owner_item(phone: &PhoneNumber, user_id: &UserId) -> Item {
    item([
        (PK, s(keys::phone_owner(phone))),
        (KIND, s(kind::PHONE_OWNER)),
        (USER_ID, s(user_id.as_str())),
    ])
}
