//! Alibaba Cloud SMS: `SendSms` of dysmsapi (API version 2017-05-25, RPC style: POST with the
//! parameters in the query, empty body), signed with signature V3 (`aliyun_sign`). Success is
//! `Code == "OK"`; any other code (HTTP 200 for business errors, 4xx for signature errors) is
//! a failure that names the code only, never the phone, the message or the key.

use super::aliyun_sign;
use super::china::{ProviderCode, TemplateMessage};
use super::credentials::AliyunCredentials;
use super::transport::{Reply, SmsHttp};
use super::{SendFuture, SmsSender, VerificationCode};
use crate::config::ChinaSmsSettings;
use crate::crypto::{hex, random_bytes, sha256_hex};
use crate::domain::PhoneNumber;
use crate::secrets::{CachedSecret, SecretSource};
use serde::Deserialize;

pub const DEFAULT_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com";
pub const ACTION: &str = "SendSms";
pub const VERSION: &str = "2017-05-25";
const PROVIDER: &str = "Alibaba Cloud SMS";

/// Alibaba's `PhoneNumbers`: the 11 national digits for mainland China, otherwise the country
/// code and number without `+` (its international format).
pub fn phone_numbers(phone: &PhoneNumber) -> &str {
    let e164 = phone.e164();
    e164.strip_prefix("+86")
        .or_else(|| e164.strip_prefix('+'))
        .unwrap_or(e164)
}

/// One signed SendSms request, ready to send: the URL (with the canonical query) and the
/// headers. Built from fixed inputs so tests can check every byte.
#[derive(Debug)]
pub struct SignedRequest {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
}

/// Signs `params` for `endpoint` (`scheme://host[:port]`) at `date` (`yyyy-MM-ddTHH:mm:ssZ`)
/// with `nonce`.
pub fn sign(
    endpoint: &str,
    params: &[(&str, &str)],
    credentials: &AliyunCredentials,
    date: &str,
    nonce: &str,
) -> SignedRequest {
    let host = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let query = aliyun_sign::canonical_query(params);
    let payload_hash = sha256_hex(b"");
    let mut headers: Vec<(&'static str, String)> = vec![
        ("host", host.to_owned()),
        ("x-acs-action", ACTION.to_owned()),
        ("x-acs-version", VERSION.to_owned()),
        ("x-acs-date", date.to_owned()),
        ("x-acs-signature-nonce", nonce.to_owned()),
        ("x-acs-content-sha256", payload_hash.clone()),
    ];
    let signed: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (canonical, signed_headers) =
        aliyun_sign::canonical_request("POST", "/", &query, &signed, &payload_hash);
    let signature = aliyun_sign::signature(
        credentials.secret(),
        &aliyun_sign::string_to_sign(&canonical),
    );
    headers.push((
        "authorization",
        aliyun_sign::authorization(&credentials.access_key_id, &signed_headers, &signature),
    ));
    SignedRequest {
        url: format!("{endpoint}/?{query}"),
        headers,
    }
}

/// Decodes a SendSms reply: `Ok` for `Code == "OK"`, else the code (or why the reply is
/// unusable), whatever the HTTP status.
pub fn decode(reply: &Reply) -> Result<(), String> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Code")]
        code: Option<serde_json::Value>,
    }
    let code = serde_json::from_slice::<Answer>(&reply.body)
        .ok()
        .and_then(|a| a.code)
        .and_then(|c| c.as_str().map(str::to_owned));
    match code.as_deref() {
        Some("OK") => Ok(()),
        Some(other) => {
            let code = ProviderCode::new(other);
            tracing::warn!(provider = PROVIDER, code = %code, http_status = reply.status, "SMS refused");
            Err(format!("{PROVIDER} refused the message: {code}"))
        }
        None => Err(format!(
            "{PROVIDER} gave an unusable reply (HTTP {})",
            reply.status
        )),
    }
}

/// The production sender: credentials from the secret cache, one signed request per SMS.
pub struct AliyunSms<S: SecretSource> {
    http: SmsHttp,
    endpoint: String,
    template: TemplateMessage,
    credentials: CachedSecret<S, AliyunCredentials>,
}

impl<S: SecretSource> AliyunSms<S> {
    pub fn new(
        http: SmsHttp,
        settings: &ChinaSmsSettings,
        credentials: CachedSecret<S, AliyunCredentials>,
    ) -> Self {
        Self {
            http,
            endpoint: settings
                .endpoint_url
                .clone()
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
            template: TemplateMessage::new(settings),
            credentials,
        }
    }

    /// The SendSms parameters for one code (TemplateParam as a JSON object).
    pub fn params(&self, phone: &PhoneNumber, code: VerificationCode<'_>) -> Vec<(String, String)> {
        vec![
            ("PhoneNumbers".to_owned(), phone_numbers(phone).to_owned()),
            ("SignName".to_owned(), self.template.sign_name.clone()),
            ("TemplateCode".to_owned(), self.template.template_id.clone()),
            ("TemplateParam".to_owned(), self.template.json_object(code)),
        ]
    }
}

impl<S: SecretSource> SmsSender for AliyunSms<S> {
    fn send<'a>(&'a self, phone: &'a PhoneNumber, code: VerificationCode<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            let credentials = self
                .credentials
                .get()
                .await
                .map_err(|e| format!("{PROVIDER}: credentials unavailable: {e}"))?;
            let params = self.params(phone, code);
            let params: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let reply = self
                .http
                .send(PROVIDER, |timeout| {
                    let date =
                        humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
                    let nonce = hex(&random_bytes::<16>());
                    let signed = sign(&self.endpoint, &params, &credentials, &date, &nonce);
                    let mut request = self.http.client().post(&signed.url).timeout(timeout);
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

    fn settings(params: TemplateParams) -> ChinaSmsSettings {
        ChinaSmsSettings {
            credentials_secret_id: "sms".into(),
            sign_name: "阿里云短信测试".into(),
            template_id: "SMS_154950909".into(),
            template_params: params,
            endpoint_url: Some("http://127.0.0.1:4567".into()),
            tencent: None,
        }
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn mainland_numbers_go_as_national_digits_others_with_their_country_code() {
        let cn = PhoneNumber::parse_e164("+8613800138000").unwrap();
        let hk = PhoneNumber::parse_e164("+85261234567").unwrap();
        assert_eq!(phone_numbers(&cn), "13800138000");
        assert_eq!(phone_numbers(&hk), "85261234567");
    }

    #[test]
    fn a_request_carries_the_template_and_is_signed_over_what_is_sent() {
        let creds = AliyunCredentials::new("LTAI5tTest", "test-secret");
        let query: Vec<(String, String)> = vec![
            ("PhoneNumbers".into(), "13800138000".into()),
            ("SignName".into(), "阿里云短信测试".into()),
            ("TemplateCode".into(), "SMS_154950909".into()),
            ("TemplateParam".into(), r#"{"code":"123456"}"#.into()),
        ];
        let params: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let signed = sign(
            "http://127.0.0.1:4567",
            &params,
            &creds,
            "2026-11-02T08:00:00Z",
            "0123456789abcdef0123456789abcdef",
        );
        assert_eq!(
            signed.url,
            "http://127.0.0.1:4567/?PhoneNumbers=13800138000\
             &SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95\
             &TemplateCode=SMS_154950909&TemplateParam=%7B%22code%22%3A%22123456%22%7D"
        );
        let header = |name: &str| {
            signed
                .headers
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(header("host"), "127.0.0.1:4567");
        assert_eq!(header("x-acs-action"), "SendSms");
        assert_eq!(header("x-acs-version"), "2017-05-25");
        assert_eq!(header("x-acs-content-sha256"), sha256_hex(b""));
        // The signature recomputed by hand from the documented steps over these exact bytes.
        let canonical = format!(
            "POST\n/\n{}\nhost:127.0.0.1:4567\nx-acs-action:SendSms\nx-acs-content-sha256:{empty}\n\
             x-acs-date:2026-11-02T08:00:00Z\nx-acs-signature-nonce:0123456789abcdef0123456789abcdef\n\
             x-acs-version:2017-05-25\n\n\
             host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n{empty}",
            signed.url.split_once('?').unwrap().1,
            empty = sha256_hex(b"")
        );
        let expected = crate::crypto::hmac_sha256_hex(
            b"test-secret",
            format!("ACS3-HMAC-SHA256\n{}", sha256_hex(canonical.as_bytes())).as_bytes(),
        );
        assert_eq!(
            header("authorization"),
            format!(
                "ACS3-HMAC-SHA256 Credential=LTAI5tTest,SignedHeaders=host;x-acs-action;\
                 x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature={expected}"
            )
        );
    }

    #[test]
    fn the_parameters_hold_the_code_and_the_minutes_when_the_template_takes_them() {
        let secrets = std::sync::Arc::new(crate::secrets::InMemorySecrets::new());
        let clock = std::sync::Arc::new(crate::clock::SystemClock);
        let cache = |s: &std::sync::Arc<crate::secrets::InMemorySecrets>| {
            CachedSecret::new(s.clone(), "sms", AliyunCredentials::parse, clock.clone())
        };
        let phone = PhoneNumber::parse_e164("+8613800138000").unwrap();
        let code = VerificationCode::new("042917", 300);
        let one = AliyunSms::new(
            SmsHttp::new().unwrap(),
            &settings(TemplateParams::Code),
            cache(&secrets),
        );
        let params = one.params(&phone, code);
        assert_eq!(params[0], ("PhoneNumbers".into(), "13800138000".into()));
        assert_eq!(params[1], ("SignName".into(), "阿里云短信测试".into()));
        assert_eq!(params[2], ("TemplateCode".into(), "SMS_154950909".into()));
        assert_eq!(
            params[3],
            ("TemplateParam".into(), r#"{"code":"042917"}"#.into())
        );
        let two = AliyunSms::new(
            SmsHttp::new().unwrap(),
            &settings(TemplateParams::CodeAndMinutes),
            cache(&secrets),
        );
        assert_eq!(
            two.params(&phone, code)[3].1,
            r#"{"code":"042917","minutes":"5"}"#
        );
    }

    #[test]
    fn ok_is_success_and_every_other_code_is_a_failure_naming_the_code_only() {
        assert_eq!(
            decode(&reply(
                200,
                r#"{"Code":"OK","Message":"OK","BizId":"9006197469364984400","RequestId":"F655A8D5"}"#
            )),
            Ok(())
        );
        let limited = decode(&reply(
            200,
            r#"{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控 13800138000","RequestId":"x"}"#,
        ))
        .unwrap_err();
        assert!(limited.contains("isv.BUSINESS_LIMIT_CONTROL"), "{limited}");
        assert!(
            !limited.contains("13800138000") && !limited.contains("流控"),
            "{limited}"
        );
        let signature = decode(&reply(
            400,
            r#"{"RequestId":"x","HostId":"dysmsapi.aliyuncs.com","Code":"SignatureDoesNotMatch","Message":"Specified signature does not match our calculation."}"#,
        ))
        .unwrap_err();
        assert!(signature.contains("SignatureDoesNotMatch"), "{signature}");
    }

    #[test]
    fn malformed_replies_are_failures() {
        for (status, body) in [
            (200, ""),
            (200, "<html>busy</html>"),
            (200, "[]"),
            (200, r#"{"Message":"OK"}"#),
            (200, r#"{"Code":0}"#),
            (200, r#"{"Code":null}"#),
            (502, r#"{"Code":"OK""#),
        ] {
            let err = decode(&reply(status, body)).unwrap_err();
            assert!(err.contains("unusable reply"), "{body}: {err}");
        }
        // "ok" is not "OK": the provider's success code is exact.
        assert!(decode(&reply(200, r#"{"Code":"ok"}"#)).is_err());
        // A code that is not an identifier is not repeated (it could carry anything).
        let err = decode(&reply(200, r#"{"Code":"X 13800138000\nforged log line"}"#)).unwrap_err();
        assert!(
            !err.contains("13800138000") && !err.contains("forged"),
            "{err}"
        );
    }
}
