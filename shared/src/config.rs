//! Configuration from the environment names of DESIGN §7. A bad value fails the cold start
//! with a message naming the variable; nothing here is read per request.

mod china_sms;
mod limits;

pub use china_sms::{ChinaSmsSettings, DEFAULT_TENCENT_REGION, TemplateParams, TencentSmsSettings};
pub use limits::{Budget, BudgetAction, Limits, RATE_DEFAULTS, Rate, SmsCountries};

use crate::domain::SignupMode;
use crate::tokens::SigningAlgorithm;

/// Why the configuration is unusable. Shown at cold start; never contains a secret value
/// (the variables here hold ids and settings, not secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// Token settings shared by every function that issues or checks tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    /// `REFRESH_TOKEN_MAX_LIFETIME`: a refresh family ends this long after its login, however
    /// often it is used (each use slides `refresh_ttl_secs` up to this bound).
    pub refresh_max_lifetime_secs: u64,
    /// Lifetime of the `phone_required` bind token (DESIGN §3: 600 s).
    pub bind_ttl_secs: u64,
    /// `SIGNING_ALGORITHM` (`RS256`, the default, or `EdDSA`): what tokens are signed with and
    /// the one algorithm verifiers accept.
    pub algorithm: SigningAlgorithm,
}

/// Everything a function may need; each binary reads only what it uses through the
/// `require_*` helpers, so a missing variable that a function does not use is not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table_name: Option<String>,
    pub wechat_secret_id: Option<String>,
    pub signing_key_secret_id: Option<String>,
    pub tokens: TokenSettings,
    pub signup_mode: SignupMode,
    pub wechat_api_base: String,
    pub sms_sender: SmsSenderKind,
    /// The China senders' settings: `Some` exactly when `sms_sender` is `Aliyun` or `Tencent`.
    pub china_sms: Option<ChinaSmsSettings>,
    /// `AUTHORIZER_APP_IDS`: the appids an authorizer admits (comma-separated; empty: all).
    pub authorizer_app_ids: Vec<String>,
    /// The abuse guard's limits (`LIMIT_*`, `*_BUDGET`, `SMS_COUNTRIES`).
    pub limits: Limits,
    /// `EVENT_BUS_NAME`: the EventBridge bus account events go to (`events`); unset or empty:
    /// no events.
    pub event_bus_name: Option<String>,
}

/// `SMS_SENDER`: how SMS codes leave (DESIGN §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsSenderKind {
    /// Amazon SNS (the default).
    Sns,
    /// Alibaba Cloud SMS (dysmsapi SendSms, signature V3).
    Aliyun,
    /// Tencent Cloud SMS (SendSms 2021-01-11, TC3-HMAC-SHA256).
    Tencent,
    /// Printed to the log, never sent (local server).
    Log,
}

pub const DEFAULT_WECHAT_API_BASE: &str = "https://api.weixin.qq.com";
pub const DEFAULT_ISSUER: &str = "wxlogin";
pub const DEFAULT_AUDIENCE: &str = "wxlogin-api";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup`, so tests can pass a map.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let ttl = |name: &str, default: u64, min: u64, max: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(raw) => match raw.trim().parse::<u64>() {
                    Ok(v) if (min..=max).contains(&v) => Ok(v),
                    _ => Err(ConfigError(format!(
                        "{name} must be a whole number of seconds from {min} to {max}, got {raw:?}"
                    ))),
                },
            }
        };
        let signup_mode = match get("SIGNUP_MODE").as_deref().map(str::trim) {
            None | Some("openid") => SignupMode::OpenId,
            Some("phone") => SignupMode::Phone,
            Some(other) => {
                return Err(ConfigError(format!(
                    "SIGNUP_MODE must be \"openid\" or \"phone\", got {other:?}"
                )));
            }
        };
        let sms_sender = match get("SMS_SENDER").as_deref().map(str::trim) {
            None | Some("sns") => SmsSenderKind::Sns,
            Some("aliyun") => SmsSenderKind::Aliyun,
            Some("tencent") => SmsSenderKind::Tencent,
            Some("log") => SmsSenderKind::Log,
            Some(other) => {
                return Err(ConfigError(format!(
                    "SMS_SENDER must be \"sns\", \"aliyun\", \"tencent\" or \"log\", got {other:?}"
                )));
            }
        };
        let china_sms = match sms_sender {
            SmsSenderKind::Aliyun => Some(china_sms::read(&get, false)?),
            SmsSenderKind::Tencent => Some(china_sms::read(&get, true)?),
            SmsSenderKind::Sns | SmsSenderKind::Log => None,
        };
        let wechat_api_base = get("WECHAT_API_BASE")
            .unwrap_or_else(|| DEFAULT_WECHAT_API_BASE.to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !(wechat_api_base.starts_with("https://") || wechat_api_base.starts_with("http://")) {
            return Err(ConfigError(format!(
                "WECHAT_API_BASE must be an http(s) URL, got {wechat_api_base:?}"
            )));
        }
        let access_ttl_secs = ttl("ACCESS_TOKEN_TTL", 7200, 60, 86_400)?;
        let refresh_ttl_secs = ttl("REFRESH_TOKEN_TTL", 2_592_000, 600, 31_536_000)?;
        if refresh_ttl_secs <= access_ttl_secs {
            return Err(ConfigError(
                "REFRESH_TOKEN_TTL must be longer than ACCESS_TOKEN_TTL".to_owned(),
            ));
        }
        let refresh_max_lifetime_secs =
            ttl("REFRESH_TOKEN_MAX_LIFETIME", 7_776_000, 600, 31_536_000)?;
        if refresh_max_lifetime_secs <= access_ttl_secs {
            return Err(ConfigError(
                "REFRESH_TOKEN_MAX_LIFETIME must be longer than ACCESS_TOKEN_TTL".to_owned(),
            ));
        }
        // Inside Lambda a logged code would be a live credential in CloudWatch.
        if sms_sender == SmsSenderKind::Log && get("AWS_LAMBDA_FUNCTION_NAME").is_some() {
            return Err(ConfigError(
                "SMS_SENDER=log prints live codes and is refused inside Lambda: use \"sns\", \"aliyun\" or \"tencent\""
                    .to_owned(),
            ));
        }
        let mut authorizer_app_ids = Vec::new();
        for raw in get("AUTHORIZER_APP_IDS").unwrap_or_default().split(',') {
            let appid = raw.trim();
            if appid.is_empty() {
                continue;
            }
            crate::domain::AppId::parse(appid).map_err(|_| {
                ConfigError(format!(
                    "AUTHORIZER_APP_IDS must be comma-separated appids, got {appid:?}"
                ))
            })?;
            authorizer_app_ids.push(appid.to_owned());
        }
        let algorithm = match get("SIGNING_ALGORITHM") {
            None => SigningAlgorithm::default(),
            Some(name) => SigningAlgorithm::from_jwa(name.trim()).ok_or_else(|| {
                ConfigError(format!(
                    "SIGNING_ALGORITHM must be RS256 or EdDSA, got {name:?}"
                ))
            })?,
        };
        Ok(Self {
            table_name: get("TABLE_NAME"),
            wechat_secret_id: get("WECHAT_SECRET_ID"),
            signing_key_secret_id: get("SIGNING_KEY_SECRET_ID"),
            tokens: TokenSettings {
                issuer: get("TOKEN_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.to_owned()),
                audience: get("TOKEN_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
                access_ttl_secs,
                refresh_ttl_secs,
                refresh_max_lifetime_secs,
                bind_ttl_secs: 600,
                algorithm,
            },
            signup_mode,
            wechat_api_base,
            sms_sender,
            china_sms,
            authorizer_app_ids,
            limits: Limits::read(&get)?,
            event_bus_name: get("EVENT_BUS_NAME"),
        })
    }

    pub fn require_table_name(&self) -> Result<&str, ConfigError> {
        required(&self.table_name, "TABLE_NAME")
    }
    pub fn require_wechat_secret_id(&self) -> Result<&str, ConfigError> {
        required(&self.wechat_secret_id, "WECHAT_SECRET_ID")
    }
    pub fn require_signing_key_secret_id(&self) -> Result<&str, ConfigError> {
        required(&self.signing_key_secret_id, "SIGNING_KEY_SECRET_ID")
    }
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, ConfigError> {
    value
        .as_deref()
        .ok_or_else(|| ConfigError(format!("{name} is not set")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.signup_mode, SignupMode::OpenId);
        assert_eq!(c.tokens.access_ttl_secs, 7200);
        assert_eq!(c.tokens.refresh_ttl_secs, 2_592_000);
        assert_eq!(c.tokens.refresh_max_lifetime_secs, 90 * 86_400);
        assert_eq!(c.wechat_api_base, "https://api.weixin.qq.com");
        assert!(c.require_table_name().is_err());
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let err = config(&[("ACCESS_TOKEN_TTL", "soon")]).unwrap_err();
        assert!(err.0.contains("ACCESS_TOKEN_TTL"), "{err}");
        let err = config(&[("SIGNUP_MODE", "email")]).unwrap_err();
        assert!(err.0.contains("SIGNUP_MODE"), "{err}");
        let err = config(&[("WECHAT_API_BASE", "ftp://x")]).unwrap_err();
        assert!(err.0.contains("WECHAT_API_BASE"), "{err}");
        let err =
            config(&[("ACCESS_TOKEN_TTL", "7200"), ("REFRESH_TOKEN_TTL", "3600")]).unwrap_err();
        assert!(err.0.contains("REFRESH_TOKEN_TTL"), "{err}");
    }

    #[test]
    fn the_log_sms_sender_is_refused_inside_lambda() {
        assert_eq!(
            config(&[("SMS_SENDER", "log")]).unwrap().sms_sender,
            SmsSenderKind::Log
        );
        let err = config(&[
            ("SMS_SENDER", "log"),
            ("AWS_LAMBDA_FUNCTION_NAME", "wxlogin-account"),
        ])
        .unwrap_err();
        assert!(err.0.contains("SMS_SENDER"), "{err}");
        let sns = config(&[("AWS_LAMBDA_FUNCTION_NAME", "wxlogin-account")]).unwrap();
        assert_eq!(sns.sms_sender, SmsSenderKind::Sns);
    }

    const ALIYUN: [(&str, &str); 4] = [
        ("SMS_SENDER", "aliyun"),
        ("SMS_CREDENTIALS_SECRET_ID", "wxlogin/sms"),
        ("SMS_SIGN_NAME", "阿里云短信测试"),
        ("SMS_TEMPLATE_ID", "SMS_154950909"),
    ];

    #[test]
    fn the_aliyun_sender_reads_its_settings_and_names_what_is_missing() {
        let c = config(&ALIYUN).unwrap();
        assert_eq!(c.sms_sender, SmsSenderKind::Aliyun);
        let s = c.china_sms.unwrap();
        assert_eq!(s.credentials_secret_id, "wxlogin/sms");
        assert_eq!(s.sign_name, "阿里云短信测试");
        assert_eq!(s.template_id, "SMS_154950909");
        assert_eq!(s.template_params, TemplateParams::Code);
        assert_eq!((s.endpoint_url, s.tencent), (None, None));
        for missing in [
            "SMS_CREDENTIALS_SECRET_ID",
            "SMS_SIGN_NAME",
            "SMS_TEMPLATE_ID",
        ] {
            let pairs: Vec<_> = ALIYUN
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let err = config(&pairs).unwrap_err();
            assert!(err.0.contains(missing), "{err}");
        }
        let mut pairs = ALIYUN.to_vec();
        pairs.extend([
            ("SMS_TEMPLATE_PARAMS", "code,minutes"),
            ("SMS_ENDPOINT_URL", "http://127.0.0.1:9/"),
        ]);
        let s = config(&pairs).unwrap().china_sms.unwrap();
        assert_eq!(s.template_params, TemplateParams::CodeAndMinutes);
        assert_eq!(s.endpoint_url.as_deref(), Some("http://127.0.0.1:9"));
        for (name, bad) in [
            ("SMS_TEMPLATE_PARAMS", "minutes"),
            ("SMS_ENDPOINT_URL", "ftp://x"),
            ("SMS_ENDPOINT_URL", "https://x/path"),
            ("SMS_SIGN_NAME", "two\nlines"),
        ] {
            let mut pairs = ALIYUN.to_vec();
            pairs.push((name, bad));
            let err = config(&pairs).unwrap_err();
            assert!(err.0.contains(name), "{err}");
        }
    }

    #[test]
    fn the_tencent_sender_needs_the_app_id_and_defaults_the_region() {
        let mut pairs = ALIYUN.to_vec();
        pairs[0] = ("SMS_SENDER", "tencent");
        let err = config(&pairs).unwrap_err();
        assert!(err.0.contains("TENCENT_SMS_APP_ID"), "{err}");
        pairs.push(("TENCENT_SMS_APP_ID", "1400006666"));
        let c = config(&pairs).unwrap();
        assert_eq!(c.sms_sender, SmsSenderKind::Tencent);
        let t = c.china_sms.unwrap().tencent.unwrap();
        assert_eq!(
            (t.app_id.as_str(), t.region.as_str()),
            ("1400006666", "ap-guangzhou")
        );
        pairs.push(("TENCENT_SMS_REGION", "ap-beijing"));
        let t = config(&pairs).unwrap().china_sms.unwrap().tencent.unwrap();
        assert_eq!(t.region, "ap-beijing");
        pairs.push(("TENCENT_SMS_REGION", "Guangzhou!"));
        assert!(config(&pairs).unwrap_err().0.contains("TENCENT_SMS_REGION"));
        let bad_app = [("SMS_SENDER", "tencent"), ("TENCENT_SMS_APP_ID", "app-1")];
        let mut pairs = ALIYUN[1..].to_vec();
        pairs.extend(bad_app);
        assert!(config(&pairs).unwrap_err().0.contains("TENCENT_SMS_APP_ID"));
        // Unused elsewhere: SNS ignores them.
        assert_eq!(config(&[]).unwrap().china_sms, None);
        assert!(
            config(&[("SMS_SENDER", "twilio")])
                .unwrap_err()
                .0
                .contains("SMS_SENDER")
        );
    }

    #[test]
    fn the_absolute_refresh_lifetime_is_read_and_checked() {
        let c = config(&[("REFRESH_TOKEN_MAX_LIFETIME", "864000")]).unwrap();
        assert_eq!(c.tokens.refresh_max_lifetime_secs, 864_000);
        let err = config(&[("REFRESH_TOKEN_MAX_LIFETIME", "forever")]).unwrap_err();
        assert!(err.0.contains("REFRESH_TOKEN_MAX_LIFETIME"), "{err}");
    }

    #[test]
    fn the_authorizer_app_list_is_read_and_checked() {
        assert!(config(&[]).unwrap().authorizer_app_ids.is_empty());
        let c = config(&[(
            "AUTHORIZER_APP_IDS",
            "wx0123456789abcdef, wxfedcba9876543210",
        )])
        .unwrap();
        assert_eq!(
            c.authorizer_app_ids,
            ["wx0123456789abcdef", "wxfedcba9876543210"]
        );
        let err = config(&[("AUTHORIZER_APP_IDS", "wx01;drop")]).unwrap_err();
        assert!(err.0.contains("AUTHORIZER_APP_IDS"), "{err}");
    }

    #[test]
    fn phone_mode_and_trailing_slash_are_read() {
        let c = config(&[
            ("SIGNUP_MODE", "phone"),
            ("WECHAT_API_BASE", "http://127.0.0.1:9/"),
        ])
        .unwrap();
        assert_eq!(c.signup_mode, SignupMode::Phone);
        assert_eq!(c.wechat_api_base, "http://127.0.0.1:9");
    }
}
