//! A fake Tencent Cloud SMS (API 3.0 `SendSms`, version 2021-01-11) over real HTTP. It
//! verifies each request's `TC3-HMAC-SHA256` signature as Tencent documents it, recomputed from
//! the request it received with the known SecretKey, using its own canonicalisation and UTC
//! date arithmetic (nothing shared with `sms::tencent_sign`; both are pinned by the documented
//! example), answers Tencent's error shape (`Response.Error`: `AuthFailure.SignatureFailure`,
//! `AuthFailure.SecretIdNotFound`, `AuthFailure.SignatureExpire`, `MissingParameter`, …), checks
//! the SendSms parameters, and records what it accepted in an [`Outbox`].

use super::server::{Handler, HttpServer, serve};
use super::sms_outbox::{FakeSms, Outbox};
use crate::crypto::{constant_time_eq, hex, hmac_sha256, random_id, sha256_hex};
use crate::http::{HttpRequest, HttpResponse};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// How far `X-TC-Timestamp` may be from the fake's clock (the documentation: 5 minutes).
const MAX_SKEW_SECS: u64 = 300;

#[derive(Default)]
struct State {
    keys: HashMap<String, String>,
    apps: HashSet<String>,
    /// Send statuses to answer next (one per request), e.g. `LimitExceeded.PhoneNumberDailyLimit`.
    status_next: VecDeque<String>,
    /// Whole-request errors to answer next (`Response.Error`).
    error_next: VecDeque<String>,
}

/// The handle tests hold. Cloning shares the state.
#[derive(Clone, Default)]
pub struct FakeTencentSms {
    state: Arc<Mutex<State>>,
    outbox: Outbox,
}

impl FakeTencentSms {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A SecretId/SecretKey pair the fake accepts.
    pub fn add_key(&self, secret_id: &str, secret_key: &str) -> &Self {
        self.lock()
            .keys
            .insert(secret_id.to_owned(), secret_key.to_owned());
        self
    }

    /// An SmsSdkAppId the fake knows.
    pub fn add_app(&self, sms_sdk_app_id: &str) -> &Self {
        self.lock().apps.insert(sms_sdk_app_id.to_owned());
        self
    }

    /// The next well-signed SendSms gets this send-status code instead of `Ok`.
    pub fn refuse_next(&self, code: &str) {
        self.lock().status_next.push_back(code.to_owned());
    }

    /// The next well-signed SendSms gets this `Response.Error` code.
    pub fn fail_next(&self, code: &str) {
        self.lock().error_next.push_back(code.to_owned());
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub async fn start(&self, port: u16) -> std::io::Result<HttpServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let fake = self.clone();
        let handler: Handler = Arc::new(move |req| {
            let fake = fake.clone();
            Box::pin(async move { fake.handle(&req) })
        });
        serve(listener, handler)
    }

    fn handle(&self, req: &HttpRequest) -> HttpResponse {
        self.outbox.called();
        let request_id = random_id(10);
        match self.accept(req) {
            Ok((sms, status)) => {
                if status == "Ok" {
                    self.outbox.record(sms.clone());
                } else {
                    self.outbox.refused(&status);
                }
                let message = if status == "Ok" {
                    "send success"
                } else {
                    "fake refusal"
                };
                HttpResponse::json(
                    200,
                    &json!({"Response": {"SendStatusSet": [{"SerialNo": random_id(10),
                        "PhoneNumber": sms.phone, "Fee": 1, "SessionContext": "", "Code": status,
                        "Message": message, "IsoCode": "CN"}], "RequestId": request_id}}),
                )
            }
            Err(code) => {
                self.outbox.refused(&code);
                HttpResponse::json(
                    200,
                    &json!({"Response": {"Error": {"Code": code, "Message": "fake refusal"},
                        "RequestId": request_id}}),
                )
            }
        }
    }

    fn accept(&self, req: &HttpRequest) -> Result<(FakeSms, String), String> {
        if req.method != "POST" || req.path != "/" {
            return Err("UnsupportedOperation".to_owned());
        }
        let keys = self.lock().keys.clone();
        verify(req, "sms", |id| keys.get(id).cloned(), now()).map_err(str::to_owned)?;
        if req.header("x-tc-action") != Some("SendSms") {
            return Err("InvalidAction".to_owned());
        }
        if req.header("x-tc-version") != Some("2021-01-11") {
            return Err("NoSuchVersion".to_owned());
        }
        if req.header("x-tc-region").is_none_or(str::is_empty) {
            return Err("MissingParameter".to_owned());
        }
        if let Some(code) = self.lock().error_next.pop_front() {
            return Err(code);
        }
        let sms = send_sms(&req.body, &self.lock().apps).map_err(str::to_owned)?;
        let status = self
            .lock()
            .status_next
            .pop_front()
            .unwrap_or_else(|| "Ok".to_owned());
        Ok((sms, status))
    }
}

fn now() -> u64 {
    crate::clock::Clock::now(&crate::clock::SystemClock)
}

/// SendSms's own checks, after authentication: one E.164 phone (this fake), a known app, a
/// template id, a sign name and string template values.
fn send_sms(body: &[u8], apps: &HashSet<String>) -> Result<FakeSms, &'static str> {
    let body: Value = serde_json::from_slice(body).map_err(|_| "InvalidParameter")?;
    let text = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let phones = body
        .get("PhoneNumberSet")
        .and_then(Value::as_array)
        .ok_or("MissingParameter")?;
    let [phone] = phones.as_slice() else {
        return Err("InvalidParameterValue.IncorrectPhoneNumber");
    };
    let phone = phone.as_str().unwrap_or_default();
    let digits = phone.strip_prefix('+').unwrap_or_default();
    if digits.len() < 6 || digits.len() > 15 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err("InvalidParameterValue.IncorrectPhoneNumber");
    }
    let app = text("SmsSdkAppId").ok_or("MissingParameter")?;
    if !apps.contains(app) {
        return Err("InvalidParameterValue.SdkAppIdNotExist");
    }
    let template_id = text("TemplateId").ok_or("MissingParameter")?;
    let sign_name = text("SignName").ok_or("MissingParameter")?;
    let template_params = match body.get("TemplateParamSet") {
        None => json!([]),
        Some(Value::Array(values)) if values.iter().all(Value::is_string) => {
            Value::Array(values.clone())
        }
        Some(_) => return Err("InvalidParameterValue.TemplateParameterFormatError"),
    };
    Ok(FakeSms {
        phone: phone.to_owned(),
        sign_name: sign_name.to_owned(),
        template_id: template_id.to_owned(),
        template_params,
    })
}

/// `YYYY-MM-DD` (UTC) of a Unix timestamp, by the civil-from-days algorithm (the fake's own).
fn utc_date(timestamp: u64) -> String {
    let days = i64::try_from(timestamp / 86_400).unwrap_or(0) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Verifies the request's `TC3-HMAC-SHA256` signature as documented, from what it carries:
/// the Authorization header's credential (id, date, service), signed headers and signature,
/// `X-TC-Timestamp`, the headers' lower-cased values and the body. Returns Tencent's error code.
pub fn verify(
    req: &HttpRequest,
    service: &str,
    secret_of: impl Fn(&str) -> Option<String>,
    now: u64,
) -> Result<(), &'static str> {
    let invalid = "AuthFailure.InvalidAuthorization";
    let failure = "AuthFailure.SignatureFailure";
    let auth = req
        .header("authorization")
        .ok_or("AuthFailure.MFAFailure")?;
    let fields = auth.strip_prefix("TC3-HMAC-SHA256 ").ok_or(invalid)?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for field in fields.split(',') {
        match field.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => return Err(invalid),
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(invalid);
    };
    let mut scope = credential.split('/');
    let (Some(secret_id), Some(date), Some(scope_service), Some("tc3_request"), None) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return Err(invalid);
    };
    let timestamp: u64 = req
        .header("x-tc-timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or("MissingParameter")?;
    if timestamp.abs_diff(now) > MAX_SKEW_SECS {
        return Err("AuthFailure.SignatureExpire");
    }
    if date != utc_date(timestamp) || scope_service != service {
        return Err(failure);
    }
    let secret_key = secret_of(secret_id).ok_or("AuthFailure.SecretIdNotFound")?;

    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"content-type") || !names.contains(&"host") {
        return Err(failure);
    }
    let mut canonical_headers = String::new();
    for name in &names {
        let value = req.header(name).ok_or(failure)?;
        canonical_headers.push_str(&format!(
            "{}:{}\n",
            name.to_ascii_lowercase(),
            value.trim().to_ascii_lowercase()
        ));
    }
    let canonical_request = format!(
        "{}\n/\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        req.method,
        req.query,
        sha256_hex(&req.body)
    );
    let string_to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, service.as_bytes());
    let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
    let expected = hex(&hmac_sha256(&secret_signing, string_to_sign.as_bytes()));
    if constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        Ok(())
    } else {
        Err(failure)
    }
}

#[cfg(test)]
mod tests {
    //! The verifier against the worked example of "签名方法 v3":
    //! https://cloud.tencent.com/document/api/213/30654 (SecretId `AKID` + 32 `*`, SecretKey
    //! 32 `*`, timestamp 1551113065, CVM DescribeInstances).
    use super::*;

    const DOC_TIMESTAMP: u64 = 1_551_113_065;
    const DOC_ID: &str = "AKID********************************";

    fn doc_request() -> HttpRequest {
        let header = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        HttpRequest {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            headers: vec![
                header("authorization", "TC3-HMAC-SHA256 Credential=AKID********************************/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f"),
                header("content-type", "application/json; charset=utf-8"),
                header("host", "cvm.tencentcloudapi.com"),
                header("x-tc-action", "DescribeInstances"),
                header("x-tc-version", "2017-03-12"),
                header("x-tc-timestamp", "1551113065"),
                header("x-tc-region", "ap-guangzhou"),
            ],
            body: br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#.to_vec(),
            source_ip: None,
            request_id: "t".into(),
            authorizer: None,
        }
    }

    fn doc_secret(id: &str) -> Option<String> {
        (id == DOC_ID).then(|| "*".repeat(32))
    }

    #[test]
    fn the_documented_request_verifies() {
        assert_eq!(
            verify(&doc_request(), "cvm", doc_secret, DOC_TIMESTAMP),
            Ok(())
        );
    }

    #[test]
    fn any_change_to_a_signed_part_or_the_key_is_a_signature_failure() {
        let failure = Err("AuthFailure.SignatureFailure");
        let wrong = |_: &str| Some("*".repeat(31));
        assert_eq!(verify(&doc_request(), "cvm", wrong, DOC_TIMESTAMP), failure);
        let mut r = doc_request();
        r.body[10] = b'2';
        assert_eq!(verify(&r, "cvm", doc_secret, DOC_TIMESTAMP), failure);
        let mut r = doc_request();
        r.headers[3].1 = "RunInstances".into();
        assert_eq!(verify(&r, "cvm", doc_secret, DOC_TIMESTAMP), failure);
        // Signed for cvm, presented to sms.
        assert_eq!(
            verify(&doc_request(), "sms", doc_secret, DOC_TIMESTAMP),
            failure
        );
        // The header's value is canonicalised lower-case: its case does not matter.
        let mut r = doc_request();
        r.headers[3].1 = "describeINSTANCES".into();
        assert_eq!(verify(&r, "cvm", doc_secret, DOC_TIMESTAMP), Ok(()));
    }

    #[test]
    fn unknown_ids_stale_timestamps_and_bad_scopes_are_refused() {
        assert_eq!(
            verify(&doc_request(), "cvm", |_| None, DOC_TIMESTAMP),
            Err("AuthFailure.SecretIdNotFound")
        );
        assert_eq!(
            verify(&doc_request(), "cvm", doc_secret, DOC_TIMESTAMP + 301),
            Err("AuthFailure.SignatureExpire")
        );
        let mut r = doc_request();
        r.headers[0].1 = r.headers[0].1.replace("2019-02-25", "2019-02-26");
        assert_eq!(
            verify(&r, "cvm", doc_secret, DOC_TIMESTAMP),
            Err("AuthFailure.SignatureFailure")
        );
        let mut r = doc_request();
        r.headers[0].1 = "TC3-HMAC-SHA256 Signature=abc".into();
        assert_eq!(
            verify(&r, "cvm", doc_secret, DOC_TIMESTAMP),
            Err("AuthFailure.InvalidAuthorization")
        );
    }

    #[test]
    fn the_utc_date_is_the_documented_one_and_crosses_midnight_in_utc() {
        assert_eq!(utc_date(DOC_TIMESTAMP), "2019-02-25");
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_551_139_199), "2019-02-25");
        assert_eq!(utc_date(1_551_139_200), "2019-02-26");
    }

    #[test]
    fn send_sms_needs_its_parameters() {
        let apps: HashSet<String> = ["1400006666".to_owned()].into_iter().collect();
        let ok = json!({"PhoneNumberSet": ["+8613800138000"], "SmsSdkAppId": "1400006666",
            "SignName": "腾讯云", "TemplateId": "449739", "TemplateParamSet": ["123456", "5"]});
        let sms = send_sms(ok.to_string().as_bytes(), &apps).unwrap();
        assert_eq!(
            (sms.code(), sms.phone.as_str()),
            (Some("123456"), "+8613800138000")
        );
        for (name, value, code) in [
            (
                "PhoneNumberSet",
                json!(["13800138000"]),
                "InvalidParameterValue.IncorrectPhoneNumber",
            ),
            (
                "PhoneNumberSet",
                json!([]),
                "InvalidParameterValue.IncorrectPhoneNumber",
            ),
            (
                "SmsSdkAppId",
                json!("1400000000"),
                "InvalidParameterValue.SdkAppIdNotExist",
            ),
            ("TemplateId", json!(""), "MissingParameter"),
            ("SignName", Value::Null, "MissingParameter"),
            (
                "TemplateParamSet",
                json!([123456]),
                "InvalidParameterValue.TemplateParameterFormatError",
            ),
        ] {
            let mut body = ok.clone();
            body[name] = value;
            assert_eq!(
                send_sms(body.to_string().as_bytes(), &apps).err(),
                Some(code),
                "{name}"
            );
        }
        assert_eq!(send_sms(b"not json", &apps).err(), Some("InvalidParameter"));
    }
}
