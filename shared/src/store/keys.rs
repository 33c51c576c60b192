//! The table's key schema: one string partition key `pk` per item, one prefix per item kind.

use crate::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};

pub fn user(id: &UserId) -> String {
    format!("USER#{}", id.as_str())
}
pub fn openid_link(appid: &AppId, openid: &OpenId) -> String {
    format!("OPENID#{}#{}", appid.as_str(), openid.as_str())
}
pub fn unionid_link(unionid: &UnionId) -> String {
    format!("UNIONID#{}", unionid.as_str())
}
pub fn phone_owner(phone: &PhoneNumber) -> String {
    format!("PHONE#{}", phone.e164())
}
pub fn session_key(appid: &AppId, openid: &OpenId) -> String {
    format!("SESSKEY#{}#{}", appid.as_str(), openid.as_str())
}
pub fn login_code(appid: &AppId, digest: &str) -> String {
    format!("CODE#{}#{digest}", appid.as_str())
}
pub fn phone_code(appid: &AppId, digest: &str) -> String {
    format!("PHONECODE#{}#{digest}", appid.as_str())
}
pub fn family(id: &str) -> String {
    format!("FAMILY#{id}")
}

/// The one item holding the published public keys.
pub const SIGNING_KEYS: &str = "SIGNING_KEYS";
pub fn counter(name: &str, window_start: u64) -> String {
    format!("COUNT#{name}#{window_start}")
}
pub fn sms_code(phone: &PhoneNumber) -> String {
    format!("SMSCODE#{}", phone.e164())
}

/// An item's kind as its key names it: the prefix before the first `#` (`USER`, `FAMILY`, …;
/// `SIGNING_KEYS` whole).
pub fn kind_of(pk: &str) -> &str {
    pk.split('#').next().unwrap_or(pk)
}
