//! Binary tier for the China SMS senders: the real `account` binary with `SMS_SENDER=aliyun`
//! and `SMS_SENDER=tencent`, its credentials in Secrets Manager (moto), pointed at the fake
//! Alibaba Cloud / Tencent Cloud gateways (which verify the signatures as documented). A code
//! sent through the fake binds the phone through the real `bind-phone`; a wrong secret and a
//! refused message both answer 503 with nothing secret in the reply or the logs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use wxlogin::fake::{FakeAliyunSms, FakeTencentSms, HttpServer, Outbox};
use wxlogin_tests::emulator::{Emulator, HttpReply};
use wxlogin_tests::events;
use wxlogin_tests::moto;
use wxlogin_tests::stack::Stack;

const PHONE: &str = "13800138000";
const E164: &str = "+8613800138000";
const ALIYUN_ID: &str = "LTAI5tFakeAccessKey";
const ALIYUN_SECRET: &str = "aliyun-secret-Zq8wX";
const TENCENT_ID: &str = "AKIDFakeSecretId0000";
const TENCENT_KEY: &str = "tencent-key-Pq3vN";
const TENCENT_APP: &str = "1400006666";
const SIGN_NAME: &str = "某某科技";

enum Provider {
    Aliyun(FakeAliyunSms),
    Tencent(FakeTencentSms),
}

impl Provider {
    fn outbox(&self) -> &Outbox {
        match self {
            Provider::Aliyun(f) => f.outbox(),
            Provider::Tencent(f) => f.outbox(),
        }
    }
    /// The phone as this provider's request names it.
    fn wire_phone(&self) -> &'static str {
        match self {
            Provider::Aliyun(_) => PHONE,
            Provider::Tencent(_) => E164,
        }
    }
    fn refuse_next(&self, code: &str) {
        match self {
            Provider::Aliyun(f) => f.refuse_next(code),
            Provider::Tencent(f) => f.refuse_next(code),
        }
    }
}

struct Rig {
    stack: Stack,
    provider: Provider,
    _server: HttpServer,
    account: Emulator,
}

/// The stack, the fake provider knowing the right credentials, and `account` started with
/// `secret` in Secrets Manager.
async fn rig(tencent: bool, secret: Value) -> Rig {
    let stack = Stack::new().await;
    let (provider, server) = if tencent {
        let fake = FakeTencentSms::new();
        fake.add_key(TENCENT_ID, TENCENT_KEY).add_app(TENCENT_APP);
        let server = fake.start(0).await.unwrap();
        (Provider::Tencent(fake), server)
    } else {
        let fake = FakeAliyunSms::new();
        fake.add_key(ALIYUN_ID, ALIYUN_SECRET);
        let server = fake.start(0).await.unwrap();
        (Provider::Aliyun(fake), server)
    };
    let secret_id = moto::unique("wxlogin/sms");
    moto::put_secret(&stack.sdk, &secret_id, &secret.to_string()).await;
    let url = server.url();
    let mut env: Vec<(&'static str, &str)> = vec![
        ("SMS_SENDER", if tencent { "tencent" } else { "aliyun" }),
        ("SMS_CREDENTIALS_SECRET_ID", secret_id.as_str()),
        ("SMS_SIGN_NAME", SIGN_NAME),
        (
            "SMS_TEMPLATE_ID",
            if tencent { "449739" } else { "SMS_154950909" },
        ),
        ("SMS_ENDPOINT_URL", url.as_str()),
    ];
    if tencent {
        env.extend([
            ("TENCENT_SMS_APP_ID", TENCENT_APP),
            ("TENCENT_SMS_REGION", "ap-guangzhou"),
            ("SMS_TEMPLATE_PARAMS", "code,minutes"),
        ]);
    }
    let account = stack.start("account", &env).await;
    Rig {
        stack,
        provider,
        _server: server,
        account,
    }
}

fn aliyun_secret(secret: &str) -> Value {
    json!({"access_key_id": ALIYUN_ID, "access_key_secret": secret})
}

fn tencent_secret(key: &str) -> Value {
    json!({"secret_id": TENCENT_ID, "secret_key": key})
}

async fn post(lambda: &Emulator, path: &str, body: &Value, token: Option<&str>) -> HttpReply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    lambda
        .http(events::http(
            "POST",
            path,
            Some(&body.to_string()),
            &headers,
        ))
        .await
}

async fn send(r: &Rig) -> HttpReply {
    post(&r.account, "/auth/sms/send", &json!({"phone": PHONE}), None).await
}

/// Sends a code through the provider, reads it off the fake and binds PHONE with it.
async fn code_binds_the_phone(r: &Rig) {
    let login = r.stack.start("code-exchange", &[]).await;
    let bind = r.stack.start("bind-phone", &[]).await;
    let session = r.stack.login(&login, "alice").await;
    let sent = send(r).await;
    assert_eq!(sent.status, 200, "{}", sent.raw_body);
    assert_eq!(sent.body["expires_in"], 300);
    let outbox = r.provider.outbox();
    assert_eq!(
        outbox.sent().len(),
        1,
        "exactly one SMS: {:?}",
        outbox.refusals()
    );
    let sms = &outbox.sent()[0];
    assert_eq!(sms.sign_name, SIGN_NAME);
    let code = outbox.last_code_to(r.provider.wire_phone()).unwrap();
    assert_eq!(code.len(), 6);
    assert!(
        !sent.raw_body.contains(&code),
        "the code is never in the reply"
    );
    assert!(
        !r.account.logs().contains(&code),
        "the code is never logged"
    );
    let bound = post(
        &bind,
        "/auth/phone",
        &json!({"phone": PHONE, "sms_code": code}),
        session["access_token"].as_str(),
    )
    .await;
    assert_eq!(bound.status, 200, "{}", bound.raw_body);
    assert_eq!(bound.body["user"]["id"], session["user"]["id"]);
    assert_eq!(bound.body["user"]["phone"], "138****8000");
}

/// A 503 SERVICE_UNAVAILABLE that says nothing about the phone, a code or a credential, in the
/// reply or the logs; the provider's error code is in the logs.
fn assert_unavailable(r: &Rig, reply: &HttpReply, provider_code: &str, secrets: &[&str]) {
    assert_eq!(
        (reply.status, reply.error_code()),
        (503, "SERVICE_UNAVAILABLE"),
        "{}",
        reply.raw_body
    );
    let logs = r.account.logs();
    assert!(
        logs.contains(provider_code),
        "the provider's code is logged: {logs}"
    );
    for text in [reply.raw_body.as_str(), logs.as_str()] {
        assert!(!text.contains(PHONE), "no full phone: {text}");
        for secret in secrets {
            assert!(!text.contains(secret), "no credential: {text}");
        }
    }
    assert!(r.provider.outbox().sent().is_empty());
}

#[tokio::test]
async fn an_aliyun_sms_code_reaches_the_phone_and_binds_it() {
    let r = rig(false, aliyun_secret(ALIYUN_SECRET)).await;
    code_binds_the_phone(&r).await;
    let Provider::Aliyun(fake) = &r.provider else {
        unreachable!()
    };
    let sms = &fake.outbox().sent()[0];
    assert_eq!(sms.phone, PHONE);
    assert_eq!(sms.template_id, "SMS_154950909");
    assert_eq!(
        sms.template_params.as_object().unwrap().len(),
        1,
        "code only"
    );
}

#[tokio::test]
async fn a_tencent_sms_code_reaches_the_phone_with_its_minutes_and_binds_it() {
    let r = rig(true, tencent_secret(TENCENT_KEY)).await;
    code_binds_the_phone(&r).await;
    let sms = &r.provider.outbox().sent()[0];
    assert_eq!(sms.phone, E164);
    assert_eq!(sms.template_id, "449739");
    assert_eq!(
        sms.template_params[1], "5",
        "the template takes the minutes"
    );
}

#[tokio::test]
async fn a_wrong_aliyun_secret_is_refused_by_the_signature_check_and_answers_503() {
    let wrong = "aliyun-secret-WRONG1";
    let r = rig(false, aliyun_secret(wrong)).await;
    let reply = send(&r).await;
    assert_eq!(r.provider.outbox().refusals(), ["SignatureDoesNotMatch"]);
    assert_unavailable(&r, &reply, "SignatureDoesNotMatch", &[wrong, ALIYUN_SECRET]);
}

#[tokio::test]
async fn a_wrong_tencent_key_is_refused_by_the_signature_check_and_answers_503() {
    let wrong = "tencent-key-WRONG2";
    let r = rig(true, tencent_secret(wrong)).await;
    let reply = send(&r).await;
    assert_eq!(
        r.provider.outbox().refusals(),
        ["AuthFailure.SignatureFailure"]
    );
    assert_unavailable(
        &r,
        &reply,
        "AuthFailure.SignatureFailure",
        &[wrong, TENCENT_KEY],
    );
}

#[tokio::test]
async fn a_provider_error_code_answers_503_and_is_logged_by_code_only() {
    let aliyun = rig(false, aliyun_secret(ALIYUN_SECRET)).await;
    aliyun.provider.refuse_next("isv.BUSINESS_LIMIT_CONTROL");
    let reply = send(&aliyun).await;
    assert_unavailable(
        &aliyun,
        &reply,
        "isv.BUSINESS_LIMIT_CONTROL",
        &[ALIYUN_SECRET],
    );

    let tencent = rig(true, tencent_secret(TENCENT_KEY)).await;
    tencent
        .provider
        .refuse_next("LimitExceeded.PhoneNumberDailyLimit");
    let reply = send(&tencent).await;
    assert_unavailable(
        &tencent,
        &reply,
        "LimitExceeded.PhoneNumberDailyLimit",
        &[TENCENT_KEY],
    );
    let Provider::Tencent(fake) = &tencent.provider else {
        unreachable!()
    };
    // A whole-request error (Response.Error) too; a new phone, so no rate limit is hit.
    fake.fail_next("RequestLimitExceeded");
    let other = post(
        &tencent.account,
        "/auth/sms/send",
        &json!({"phone": "13900139000"}),
        None,
    )
    .await;
    assert_eq!(
        (other.status, other.error_code()),
        (503, "SERVICE_UNAVAILABLE")
    );
    assert!(tencent.account.logs().contains("RequestLimitExceeded"));
}
