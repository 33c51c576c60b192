//! The SMS provider credentials held in Secrets Manager (`SMS_CREDENTIALS_SECRET_ID`):
//! `{"access_key_id": "...", "access_key_secret": "..."}` for Alibaba Cloud,
//! `{"secret_id": "...", "secret_key": "..."}` for Tencent Cloud. The secret halves are
//! `SecretString`s; Debug forms and parse errors never show a value.

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use std::fmt;

/// An Alibaba Cloud AccessKey pair (a RAM user's, allowed `dysms:SendSms` only).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliyunCredentials {
    pub access_key_id: String,
    access_key_secret: SecretString,
}

/// A Tencent Cloud API key pair (a sub-user's, allowed `sms:SendSms` only).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TencentCredentials {
    pub secret_id: String,
    secret_key: SecretString,
}

impl AliyunCredentials {
    pub fn new(access_key_id: &str, access_key_secret: &str) -> Self {
        Self {
            access_key_id: access_key_id.to_owned(),
            access_key_secret: SecretString::from(access_key_secret),
        }
    }
    /// Called only to sign a request.
    pub fn secret(&self) -> &str {
        self.access_key_secret.expose_secret()
    }
    pub fn parse(text: &str) -> Result<Self, String> {
        let parsed: Self = serde_json::from_str(text).map_err(|_| {
            "expected {\"access_key_id\": \"...\", \"access_key_secret\": \"...\"}".to_owned()
        })?;
        check(&parsed.access_key_id, parsed.secret())?;
        Ok(parsed)
    }
}

impl TencentCredentials {
    pub fn new(secret_id: &str, secret_key: &str) -> Self {
        Self {
            secret_id: secret_id.to_owned(),
            secret_key: SecretString::from(secret_key),
        }
    }
    /// Called only to sign a request.
    pub fn secret(&self) -> &str {
        self.secret_key.expose_secret()
    }
    pub fn parse(text: &str) -> Result<Self, String> {
        let parsed: Self = serde_json::from_str(text)
            .map_err(|_| "expected {\"secret_id\": \"...\", \"secret_key\": \"...\"}".to_owned())?;
        check(&parsed.secret_id, parsed.secret())?;
        Ok(parsed)
    }
}

/// Both halves present, printable and of a sane length (the id goes into a header as is).
fn check(id: &str, secret: &str) -> Result<(), String> {
    let printable =
        |s: &str| !s.is_empty() && s.len() <= 256 && s.chars().all(|c| c.is_ascii_graphic());
    if !printable(id) || !printable(secret) {
        return Err(
            "the key id or the secret is empty, too long or not printable ASCII".to_owned(),
        );
    }
    Ok(())
}

impl fmt::Debug for AliyunCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AliyunCredentials({}, ..)", self.access_key_id)
    }
}

impl fmt::Debug for TencentCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TencentCredentials({}, ..)", self.secret_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_provider_reads_its_own_shape() {
        let a =
            AliyunCredentials::parse(r#"{"access_key_id":"LTAI5t","access_key_secret":"s3cr3t"}"#)
                .unwrap();
        assert_eq!((a.access_key_id.as_str(), a.secret()), ("LTAI5t", "s3cr3t"));
        let t = TencentCredentials::parse(r#"{"secret_id":"AKIDx","secret_key":"k3y"}"#).unwrap();
        assert_eq!((t.secret_id.as_str(), t.secret()), ("AKIDx", "k3y"));
        assert!(AliyunCredentials::parse(r#"{"secret_id":"AKIDx","secret_key":"k3y"}"#).is_err());
        assert!(
            TencentCredentials::parse(r#"{"access_key_id":"a","access_key_secret":"b"}"#).is_err()
        );
    }

    #[test]
    fn malformed_credentials_are_refused_without_echoing_and_debug_hides_the_secret() {
        for bad in [
            "",
            "{}",
            r#"{"access_key_id":"a"}"#,
            r#"{"access_key_id":"","access_key_secret":"s3cr3t"}"#,
            r#"{"access_key_id":"a","access_key_secret":"s3 cr3t"}"#,
            r#"{"access_key_id":"a","access_key_secret":"s3cr3t","extra":1}"#,
        ] {
            let err = AliyunCredentials::parse(bad).unwrap_err();
            assert!(!err.contains("s3cr3t"), "{err}");
        }
        let a = AliyunCredentials::new("LTAI5t", "s3cr3t");
        assert!(!format!("{a:?}").contains("s3cr3t"));
        let t = TencentCredentials::new("AKIDx", "k3y-value");
        assert!(!format!("{t:?}").contains("k3y-value"));
    }
}
