//! The table's attribute names and item kinds: the one place that spells them, for the
//! DynamoDB store and the authorizer's key reader (the key values themselves are in `keys`).
//! Names only: what an attribute means is documented on the record it is read into.

/// The partition key (`keys`), on every item.
pub const PK: &str = "pk";
/// What the item is (`kind::*`), on every item.
pub const KIND: &str = "kind";
/// The TTL attribute (DESIGN §5): read as absent once `expires_at <= now`.
pub const EXPIRES_AT: &str = "expires_at";

pub const USER_ID: &str = "user_id";
pub const APPID: &str = "appid";
pub const OPENID: &str = "openid";
pub const UNIONID: &str = "unionid";
pub const PHONE: &str = "phone";
pub const CREATED_AT: &str = "created_at";

/// User items.
pub const OPENIDS: &str = "openids";
pub const SESSIONS_VALID_AFTER: &str = "sessions_valid_after";
pub const VERSION: &str = "version";
pub const PASSWORD_HASH: &str = "password_hash";
pub const NICKNAME: &str = "nickname";
pub const AVATAR_URL: &str = "avatar_url";
/// On the user item and its openid links: `true` while an operator has disabled the user.
pub const DISABLED: &str = "disabled";

/// Refresh families.
pub const FAMILY_ID: &str = "family_id";
pub const SECRET_HASH: &str = "secret_hash";
pub const REVOKED: &str = "revoked";
pub const RETIRED: &str = "retired";

/// Session keys.
pub const SESSION_KEY: &str = "session_key";

/// Counters.
pub const HITS: &str = "hits";

/// SMS codes (`CODE` is the salted hash, never the code).
pub const CODE: &str = "code";
pub const ATTEMPTS: &str = "attempts";

/// The published-keys item.
pub const CURRENT_KID: &str = "current_kid";
pub const PREVIOUS_KID: &str = "previous_kid";
pub const KEYS: &str = "keys";

/// The values of `KIND`.
pub mod kind {
    pub const USER: &str = "user";
    pub const OPENID_LINK: &str = "openid_link";
    pub const UNIONID_LINK: &str = "unionid_link";
    pub const PHONE_OWNER: &str = "phone_owner";
    pub const SESSION_KEY: &str = "session_key";
    pub const REFRESH_FAMILY: &str = "refresh_family";
    pub const LOGIN_CODE: &str = "login_code";
    pub const PHONE_CODE: &str = "phone_code";
    pub const SMS_CODE: &str = "sms_code";
    pub const SIGNING_KEYS: &str = "signing_keys";
}
