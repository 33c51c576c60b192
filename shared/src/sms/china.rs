//! What the two China senders share: the template message (sign name, template id, the code
//! and optionally its minutes, in the order the approved template takes them), the provider
//! error code as it may be logged, and building a sender at cold start with its credentials
//! loaded (a missing or malformed secret fails the start).

use super::aliyun::AliyunSms;
use super::credentials::{AliyunCredentials, TencentCredentials};
use super::tencent::TencentSms;
use super::transport::SmsHttp;
use super::{SmsSender, VerificationCode};
use crate::clock::SharedClock;
use crate::config::{ChinaSmsSettings, ConfigError, SmsSenderKind, TemplateParams};
use crate::secrets::{CachedSecret, SecretSource};
use std::fmt;
use std::sync::Arc;

/// The approved template a code is sent with.
#[derive(Debug, Clone)]
pub struct TemplateMessage {
    pub sign_name: String,
    pub template_id: String,
    pub params: TemplateParams,
}

impl TemplateMessage {
    pub fn new(settings: &ChinaSmsSettings) -> Self {
        Self {
            sign_name: settings.sign_name.clone(),
            template_id: settings.template_id.clone(),
            params: settings.template_params,
        }
    }

    /// The template's values in order: the code, then the minutes if it takes them.
    pub fn values(&self, code: VerificationCode<'_>) -> Vec<String> {
        let mut values = vec![code.code().to_owned()];
        if self.params == TemplateParams::CodeAndMinutes {
            values.push(code.lifetime_minutes().to_string());
        }
        values
    }

    /// Alibaba's TemplateParam: `{"code":"123456"}` (and `"minutes":"5"`).
    pub fn json_object(&self, code: VerificationCode<'_>) -> String {
        let mut object = serde_json::Map::new();
        for (name, value) in ["code", "minutes"].iter().zip(self.values(code)) {
            object.insert((*name).to_owned(), serde_json::Value::String(value));
        }
        serde_json::Value::Object(object).to_string()
    }
}

/// A provider's error code, as it may go to the log: an identifier of at most 64 characters,
/// else `<malformed>` (a reply's text is never repeated).
pub struct ProviderCode(String);

impl ProviderCode {
    pub fn new(raw: &str) -> Self {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        Self(if ok {
            raw.to_owned()
        } else {
            "<malformed>".to_owned()
        })
    }
}

impl fmt::Display for ProviderCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a China sender could not be built at cold start.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Client(#[from] super::transport::ClientBuildError),
    #[error("SMS credentials: {0}")]
    Secret(#[from] crate::secrets::SecretError),
}

/// The sender for `kind` (`Aliyun` or `Tencent`), over `source`, its credentials loaded now.
pub async fn sender<S: SecretSource>(
    kind: SmsSenderKind,
    settings: Option<&ChinaSmsSettings>,
    source: Arc<S>,
    clock: SharedClock,
) -> Result<Box<dyn SmsSender>, BuildError> {
    let settings = settings.ok_or_else(|| {
        ConfigError("the China SMS settings are missing (SMS_SENDER=aliyun|tencent)".to_owned())
    })?;
    let http = SmsHttp::new()?;
    let id = settings.credentials_secret_id.as_str();
    match kind {
        SmsSenderKind::Aliyun => {
            let credentials = CachedSecret::new(source, id, AliyunCredentials::parse, clock);
            credentials.load().await?;
            Ok(Box::new(AliyunSms::new(http, settings, credentials)))
        }
        SmsSenderKind::Tencent => {
            let credentials = CachedSecret::new(source, id, TencentCredentials::parse, clock);
            credentials.load().await?;
            Ok(Box::new(TencentSms::new(http, settings, credentials)?))
        }
        SmsSenderKind::Sns | SmsSenderKind::Log => {
            Err(ConfigError("not a China SMS sender (SMS_SENDER=aliyun|tencent)".to_owned()).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_codes_are_logged_only_when_they_are_identifiers() {
        assert_eq!(
            ProviderCode::new("isv.BUSINESS_LIMIT_CONTROL").to_string(),
            "isv.BUSINESS_LIMIT_CONTROL"
        );
        assert_eq!(
            ProviderCode::new("FailedOperation.PhoneNumberInBlacklist").to_string(),
            "FailedOperation.PhoneNumberInBlacklist"
        );
        for bad in ["", "a b", "13800138000 is bad", "x\ny", &"A".repeat(65)] {
            assert_eq!(ProviderCode::new(bad).to_string(), "<malformed>");
        }
    }

    #[tokio::test]
    async fn a_missing_or_malformed_secret_fails_the_build() {
        let settings = ChinaSmsSettings {
            credentials_secret_id: "sms".into(),
            sign_name: "签名".into(),
            template_id: "SMS_1".into(),
            template_params: TemplateParams::Code,
            endpoint_url: None,
            tencent: Some(crate::config::TencentSmsSettings {
                app_id: "1400000000".into(),
                region: "ap-guangzhou".into(),
            }),
        };
        let secrets = Arc::new(crate::secrets::InMemorySecrets::new());
        let clock: SharedClock = Arc::new(crate::clock::SystemClock);
        for kind in [SmsSenderKind::Aliyun, SmsSenderKind::Tencent] {
            let missing = sender(kind, Some(&settings), secrets.clone(), clock.clone()).await;
            assert!(matches!(missing, Err(BuildError::Secret(_))));
        }
        secrets.set("sms", r#"{"secret_id":"AKIDx","secret_key":"hunter2"}"#);
        let wrong_shape = sender(
            SmsSenderKind::Aliyun,
            Some(&settings),
            secrets.clone(),
            clock.clone(),
        )
        .await
        .err()
        .unwrap();
        assert!(
            !wrong_shape.to_string().contains("hunter2"),
            "{wrong_shape}"
        );
        assert!(
            sender(
                SmsSenderKind::Tencent,
                Some(&settings),
                secrets.clone(),
                clock.clone()
            )
            .await
            .is_ok()
        );
        assert!(
            sender(SmsSenderKind::Sns, Some(&settings), secrets, clock)
                .await
                .is_err()
        );
    }
}
