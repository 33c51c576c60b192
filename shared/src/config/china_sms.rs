//! The settings of the China SMS senders (`SMS_SENDER=aliyun|tencent`), read and checked at
//! cold start: template, sign name, credentials secret id, endpoint override, and Tencent's
//! SmsSdkAppId and region. Ids and names only: the credentials live in Secrets Manager.

use super::ConfigError;

/// What the approved template takes, in order (`SMS_TEMPLATE_PARAMS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateParams {
    /// The code only: Alibaba `{"code": "123456"}`, Tencent `["123456"]` (the default).
    Code,
    /// The code, then its lifetime in minutes: Alibaba `{"code": "123456", "minutes": "5"}`,
    /// Tencent `["123456", "5"]`.
    CodeAndMinutes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChinaSmsSettings {
    /// `SMS_CREDENTIALS_SECRET_ID`: the Secrets Manager secret with the provider's key pair.
    pub credentials_secret_id: String,
    /// `SMS_SIGN_NAME`: the approved signature (签名), e.g. `某某科技`.
    pub sign_name: String,
    /// `SMS_TEMPLATE_ID`: Alibaba's TemplateCode (`SMS_123456789`) or Tencent's TemplateId.
    pub template_id: String,
    pub template_params: TemplateParams,
    /// `SMS_ENDPOINT_URL`: another base URL (tests: the fake); `None`: the provider's host.
    pub endpoint_url: Option<String>,
    /// Tencent only.
    pub tencent: Option<TencentSmsSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TencentSmsSettings {
    /// `TENCENT_SMS_APP_ID`: the SmsSdkAppId (`1400…`).
    pub app_id: String,
    /// `TENCENT_SMS_REGION`: `ap-guangzhou` (default), `ap-beijing` or `ap-nanjing`.
    pub region: String,
}

pub const DEFAULT_TENCENT_REGION: &str = "ap-guangzhou";

/// A printable single-line value of at most `max` characters (it goes into a header or a
/// signed parameter as is).
fn plain(name: &str, value: String, max: usize) -> Result<String, ConfigError> {
    let value = value.trim().to_owned();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ConfigError(format!(
            "{name} must be one line of at most {max} characters"
        )));
    }
    Ok(value)
}

/// Reads the settings for `tencent` (else Alibaba) through `get` (blank counts as unset).
pub fn read(
    get: &dyn Fn(&str) -> Option<String>,
    tencent: bool,
) -> Result<ChinaSmsSettings, ConfigError> {
    let required = |name: &str| {
        get(name).ok_or_else(|| {
            ConfigError(format!(
                "{name} is required with SMS_SENDER={}",
                if tencent { "tencent" } else { "aliyun" }
            ))
        })
    };
    let credentials_secret_id = required("SMS_CREDENTIALS_SECRET_ID")?;
    let sign_name = plain("SMS_SIGN_NAME", required("SMS_SIGN_NAME")?, 64)?;
    let template_id = plain("SMS_TEMPLATE_ID", required("SMS_TEMPLATE_ID")?, 64)?;
    let template_params = match get("SMS_TEMPLATE_PARAMS").as_deref().map(str::trim) {
        None | Some("code") => TemplateParams::Code,
        Some("code,minutes") => TemplateParams::CodeAndMinutes,
        Some(other) => {
            return Err(ConfigError(format!(
                "SMS_TEMPLATE_PARAMS must be \"code\" or \"code,minutes\", got {other:?}"
            )));
        }
    };
    let endpoint_url = match get("SMS_ENDPOINT_URL") {
        None => None,
        Some(raw) => {
            let url = raw.trim().trim_end_matches('/').to_owned();
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || authority(&url).is_none()
            {
                return Err(ConfigError(format!(
                    "SMS_ENDPOINT_URL must be an http(s) URL without a path, got {url:?}"
                )));
            }
            Some(url)
        }
    };
    let tencent = if tencent {
        let app_id = required("TENCENT_SMS_APP_ID")?;
        let app_id = app_id.trim().to_owned();
        if app_id.is_empty() || app_id.len() > 20 || !app_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(ConfigError(format!(
                "TENCENT_SMS_APP_ID must be the SmsSdkAppId (digits), got {app_id:?}"
            )));
        }
        let region = get("TENCENT_SMS_REGION")
            .map(|r| r.trim().to_owned())
            .unwrap_or_else(|| DEFAULT_TENCENT_REGION.to_owned());
        if region.is_empty()
            || region.len() > 32
            || !region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(ConfigError(format!(
                "TENCENT_SMS_REGION must be a region such as ap-guangzhou, got {region:?}"
            )));
        }
        Some(TencentSmsSettings { app_id, region })
    } else {
        None
    };
    Ok(ChinaSmsSettings {
        credentials_secret_id,
        sign_name,
        template_id,
        template_params,
        endpoint_url,
        tencent,
    })
}

/// The `host[:port]` of `scheme://host[:port]` when nothing follows it.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    (!rest.is_empty() && !rest.contains(['/', '?', '#', '@', ' '])).then_some(rest)
}
