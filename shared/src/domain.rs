//! Domain values parsed once at the edge ("parse, don't validate"): app ids, openids, login
//! codes, user ids and phone numbers. Nothing here does I/O.

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an input value was refused; the message is safe to show to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub &'static str);

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// A mini program's AppID (`wx` + 16 hex characters in practice; we accept the token alphabet).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AppId(String);

impl AppId {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.is_empty() || raw.len() > 64 || !raw.chars().all(is_token_char) {
            return Err(InvalidValue("appid is not a valid app id"));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The one-time code from `wx.login()`. Checked before any WeChat call so that junk never
/// spends the user's WeChat quota. Held as a `SecretString`: its Debug form hides the value.
#[derive(Clone)]
pub struct LoginCode(SecretString);

impl LoginCode {
    pub const MAX_LEN: usize = 128;
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.is_empty() {
            return Err(InvalidValue("code is empty"));
        }
        if raw.len() > Self::MAX_LEN {
            return Err(InvalidValue("code is too long"));
        }
        if !raw.chars().all(is_token_char) {
            return Err(InvalidValue("code has characters WeChat never uses"));
        }
        Ok(Self(SecretString::from(raw)))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// In constant time, like every comparison of a secret.
impl PartialEq for LoginCode {
    fn eq(&self, other: &Self) -> bool {
        crate::crypto::constant_time_eq(self.expose().as_bytes(), other.expose().as_bytes())
    }
}

impl Eq for LoginCode {}

/// WeChat's session_key for one (appid, openid): base64 text of 16 bytes, exactly as WeChat
/// sent it. Held as a `SecretString` (wiped on drop); its Debug form hides it.
#[derive(Clone)]
pub struct SessionKey(SecretString);

impl SessionKey {
    pub fn new(text: impl Into<String>) -> Self {
        Self(SecretString::from(text.into()))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// In constant time, like every comparison of a secret.
impl PartialEq for SessionKey {
    fn eq(&self, other: &Self) -> bool {
        crate::crypto::constant_time_eq(self.expose().as_bytes(), other.expose().as_bytes())
    }
}

impl Eq for SessionKey {}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl fmt::Debug for LoginCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginCode(..)")
    }
}

/// A user's id within one mini program, as WeChat gives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OpenId(String);

impl OpenId {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.is_empty() || raw.len() > 128 || !raw.chars().all(is_token_char) {
            return Err(InvalidValue("openid is malformed"));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's id across the mini programs of one Open Platform account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnionId(String);

impl UnionId {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.is_empty() || raw.len() > 128 || !raw.chars().all(is_token_char) {
            return Err(InvalidValue("unionid is malformed"));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Our stable user id: `u_` + 26 lowercase base32 characters of randomness.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserId(String);

impl UserId {
    pub fn new_random() -> Self {
        Self(format!("u_{}", crate::crypto::random_id(16)))
    }
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if !raw.starts_with("u_") || raw.len() > 64 || !raw.chars().all(is_token_char) {
            return Err(InvalidValue("user id is malformed"));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164 (`+8613800138000`). Debug and Display show it masked.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// From a country code and a national number of digits only (WeChat's
    /// `countryCode` + `purePhoneNumber`).
    pub fn from_parts(country_code: &str, national: &str) -> Result<Self, InvalidValue> {
        let cc_ok = !country_code.is_empty()
            && country_code.len() <= 3
            && country_code.chars().all(|c| c.is_ascii_digit())
            && !country_code.starts_with('0');
        let nat_ok = national.len() >= 4 && national.chars().all(|c| c.is_ascii_digit());
        if !cc_ok || !nat_ok {
            return Err(InvalidValue("phone number is malformed"));
        }
        // The stored form's rule decides the length, so whatever is accepted here reads back.
        Self::parse_e164(&format!("+{country_code}{national}"))
    }
    /// From an E.164 string as stored: `+` and 6 to 15 digits. The one length rule for phone
    /// numbers, whichever way they arrive.
    pub fn parse_e164(raw: &str) -> Result<Self, InvalidValue> {
        let digits = raw
            .strip_prefix('+')
            .ok_or(InvalidValue("phone number must start with +"))?;
        if !(Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&digits.len())
            || !digits.chars().all(|c| c.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(InvalidValue("phone number is malformed"));
        }
        Ok(Self(raw.to_owned()))
    }
    /// Digits of an E.164 number, country code included (E.164 allows at most 15).
    pub const MIN_DIGITS: usize = 6;
    pub const MAX_DIGITS: usize = 15;
    pub fn e164(&self) -> &str {
        &self.0
    }
    /// `138****8000` for Chinese mainland numbers; otherwise the last four digits after stars.
    pub fn masked(&self) -> String {
        let national = self.0.strip_prefix("+86").unwrap_or(&self.0);
        let chars: Vec<char> = national.chars().collect();
        if self.0.starts_with("+86") && chars.len() == 11 {
            let head: String = chars.iter().take(3).collect();
            let tail: String = chars.iter().skip(7).collect();
            return format!("{head}****{tail}");
        }
        let tail: String = chars.iter().skip(chars.len().saturating_sub(4)).collect();
        format!("****{tail}")
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// When a user is created (DESIGN §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupMode {
    /// The first login creates the user ("silent login").
    OpenId,
    /// An account is a phone number: unknown openids must prove a phone first.
    Phone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_code_refuses_empty_long_and_foreign_characters() {
        assert!(LoginCode::parse("").is_err());
        assert!(LoginCode::parse(&"a".repeat(129)).is_err());
        assert!(LoginCode::parse("abc def").is_err());
        assert!(LoginCode::parse("abc+/=").is_err());
        assert!(LoginCode::parse("码").is_err());
        assert!(LoginCode::parse("0a1B2c-_").is_ok());
    }

    #[test]
    fn login_code_debug_hides_the_value() {
        let code = LoginCode::parse("secretcode").unwrap();
        assert!(!format!("{code:?}").contains("secretcode"));
        assert_eq!(format!("{code:?}"), "LoginCode(..)");
        assert_eq!(code.expose(), "secretcode");
        assert_eq!(code, LoginCode::parse("secretcode").unwrap());
        assert_ne!(code, LoginCode::parse("secretcod").unwrap());
    }

    #[test]
    fn mainland_phone_is_masked_in_the_middle() {
        let p = PhoneNumber::from_parts("86", "13800138000").unwrap();
        assert_eq!(p.e164(), "+8613800138000");
        assert_eq!(p.masked(), "138****8000");
        assert_eq!(format!("{p:?}"), "PhoneNumber(138****8000)");
    }

    #[test]
    fn foreign_phone_shows_only_last_four() {
        let p = PhoneNumber::from_parts("1", "4155550123").unwrap();
        assert_eq!(p.masked(), "****0123");
    }

    #[test]
    fn phone_parts_must_be_digits() {
        assert!(PhoneNumber::from_parts("86", "138-0013-8000").is_err());
        assert!(PhoneNumber::from_parts("+86", "13800138000").is_err());
        assert!(PhoneNumber::from_parts("86", "").is_err());
        assert!(PhoneNumber::parse_e164("8613800138000").is_err());
    }

    #[test]
    fn every_number_accepted_from_parts_reads_back_from_storage() {
        // Before one rule decided both directions, "+1" + "2345" was accepted (5 digits) and
        // could not be read back (6 needed): every later login of that user was a 500.
        for cc in ["1", "44", "86", "852", "999"] {
            for len in 1..=16 {
                let national = "5".repeat(len);
                if let Ok(p) = PhoneNumber::from_parts(cc, &national) {
                    let back = PhoneNumber::parse_e164(p.e164());
                    assert_eq!(back.as_ref().ok(), Some(&p), "{cc} {national}");
                }
            }
        }
        assert!(PhoneNumber::from_parts("1", "2345").is_err());
        assert!(PhoneNumber::from_parts("1", "23456").is_ok());
        assert!(PhoneNumber::from_parts("86", "1380013800012").is_ok());
        assert!(PhoneNumber::from_parts("86", "13800138000123").is_err());
    }

    #[test]
    fn user_ids_are_random_and_parse_back() {
        let a = UserId::new_random();
        let b = UserId::new_random();
        assert_ne!(a, b);
        assert_eq!(UserId::parse(a.as_str()).unwrap(), a);
        assert!(UserId::parse("x_123").is_err());
    }
}
