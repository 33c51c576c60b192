//! The abuse guard under concurrency, through the real binaries against moto: a burst of
//! requests spread over several instances of a function, each limit set small. Each limit
//! admits exactly its number, refuses the rest with 429, and WeChat or SNS sees exactly the
//! admitted calls. moto runs behind one lock (tests/moto/serial_moto.py), so its conditional
//! updates are as isolated as DynamoDB's.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::json;
use wxlogin::fake::Misbehaviour;
use wxlogin_tests::emulator::Emulator;
use wxlogin_tests::events;
use wxlogin_tests::load::{self, Burst};
use wxlogin_tests::proxy::RecordingProxy;
use wxlogin_tests::stack::Stack;

/// The burst admitted exactly `limit`, and the metrics count `admitted_metric` for each
/// admitted request and `RateLimited` for each refused one.
fn exact(burst: Burst, limit: usize, admitted_metric: &str) {
    let metric = |name: &str| burst.metrics.get(name).copied().unwrap_or(0.0);
    assert_eq!(metric(admitted_metric), limit as f64, "{burst:?}");
    assert_eq!(
        metric("RateLimited"),
        (burst.requests - limit) as f64,
        "{burst:?}"
    );
    assert_eq!(burst.other, 0, "{burst:?}");
    assert_eq!(burst.admitted, limit, "{burst:?}");
    assert_eq!(burst.refused, burst.requests - limit, "{burst:?}");
    assert_eq!(burst.upstream_calls, limit, "{burst:?}");
}

#[tokio::test]
async fn concurrent_logins_from_one_address_get_exactly_the_limit() {
    let stack = Stack::new().await;
    exact(load::logins(&stack, 3, 24, 7).await, 7, "Logins");
}

#[tokio::test]
async fn concurrent_phone_binds_spend_exactly_the_daily_budget() {
    let stack = Stack::new().await;
    exact(
        load::phone_binds(&stack, 3, 10, 4).await,
        4,
        "PaidPhoneCalls",
    );
}

#[tokio::test]
async fn concurrent_sms_sends_from_one_network_get_exactly_the_limit() {
    let stack = Stack::new().await;
    exact(load::sms_sends(&stack, 3, 15, 5).await, 5, "SmsSent");
}

// ---- each limit through the real binaries: refused with 429 (or 400/409), upstream untouched

const PHONE: &str = "/wxa/business/getuserphonenumber";
const CHECKSESSION: &str = "/wxa/checksession";

fn login_from(stack: &Stack, user: &str, ip: &str) -> serde_json::Value {
    let code = stack.wechat.issue_code(stack.appid(), user);
    let mut e = events::post_json("/auth/login", &json!({ "code": code }));
    e["requestContext"]["http"]["sourceIp"] = json!(ip);
    e
}

fn phone_post(token: &str, body: serde_json::Value) -> serde_json::Value {
    let auth = format!("Bearer {token}");
    events::http(
        "POST",
        "/auth/phone",
        Some(&body.to_string()),
        &[("authorization", auth.as_str())],
    )
}

async fn token_of(stack: &Stack, login: &Emulator, user: &str) -> String {
    stack.login(login, user).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn logins_per_app_count_every_address() {
    let stack = Stack::new().await;
    // Fixed windows: counted exactly only clear of a window's end.
    wxlogin_tests::windows::clear_of_window_end(3_600, 30).await;
    let login = stack
        .start("code-exchange", &[("LIMIT_LOGIN_PER_APP", "2/1h")])
        .await;
    let mut statuses = Vec::new();
    for (i, ip) in ["192.0.2.1", "198.51.100.2", "203.0.113.3"]
        .into_iter()
        .enumerate()
    {
        statuses.push(
            login
                .http(login_from(&stack, &format!("app-{i}"), ip))
                .await
                .status,
        );
    }
    assert_eq!(statuses, [200, 200, 429]);
    assert_eq!(stack.wechat.calls("/sns/jscode2session"), 2);
}

#[tokio::test]
async fn paid_phone_calls_per_user_and_the_fee_guard_in_the_binary() {
    let stack = Stack::new().await;
    // Fixed windows: counted exactly only clear of a window's end.
    wxlogin_tests::windows::clear_of_window_end(3_600, 30).await;
    let login = stack.start("code-exchange", &[]).await;
    let bind = stack
        .start("bind-phone", &[("LIMIT_PHONE_PER_USER", "1/1d")])
        .await;
    let token = token_of(&stack, &login, "pat").await;
    // WeChat fails the first paid call (busy twice: the client's one retry), nothing bound.
    stack.wechat.misbehave(PHONE, Misbehaviour::Errcode(-1));
    stack.wechat.misbehave(PHONE, Misbehaviour::Errcode(-1));
    let code = stack
        .wechat
        .issue_phone_code(stack.appid(), "pat", "86", "13800138061", false);
    let first = bind.http(phone_post(&token, json!({ "code": code }))).await;
    assert_eq!(first.status, 503, "{}", first.raw_body);
    let paid = stack.wechat.calls(PHONE);
    let second = bind.http(phone_post(&token, json!({ "code": code }))).await;
    assert_eq!(second.status, 429, "{}", second.raw_body);
    assert_eq!(second.body["error"]["code"], "RATE_LIMITED");
    assert_eq!(stack.wechat.calls(PHONE), paid, "no call once limited");

    // A bound user's new code: 409 from the stored user, no paid call.
    let bind = stack.start("bind-phone", &[]).await;
    let token = token_of(&stack, &login, "quinn").await;
    let code = stack
        .wechat
        .issue_phone_code(stack.appid(), "quinn", "86", "13800138062", false);
    let bound = bind.http(phone_post(&token, json!({ "code": code }))).await;
    assert_eq!(bound.status, 200, "{}", bound.raw_body);
    let token = bound.body["access_token"].as_str().unwrap().to_owned();
    let paid = stack.wechat.calls(PHONE);
    let code = stack
        .wechat
        .issue_phone_code(stack.appid(), "quinn", "86", "13800138063", false);
    let again = bind.http(phone_post(&token, json!({ "code": code }))).await;
    assert_eq!(again.status, 409, "{}", again.raw_body);
    assert_eq!(again.body["error"]["code"], "PHONE_ALREADY_BOUND");
    assert_eq!(stack.wechat.calls(PHONE), paid);
}

#[tokio::test]
async fn checksession_for_bad_legacy_data_is_limited_in_the_binary() {
    let stack = Stack::new().await;
    // Fixed windows: counted exactly only clear of a window's end.
    wxlogin_tests::windows::clear_of_window_end(3_600, 30).await;
    let login = stack.start("code-exchange", &[]).await;
    let bind = stack
        .start("bind-phone", &[("LIMIT_CHECKSESSION_PER_USER", "1/1h")])
        .await;
    let token = token_of(&stack, &login, "ray").await;
    let garbage = json!({
        "encrypted_data": wxlogin::crypto::b64_encode(&[7u8; 32]),
        "iv": wxlogin::crypto::b64_encode(&[9u8; 16]),
    });
    let first = bind.http(phone_post(&token, garbage.clone())).await;
    assert_eq!(first.status, 400, "{}", first.raw_body);
    assert_eq!(stack.wechat.calls(CHECKSESSION), 1);
    let second = bind.http(phone_post(&token, garbage)).await;
    assert_eq!(second.status, 429, "{}", second.raw_body);
    assert_eq!(
        stack.wechat.calls(CHECKSESSION),
        1,
        "no second checksession"
    );
}

#[tokio::test]
async fn sms_country_number_block_and_budget_in_the_binary() {
    let stack = Stack::new().await;
    // Fixed windows: counted exactly only clear of a window's end.
    wxlogin_tests::windows::clear_of_window_end(3_600, 30).await;
    let proxy = RecordingProxy::start(wxlogin_tests::moto::endpoint()).await;
    let url = proxy.url();
    let account = stack
        .start(
            "account",
            &[
                ("SMS_SENDER", "sns"),
                ("AWS_ENDPOINT_URL", url.as_str()),
                ("LIMIT_SMS_PER_PREFIX", "2/1h"),
                ("SMS_DAILY_BUDGET", "3"),
            ],
        )
        .await;
    proxy.take();
    let send = |phone: &str| {
        let body = json!({ "phone": phone }).to_string();
        events::http("POST", "/auth/sms/send", Some(&body), &[])
    };
    let published = |proxy: &RecordingProxy| {
        proxy
            .take()
            .iter()
            .filter(|c| c.operation == "query.Publish")
            .count()
    };
    // The default allowlist is mainland China: a +44 number is refused before SNS.
    let uk = account.http(send("+447700900123")).await;
    assert_eq!(uk.status, 400, "{}", uk.raw_body);
    assert_eq!(published(&proxy), 0);
    let mut statuses = Vec::new();
    for phone in [
        "13800130001",
        "13800130002",
        "13800130003",
        "13900130001",
        "13700130001",
    ] {
        statuses.push(account.http(send(phone)).await.status);
    }
    // Third of one block refused; the fourth (another block) spends the last of the budget.
    assert_eq!(statuses, [200, 200, 429, 200, 429]);
    assert_eq!(published(&proxy), 3);
}
