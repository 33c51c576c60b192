//! The claims of our JWTs: one place that says what an access token and a bind token carry.

use serde::{Deserialize, Serialize};

/// JOSE `typ` of an access token (RFC 9068): generic JWT libraries and gateways that check
/// `typ` accept only these as access tokens.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// JOSE `typ` of a bind token: never an access token, whatever checks the verifier makes.
pub const BIND_TOKEN_TYPE: &str = "wxlogin-bind+jwt";

/// The audience of bind tokens: the API audience with `/bind` appended, so a verifier that
/// checks `aud` against the API's audience refuses a bind token even without reading `typ`.
pub fn bind_audience(api_audience: &str) -> String {
    format!("{api_audience}/bind")
}

/// What a token may be used for (`token_use` claim). Verification refuses the other kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenUse {
    Access,
    Bind,
}

/// An access token: `Authorization: Bearer` on the customer's API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// Our user id.
    pub sub: String,
    pub appid: String,
    pub openid: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    pub token_use: TokenUse,
    /// The refresh family this token was issued with (logout revokes it).
    pub sid: String,
    pub phone_bound: bool,
}

/// A bind token (`phone_required` in SIGNUP_MODE=phone): proves an openid, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindClaims {
    pub iss: String,
    pub aud: String,
    /// `bind:<openid>`: never a user id, so it cannot be mistaken for one.
    pub sub: String,
    pub appid: String,
    pub openid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    pub token_use: TokenUse,
}
