//! A fake Alibaba Cloud SMS (dysmsapi 2017-05-25 `SendSms`, signature V3) over real HTTP.
//! It verifies each request's `ACS3-HMAC-SHA256` signature as Alibaba documents it, recomputed
//! from the request it received with the known AccessKey secret, using its own
//! canonicalisation (nothing shared with `sms::aliyun_sign`; both are pinned by the documented
//! example), answers Alibaba's error shapes (`SignatureDoesNotMatch`, `SignatureNonceUsed`,
//! `InvalidAccessKeyId.NotFound`, `Missing<Param>`, `isv.*`), checks the SendSms parameters,
//! and records what it accepted in an [`Outbox`].

use super::server::{Handler, HttpServer, serve};
use super::sms_outbox::{FakeSms, Outbox};
use crate::crypto::{constant_time_eq, hmac_sha256_hex, random_id, sha256_hex};
use crate::http::{HttpRequest, HttpResponse};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// How far `x-acs-date` may be from the fake's clock (the documentation: 15 minutes).
const MAX_SKEW_SECS: u64 = 900;

/// Why a request was refused: HTTP status and Alibaba's error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
}

const fn refusal(status: u16, code: &'static str) -> Refusal {
    Refusal { status, code }
}

#[derive(Default)]
struct State {
    keys: HashMap<String, String>,
    nonces: HashSet<String>,
    refuse_next: VecDeque<String>,
}

/// The handle tests hold. Cloning shares the state.
#[derive(Clone, Default)]
pub struct FakeAliyunSms {
    state: Arc<Mutex<State>>,
    outbox: Outbox,
}

impl FakeAliyunSms {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An AccessKey pair the fake accepts.
    pub fn add_key(&self, access_key_id: &str, access_key_secret: &str) -> &Self {
        self.lock()
            .keys
            .insert(access_key_id.to_owned(), access_key_secret.to_owned());
        self
    }

    /// The next well-signed SendSms is answered with this business code (HTTP 200), e.g.
    /// `isv.BUSINESS_LIMIT_CONTROL`.
    pub fn refuse_next(&self, code: &str) {
        self.lock().refuse_next.push_back(code.to_owned());
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
        match self.accept(req) {
            Ok(sms) => {
                if let Some(code) = self.lock().refuse_next.pop_front() {
                    self.outbox.refused(&code);
                    return HttpResponse::json(
                        200,
                        &json!({"Code": code, "Message": "fake refusal", "RequestId": random_id(10)}),
                    );
                }
                self.outbox.record(sms);
                HttpResponse::json(
                    200,
                    &json!({"Code": "OK", "Message": "OK", "BizId": random_id(10), "RequestId": random_id(10)}),
                )
            }
            Err(Refusal { status, code }) => {
                self.outbox.refused(code);
                HttpResponse::json(
                    status,
                    &json!({"RequestId": random_id(10), "HostId": "dysmsapi.aliyuncs.com",
                        "Code": code, "Message": "fake refusal", "Recommend": ""}),
                )
            }
        }
    }

    fn accept(&self, req: &HttpRequest) -> Result<FakeSms, Refusal> {
        if req.path != "/" || !(req.method == "POST" || req.method == "GET") {
            return Err(refusal(404, "InvalidAction.NotFound"));
        }
        let keys = self.lock().keys.clone();
        verify(req, |id| keys.get(id).cloned(), now())?;
        let nonce = req.header("x-acs-signature-nonce").unwrap_or_default();
        if !self.lock().nonces.insert(nonce.to_owned()) {
            return Err(refusal(400, "SignatureNonceUsed"));
        }
        if req.header("x-acs-action") != Some("SendSms") {
            return Err(refusal(404, "InvalidAction.NotFound"));
        }
        if req.header("x-acs-version") != Some("2017-05-25") {
            return Err(refusal(400, "InvalidVersion"));
        }
        send_sms(&parameters(req))
    }
}

fn now() -> u64 {
    crate::clock::Clock::now(&crate::clock::SystemClock)
}

/// The request's parameters: the query, plus a form body if there is one.
fn parameters(req: &HttpRequest) -> HashMap<String, String> {
    let mut params: HashMap<String, String> = super::decode_query(&req.query).into_iter().collect();
    let form = req
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if form {
        params.extend(super::decode_query(&String::from_utf8_lossy(&req.body)));
    }
    params
}

/// SendSms's own checks, after authentication.
fn send_sms(params: &HashMap<String, String>) -> Result<FakeSms, Refusal> {
    let required = |name: &str, missing: &'static str| {
        params
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .cloned()
            .ok_or(refusal(400, missing))
    };
    let phone = required("PhoneNumbers", "MissingPhoneNumbers")?;
    let sign_name = required("SignName", "MissingSignName")?;
    let template_id = required("TemplateCode", "MissingTemplateCode")?;
    let mainland = phone.len() == 11 && phone.starts_with('1');
    let international = phone.len() > 11 && phone.len() <= 15 && !phone.starts_with('0');
    if !phone.chars().all(|c| c.is_ascii_digit()) || !(mainland || international) {
        return Err(refusal(200, "isv.MOBILE_NUMBER_ILLEGAL"));
    }
    let template_params = match params.get("TemplateParam") {
        None => json!({}),
        Some(raw) => match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(map)) if map.values().all(Value::is_string) => Value::Object(map),
            _ => return Err(refusal(200, "isv.INVALID_JSON_PARAM")),
        },
    };
    Ok(FakeSms {
        phone,
        sign_name,
        template_id,
        template_params,
    })
}

/// RFC 3986 encoding as the documentation's table gives it (the fake's own copy).
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Verifies the request's `ACS3-HMAC-SHA256` signature as documented, from what it carries:
/// the Authorization header's credential, signed headers and signature; the decoded and
/// re-encoded query; the body's hash. `secret_of` maps an AccessKey id to its secret.
pub fn verify(
    req: &HttpRequest,
    secret_of: impl Fn(&str) -> Option<String>,
    now: u64,
) -> Result<(), Refusal> {
    let incomplete = refusal(400, "IncompleteSignature");
    let mismatch = refusal(400, "SignatureDoesNotMatch");
    let auth = req
        .header("authorization")
        .ok_or(refusal(400, "MissingAuthorization"))?;
    let fields = auth
        .strip_prefix("ACS3-HMAC-SHA256 ")
        .ok_or(refusal(400, "InvalidSignatureMethod"))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for field in fields.split(',') {
        match field.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => return Err(incomplete),
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(incomplete);
    };
    let secret = secret_of(credential).ok_or(refusal(404, "InvalidAccessKeyId.NotFound"))?;

    let date = req
        .header("x-acs-date")
        .ok_or(refusal(400, "MissingXAcsDate"))?;
    let sent_at = humantime::parse_rfc3339(date)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .ok_or(refusal(400, "InvalidTimeStamp.Format"))?;
    if sent_at.abs_diff(now) > MAX_SKEW_SECS {
        return Err(refusal(400, "InvalidTimeStamp.Expired"));
    }
    if req
        .header("x-acs-signature-nonce")
        .is_none_or(str::is_empty)
    {
        return Err(refusal(400, "MissingSignatureNonce"));
    }
    let hashed_payload = sha256_hex(&req.body);
    if req.header("x-acs-content-sha256") != Some(hashed_payload.as_str()) {
        return Err(mismatch);
    }

    // Every x-acs-* header and host must be signed; every signed header must be present.
    let names: Vec<&str> = signed_headers.split(';').collect();
    let must_sign = req
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| k.starts_with("x-acs-") || *k == "host");
    for name in must_sign {
        if !names.contains(&name) {
            return Err(incomplete);
        }
    }
    let mut canonical_headers = String::new();
    for name in &names {
        let value = req.header(name).ok_or(incomplete)?;
        canonical_headers.push_str(&format!("{}:{}\n", name.to_ascii_lowercase(), value.trim()));
    }

    let mut query: Vec<(String, String)> = super::decode_query(&req.query)
        .iter()
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_uri = req
        .path
        .split('/')
        .map(encode)
        .collect::<Vec<_>>()
        .join("/");

    let canonical_request = [
        req.method.to_ascii_uppercase().as_str(),
        canonical_uri.as_str(),
        canonical_query.as_str(),
        canonical_headers.as_str(),
        signed_headers,
        hashed_payload.as_str(),
    ]
    .join("\n");
    let string_to_sign = format!(
        "ACS3-HMAC-SHA256\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let expected = hmac_sha256_hex(secret.as_bytes(), string_to_sign.as_bytes());
    if constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        Ok(())
    } else {
        Err(mismatch)
    }
}

#[cfg(test)]
mod tests {
    //! The verifier against the worked example of "V3 request structure and signature":
    //! https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature
    use super::*;

    const DOC_DATE: u64 = 1_698_315_752; // 2023-10-26T10:22:32Z

    fn doc_request() -> HttpRequest {
        let header = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        HttpRequest {
            method: "POST".into(),
            path: "/".into(),
            query:
                "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai"
                    .into(),
            headers: vec![
                header(
                    "authorization",
                    "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
                ),
                header("x-acs-action", "RunInstances"),
                header("host", "ecs.cn-shanghai.aliyuncs.com"),
                header("x-acs-date", "2023-10-26T10:22:32Z"),
                header("x-acs-version", "2014-05-26"),
                header(
                    "x-acs-content-sha256",
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                ),
                header("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
                header("accept", "application/json"),
            ],
            body: Vec::new(),
            source_ip: None,
            request_id: "t".into(),
            authorizer: None,
        }
    }

    fn doc_secret(id: &str) -> Option<String> {
        (id == "YourAccessKeyId").then(|| "YourAccessKeySecret".to_owned())
    }

    #[test]
    fn the_documented_request_verifies() {
        assert_eq!(verify(&doc_request(), doc_secret, DOC_DATE), Ok(()));
    }

    #[test]
    fn any_change_to_a_signed_part_or_the_secret_is_signature_does_not_match() {
        let mismatch = Err(refusal(400, "SignatureDoesNotMatch"));
        let wrong_secret = |_: &str| Some("AnotherSecret".to_owned());
        assert_eq!(verify(&doc_request(), wrong_secret, DOC_DATE), mismatch);
        let mut r = doc_request();
        r.query = r.query.replace("cn-shanghai", "cn-hangzhou");
        assert_eq!(verify(&r, doc_secret, DOC_DATE), mismatch);
        let mut r = doc_request();
        r.headers[1].1 = "DeleteInstances".into();
        assert_eq!(verify(&r, doc_secret, DOC_DATE), mismatch);
        let mut r = doc_request();
        r.body = b"PhoneNumbers=1".to_vec();
        assert_eq!(verify(&r, doc_secret, DOC_DATE), mismatch);
        let mut r = doc_request();
        r.method = "GET".into();
        assert_eq!(verify(&r, doc_secret, DOC_DATE), mismatch);
    }

    #[test]
    fn unknown_keys_stale_dates_and_unsigned_headers_are_refused() {
        assert_eq!(
            verify(&doc_request(), |_| None, DOC_DATE),
            Err(refusal(404, "InvalidAccessKeyId.NotFound"))
        );
        assert_eq!(
            verify(&doc_request(), doc_secret, DOC_DATE + 901),
            Err(refusal(400, "InvalidTimeStamp.Expired"))
        );
        let mut r = doc_request();
        r.headers
            .push(("x-acs-security-token".into(), "unsigned".into()));
        assert_eq!(
            verify(&r, doc_secret, DOC_DATE),
            Err(refusal(400, "IncompleteSignature"))
        );
        let mut r = doc_request();
        r.headers.retain(|(k, _)| k != "authorization");
        assert!(verify(&r, doc_secret, DOC_DATE).is_err());
    }

    #[test]
    fn send_sms_needs_its_parameters() {
        let ok: HashMap<String, String> = [
            ("PhoneNumbers", "13800138000"),
            ("SignName", "阿里云短信测试"),
            ("TemplateCode", "SMS_154950909"),
            ("TemplateParam", r#"{"code":"123456"}"#),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let sms = send_sms(&ok).unwrap();
        assert_eq!(sms.code(), Some("123456"));
        for (name, code) in [
            ("PhoneNumbers", "MissingPhoneNumbers"),
            ("SignName", "MissingSignName"),
            ("TemplateCode", "MissingTemplateCode"),
        ] {
            let mut p = ok.clone();
            p.remove(name);
            assert_eq!(send_sms(&p).err().map(|r| r.code), Some(code));
        }
        for (name, value, code) in [
            (
                "PhoneNumbers",
                "+8613800138000",
                "isv.MOBILE_NUMBER_ILLEGAL",
            ),
            ("PhoneNumbers", "1380013", "isv.MOBILE_NUMBER_ILLEGAL"),
            ("TemplateParam", "code=1", "isv.INVALID_JSON_PARAM"),
            ("TemplateParam", r#"{"code":1}"#, "isv.INVALID_JSON_PARAM"),
        ] {
            let mut p = ok.clone();
            p.insert(name.to_owned(), value.to_owned());
            assert_eq!(send_sms(&p).err().map(|r| r.code), Some(code), "{value}");
        }
    }
}
