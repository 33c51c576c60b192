//! Tencent Cloud SMS: `SendSms` (API 3.0, version 2021-01-11, service `sms`, a region), a
//! JSON POST signed with `TC3-HMAC-SHA256` (`tencent_sign`) over content-type, host and
//! x-tc-action. Success is `Response.SendStatusSet[0].Code == "Ok"`; `Response.Error` or any
//! other status code is a failure that names the code only, never the phone or the key.

use super::china::{ProviderCode, TemplateMessage};
use super::credentials::TencentCredentials;
use super::tencent_sign;
use super::transport::{Reply, SmsHttp};
use super::{SendFuture, SmsSender, VerificationCode};
use crate::config::{ChinaSmsSettings, ConfigError, TencentSmsSettings};
use crate::domain::PhoneNumber;
use crate::secrets::{CachedSecret, SecretSource};
use serde::Deserialize;

pub const DEFAULT_ENDPOINT: &str = "https://sms.tencentcloudapi.com";
pub const SERVICE: &str = "sms";
pub const ACTION: &str = "SendSms";
pub const VERSION: &str = "2021-01-11";
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";
const PROVIDER: &str = "Tencent Cloud SMS";

/// One signed SendSms request: URL, headers and the exact body that was signed.
#[derive(Debug)]
pub struct SignedRequest {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// Signs `body` for `endpoint` (`scheme://host[:port]`) in `region` at `timestamp`.
pub fn sign(
    endpoint: &str,
    region: &str,
    body: Vec<u8>,
    credentials: &TencentCredentials,
    timestamp: u64,
) -> SignedRequest {
    let host = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let (canonical, signed_headers) = tencent_sign::canonical_request(
        "POST",
        &[
            ("content-type", CONTENT_TYPE),
            ("host", host),
            ("x-tc-action", ACTION),
        ],
        &body,
    );
    let date = tencent_sign::utc_date(timestamp);
    let scope = tencent_sign::credential_scope(&date, SERVICE);
    let key = tencent_sign::signing_key(credentials.secret(), &date, SERVICE);
    let signature = tencent_sign::signature(
        &key,
        &tencent_sign::string_to_sign(timestamp, &scope, &canonical),
    );
    let authorization =
        tencent_sign::authorization(&credentials.secret_id, &scope, &signed_headers, &signature);
    SignedRequest {
        url: format!("{endpoint}/"),
        headers: vec![
            ("authorization", authorization),
            ("content-type", CONTENT_TYPE.to_owned()),
            ("host", host.to_owned()),
            ("x-tc-action", ACTION.to_owned()),
            ("x-tc-version", VERSION.to_owned()),
            ("x-tc-timestamp", timestamp.to_string()),
            ("x-tc-region", region.to_owned()),
        ],
        body,
    }
}

/// Decodes a SendSms reply (HTTP 200 with `Response.Error` for API errors).
pub fn decode(reply: &Reply) -> Result<(), String> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "Response")]
        response: Response,
    }
    #[derive(Deserialize)]
    struct Response {
        #[serde(rename = "Error")]
        error: Option<Coded>,
        #[serde(rename = "SendStatusSet")]
        statuses: Option<Vec<Coded>>,
    }
    #[derive(Deserialize)]
    struct Coded {
        #[serde(rename = "Code")]
        code: String,
    }
    let Ok(Envelope { response }) = serde_json::from_slice::<Envelope>(&reply.body) else {
        return Err(format!(
            "{PROVIDER} gave an unusable reply (HTTP {})",
            reply.status
        ));
    };
    let refused = |code: &str| {
        let code = ProviderCode::new(code);
        tracing::warn!(provider = PROVIDER, code = %code, http_status = reply.status, "SMS refused");
        Err(format!("{PROVIDER} refused the message: {code}"))
    };
    if let Some(error) = response.error {
        return refused(&error.code);
    }
    match response.statuses.as_deref().and_then(<[Coded]>::first) {
        Some(status) if status.code == "Ok" => Ok(()),
        Some(status) => refused(&status.code),
        None => Err(format!(
            "{PROVIDER} gave an unusable reply (no send status, HTTP {})",
            reply.status
        )),
    }
}

/// The production sender: credentials from the secret cache, one signed request per SMS.
pub struct TencentSms<S: SecretSource> {
    http: SmsHttp,
    endpoint: String,
    template: TemplateMessage,
    tencent: TencentSmsSettings,
    credentials: CachedSecret<S, TencentCredentials>,
}

impl<S: SecretSource> TencentSms<S> {
    pub fn new(
        http: SmsHttp,
        settings: &ChinaSmsSettings,
        credentials: CachedSecret<S, TencentCredentials>,
    ) -> Result<Self, ConfigError> {
        let tencent = settings.tencent.clone().ok_or_else(|| {
            ConfigError("TENCENT_SMS_APP_ID is required with SMS_SENDER=tencent".to_owned())
        })?;
        Ok(Self {
            http,
            endpoint: settings
                .endpoint_url
                .clone()
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
            template: TemplateMessage::new(settings),
            tencent,
            credentials,
        })
    }

    /// The SendSms body for one code.
    pub fn body(&self, phone: &PhoneNumber, code: VerificationCode<'_>) -> Vec<u8> {
        serde_json::json!({
            "PhoneNumberSet": [phone.e164()],
            "SmsSdkAppId": self.tencent.app_id,
            "SignName": self.template.sign_name,
            "TemplateId": self.template.template_id,
            "TemplateParamSet": self.template.values(code),
        })
        .to_string()
        .into_bytes()
    }
}

impl<S: SecretSource> SmsSender for TencentSms<S> {
    fn send<'a>(&'a self, phone: &'a PhoneNumber, code: VerificationCode<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            let credentials = self
                .credentials
                .get()
                .await
                .map_err(|e| format!("{PROVIDER}: credentials unavailable: {e}"))?;
            let body = self.body(phone, code);
            let reply = self
                .http
                .send(PROVIDER, |timeout| {
                    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
                    let signed = sign(
                        &self.endpoint,
                        &self.tencent.region,
                        body.clone(),
                        &credentials,
                        now,
                    );
                    let mut request = self
                        .http
                        .client()
                        .post(&signed.url)
                        .timeout(timeout)
                        .body(signed.body);
                    for (name, value) in &signed.headers {
                        request = request.header(*name, value);
                    }
                    Ok(request)
                })
                .await?;
            decode(&reply)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TemplateParams;
    use crate::crypto::{hmac_sha256, hmac_sha256_hex, sha256_hex};

    fn reply(body: &str) -> Reply {
        Reply {
            status: 200,
            body: body.as_bytes().to_vec(),
        }
    }

    fn sender(params: TemplateParams) -> TencentSms<crate::secrets::InMemorySecrets> {
        let settings = ChinaSmsSettings {
            credentials_secret_id: "sms".into(),
            sign_name: "腾讯云".into(),
            template_id: "449739".into(),
            template_params: params,
            endpoint_url: None,
            tencent: Some(TencentSmsSettings {
                app_id: "1400006666".into(),
                region: "ap-guangzhou".into(),
            }),
        };
        let cache = CachedSecret::new(
            std::sync::Arc::new(crate::secrets::InMemorySecrets::new()),
            "sms",
            TencentCredentials::parse,
            std::sync::Arc::new(crate::clock::SystemClock),
        );
        TencentSms::new(SmsHttp::new().unwrap(), &settings, cache).unwrap()
    }

    #[test]
    fn the_body_names_the_app_the_template_and_its_values_in_order() {
        let phone = PhoneNumber::parse_e164("+8613800138000").unwrap();
        let code = VerificationCode::new("042917", 300);
        let body: serde_json::Value =
            serde_json::from_slice(&sender(TemplateParams::Code).body(&phone, code)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"PhoneNumberSet": ["+8613800138000"], "SmsSdkAppId": "1400006666",
                "SignName": "腾讯云", "TemplateId": "449739", "TemplateParamSet": ["042917"]})
        );
        let body: serde_json::Value =
            serde_json::from_slice(&sender(TemplateParams::CodeAndMinutes).body(&phone, code))
                .unwrap();
        assert_eq!(body["TemplateParamSet"], serde_json::json!(["042917", "5"]));
    }

    #[test]
    fn a_request_is_signed_over_the_headers_and_body_that_are_sent() {
        let creds = TencentCredentials::new("AKIDtest", "test-key");
        let body = br#"{"PhoneNumberSet":["+8613800138000"]}"#.to_vec();
        let signed = sign(
            "http://127.0.0.1:4568",
            "ap-beijing",
            body.clone(),
            &creds,
            1_793_000_000,
        );
        assert_eq!(signed.url, "http://127.0.0.1:4568/");
        assert_eq!(signed.body, body);
        let header = |name: &str| {
            signed
                .headers
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(header("x-tc-version"), "2021-01-11");
        assert_eq!(header("x-tc-region"), "ap-beijing");
        assert_eq!(header("x-tc-timestamp"), "1793000000");
        assert_eq!(header("host"), "127.0.0.1:4568");
        // Recomputed by hand from the documented steps.
        let canonical = format!(
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:127.0.0.1:4568\n\
             x-tc-action:sendsms\n\ncontent-type;host;x-tc-action\n{}",
            sha256_hex(&body)
        );
        let date = "2026-10-26";
        let k = hmac_sha256(
            &hmac_sha256(&hmac_sha256(b"TC3test-key", date.as_bytes()), b"sms"),
            b"tc3_request",
        );
        let sts = format!(
            "TC3-HMAC-SHA256\n1793000000\n{date}/sms/tc3_request\n{}",
            sha256_hex(canonical.as_bytes())
        );
        assert_eq!(
            header("authorization"),
            format!(
                "TC3-HMAC-SHA256 Credential=AKIDtest/{date}/sms/tc3_request, \
                 SignedHeaders=content-type;host;x-tc-action, Signature={}",
                hmac_sha256_hex(&k, sts.as_bytes())
            )
        );
    }

    #[test]
    fn ok_is_success_and_errors_or_other_statuses_are_failures_naming_the_code_only() {
        assert_eq!(
            decode(&reply(
                r#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619","PhoneNumber":"+8613800138000","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"a0aabda6"}}"#
            )),
            Ok(())
        );
        let status = decode(&reply(
            r#"{"Response":{"SendStatusSet":[{"PhoneNumber":"+8613800138000","Code":"LimitExceeded.PhoneNumberDailyLimit","Message":"13800138000 over the limit"}],"RequestId":"x"}}"#,
        ))
        .unwrap_err();
        assert!(
            status.contains("LimitExceeded.PhoneNumberDailyLimit"),
            "{status}"
        );
        assert!(!status.contains("13800138000"), "{status}");
        let error = decode(&reply(
            r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"The provided credentials could not be validated."},"RequestId":"x"}}"#,
        ))
        .unwrap_err();
        assert!(error.contains("AuthFailure.SignatureFailure"), "{error}");
    }

    #[test]
    fn malformed_replies_are_failures() {
        for body in [
            "",
            "<html/>",
            "{}",
            r#"{"Response":{}}"#,
            r#"{"Response":{"SendStatusSet":[]}}"#,
            r#"{"Response":{"SendStatusSet":[{"Message":"Ok"}]}}"#,
            r#"{"Response":{"SendStatusSet":"Ok"}}"#,
            r#"{"Response":{"Error":{"Code":7}}}"#,
        ] {
            assert!(decode(&reply(body)).is_err(), "{body}");
        }
        assert!(decode(&reply(r#"{"Response":{"SendStatusSet":[{"Code":"OK"}]}}"#)).is_err());
    }
}
