//! Request bodies and API Gateway events: `http::body::parse_json` into `Value` and into local
//! mirrors of every route's body (the route structs are private; the mirrors copy their
//! fields and `deny_unknown_fields`), `parse_optional_json`, the 16 KiB cap, and the same bytes
//! read as an API Gateway HTTP API event through `lambda::from_apigw` / `to_apigw`.
#![no_main]

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use wxlogin::error::AppError;
use wxlogin::http::MAX_BODY_BYTES;
use wxlogin::http::body::{parse_json, parse_optional_json};

// Mirrors of the bodies in shared/src/http/routes/*.rs. Fields are only read by serde.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    code: String,
    #[serde(default)]
    appid: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

#[allow(dead_code)]
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogoutBody {
    #[serde(default)]
    all: bool,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    #[serde(default)]
    nickname: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserInfoBody {
    raw_data: String,
    signature: String,
    encrypted_data: String,
    iv: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    encrypted_data: Option<String>,
    #[serde(default)]
    iv: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    sms_code: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    phone: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordLoginBody {
    phone: String,
    password: String,
    #[serde(default)]
    appid: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPasswordBody {
    password: String,
    #[serde(default)]
    old_password: Option<String>,
}

/// The messages `parse_json` may return (all safe to show a client).
const MESSAGES: &[&str] = &[
    "body is larger than 16 KiB",
    "body must be a JSON object",
    "body is not UTF-8",
    "body is not valid JSON",
    "a required field is missing",
    "the body has a field this route does not take",
    "a field appears twice",
    "a field has the wrong type",
];

fn check_error(e: &AppError) {
    match e {
        AppError::InvalidRequest(m) => assert!(MESSAGES.contains(m), "unexpected message {m:?}"),
        other => panic!("parse_json returned a non-400 error: {other:?}"),
    }
}

/// A typed parse: errors are one of the fixed 400s; a success is also a JSON object whose keys
/// are all fields of `T`.
fn typed<T: DeserializeOwned>(data: &[u8], as_value: &Result<Value, AppError>, fields: &[&str]) {
    match parse_json::<T>(data) {
        Err(e) => check_error(&e),
        Ok(_) => {
            let value = as_value
                .as_ref()
                .unwrap_or_else(|e| panic!("typed parse ok but Value parse failed: {e:?}"));
            let object = value.as_object().expect("a typed body is an object");
            for key in object.keys() {
                assert!(
                    fields.contains(&key.as_str()),
                    "unknown field {key:?} accepted"
                );
            }
        }
    }
}

fn bodies(data: &[u8]) {
    let as_value = parse_json::<Value>(data);
    match &as_value {
        Ok(value) => {
            assert!(
                data.len() <= MAX_BODY_BYTES,
                "a body over the cap was parsed"
            );
            assert!(!data.is_empty());
            assert!(std::str::from_utf8(data).is_ok());
            assert!(value.is_object(), "a non-object body was accepted");
        }
        Err(e) => {
            check_error(e);
            if data.len() > MAX_BODY_BYTES {
                assert!(
                    matches!(e, AppError::InvalidRequest("body is larger than 16 KiB")),
                    "the size cap did not come first"
                );
            }
        }
    }
    typed::<LoginBody>(data, &as_value, &["code", "appid"]);
    typed::<RefreshBody>(data, &as_value, &["refresh_token"]);
    typed::<ProfileBody>(data, &as_value, &["nickname", "avatar_url"]);
    typed::<UserInfoBody>(
        data,
        &as_value,
        &["raw_data", "signature", "encrypted_data", "iv"],
    );
    typed::<PhoneBody>(
        data,
        &as_value,
        &["code", "encrypted_data", "iv", "phone", "sms_code"],
    );
    typed::<SendBody>(data, &as_value, &["phone"]);
    typed::<PasswordLoginBody>(data, &as_value, &["phone", "password", "appid"]);
    typed::<SetPasswordBody>(data, &as_value, &["password", "old_password"]);
    match parse_optional_json::<LogoutBody>(data) {
        Ok(body) => {
            if !data.iter().all(u8::is_ascii_whitespace) {
                assert!(as_value.is_ok(), "optional body parsed but Value did not");
            } else {
                assert!(!body.all && body.refresh_token.is_none());
            }
        }
        Err(e) => {
            check_error(&e);
            assert!(!data.iter().all(u8::is_ascii_whitespace));
        }
    }
}

fn event(data: &[u8]) {
    let Ok(event) = serde_json::from_slice::<ApiGatewayV2httpRequest>(data) else {
        return;
    };
    // None: a base64 body that does not decode (the event is refused).
    let expected_body: Option<Vec<u8>> = match (&event.body, event.is_base64_encoded) {
        (None, _) => Some(Vec::new()),
        (Some(text), true) => wxlogin::crypto::b64_decode(text),
        (Some(text), false) => Some(text.clone().into_bytes()),
    };
    let raw_path = event.raw_path.clone();
    let ctx_path = event.request_context.http.path.clone();
    let method = event.request_context.http.method.as_str().to_owned();
    let query = event.raw_query_string.clone().unwrap_or_default();
    let request_id = event.request_context.request_id.clone();
    match wxlogin::lambda::from_apigw(event, "lambda-request-id") {
        Ok(request) => {
            assert_eq!(Some(request.body.clone()), expected_body);
            assert_eq!(request.method, method);
            assert_eq!(
                request.path,
                raw_path.or(ctx_path).unwrap_or_default(),
                "path"
            );
            assert_eq!(request.query, query);
            assert_eq!(
                request.request_id,
                request_id.unwrap_or_else(|| "lambda-request-id".to_owned())
            );
            for (name, _) in &request.headers {
                assert_eq!(name, &name.to_ascii_lowercase());
            }
            // The bearer helper never panics and never returns an empty token.
            if let Some(token) = request.bearer() {
                assert!(!token.is_empty());
            }
            bodies(&request.body);
            let response = wxlogin::http::HttpResponse::json(
                400,
                &serde_json::json!({"echo": String::from_utf8_lossy(&request.body)}),
            );
            let out = wxlogin::lambda::to_apigw(response);
            assert_eq!(out.status_code, 400);
        }
        Err(refused) => {
            assert_eq!(expected_body, None, "refused an event whose body decodes");
            assert_eq!(refused.status, 400);
            let body: Value = serde_json::from_str(&refused.body).expect("JSON error body");
            assert_eq!(body["error"]["code"], "INVALID_REQUEST");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    bodies(data);
    event(data);
});
