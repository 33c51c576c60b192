//! bad-inputs.md, Binding and races (TransactionConflict, throttling) and Dependencies
//! (DynamoDB down, Secrets Manager down or throttled), through the real binaries. Each
//! function's `AWS_ENDPOINT_URL` is a fault proxy in front of moto that counts the attempts
//! per operation; the tests read the table through moto directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use std::time::Duration;
use wxlogin::fake::FakeWeChat;
use wxlogin::fake::wechat::{JSCODE2SESSION_PATH, PHONE_NUMBER_PATH};
use wxlogin_tests::emulator::{Emulator, HttpReply, binary};
use wxlogin_tests::events;
use wxlogin_tests::fault_proxy::{
    DYNAMODB, Fault, FaultProxy, GET_SECRET_VALUE, PUT_ITEM, SECRETS_MANAGER, TRANSACT_WRITE_ITEMS,
};
use wxlogin_tests::moto;
use wxlogin_tests::stack::Stack;

/// The SDK's standard retry mode, as `shared/src/aws.rs` sets it.
const SDK_ATTEMPTS: usize = 3;
/// The store's own attempts at a transaction cancelled by a conflict (`store/dynamo.rs`).
const TRANSACTION_ATTEMPTS: usize = 3;
const UPDATE_ITEM: &str = "DynamoDB_20120810.UpdateItem";

struct Rig {
    stack: Stack,
    proxy: FaultProxy,
    login: Emulator,
}

/// A stack whose code-exchange talks to AWS through a fault proxy (cold start done, counts
/// reset).
async fn rig() -> Rig {
    let stack = Stack::new().await;
    let proxy = FaultProxy::start(moto::endpoint()).await;
    let login = start_behind(&stack, &proxy, "code-exchange").await;
    Rig {
        stack,
        proxy,
        login,
    }
}

async fn start_behind(stack: &Stack, proxy: &FaultProxy, name: &str) -> Emulator {
    let url = proxy.url();
    let lambda = stack
        .start(name, &[("AWS_ENDPOINT_URL", url.as_str())])
        .await;
    proxy.reset_counts();
    lambda
}

async fn login(lambda: &Emulator, stack: &Stack, user: &str) -> HttpReply {
    let code = stack.wechat.issue_code(stack.appid(), user);
    lambda
        .http(events::post_json("/auth/login", &json!({ "code": code })))
        .await
}

async fn refresh(lambda: &Emulator, token: &str) -> HttpReply {
    lambda
        .http(events::post_json(
            "/auth/refresh",
            &json!({ "refresh_token": token }),
        ))
        .await
}

async fn post_phone(lambda: &Emulator, token: &str, body: &Value) -> HttpReply {
    lambda
        .http(events::http(
            "POST",
            "/auth/phone",
            Some(&body.to_string()),
            &[("authorization", &format!("Bearer {token}"))],
        ))
        .await
}

fn now() -> u64 {
    wxlogin::clock::Clock::now(&wxlogin::clock::SystemClock)
}

/// No token of any kind in an error reply.
fn assert_no_token(r: &HttpReply) {
    for field in ["access_token", "refresh_token", "bind_token"] {
        assert!(r.body.get(field).is_none(), "{field} in {}", r.raw_body);
    }
    assert!(!r.raw_body.contains("eyJ"), "a JWT in {}", r.raw_body);
}

fn assert_service_unavailable(r: &HttpReply) {
    assert_eq!(
        (r.status, r.error_code()),
        (503, "SERVICE_UNAVAILABLE"),
        "{}",
        r.raw_body
    );
    let retry_after: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    assert_no_token(r);
}

/// A user with a session and a legacy phone proof ready to post (free: no WeChat call).
async fn user_with_proof(r: &Rig, user: &str, pure: &str) -> (String, Value) {
    let s = login(&r.login, &r.stack, user).await;
    assert_eq!(s.status, 200, "{}", s.raw_body);
    let token = s.body["access_token"].as_str().unwrap().to_owned();
    let payload = FakeWeChat::phone_payload(r.stack.appid(), "86", pure, now());
    let (data, iv) = r
        .stack
        .wechat
        .encrypt_for(r.stack.appid(), user, payload.to_string().as_bytes())
        .unwrap();
    (token, json!({"encrypted_data": data, "iv": iv}))
}

/// How many `TransactWriteItems` a phone bind makes when nothing goes wrong.
async fn transactions_per_bind(r: &Rig, bind: &Emulator) -> usize {
    let (token, proof) = user_with_proof(r, "baseline", "13100131000").await;
    r.proxy.reset_counts();
    let ok = post_phone(bind, &token, &proof).await;
    assert_eq!(ok.status, 200, "{}", ok.raw_body);
    let n = r.proxy.calls(TRANSACT_WRITE_ITEMS);
    assert!(n >= 1);
    r.proxy.reset_counts();
    n
}

#[tokio::test]
async fn a_transaction_conflict_that_clears_is_retried_and_the_bind_succeeds() {
    let r = rig().await;
    let bind = start_behind(&r.stack, &r.proxy, "bind-phone").await;
    let clean = transactions_per_bind(&r, &bind).await;
    let (token, proof) = user_with_proof(&r, "alice", "13200132000").await;
    r.proxy.reset_counts();
    r.proxy
        .fail_next(TRANSACT_WRITE_ITEMS, 2, Fault::transaction_conflict());
    let ok = post_phone(&bind, &token, &proof).await;
    assert_eq!(ok.status, 200, "{}", ok.raw_body);
    assert_eq!(ok.body["user"]["phone_bound"], true);
    assert_eq!(
        r.proxy.calls(TRANSACT_WRITE_ITEMS),
        clean + 2,
        "two conflicts, two extra attempts"
    );
    assert_eq!(r.stack.count_items("PHONE#").await, 2);
}

/// Every item a first login writes, in the order it writes them (the code claim first).
const FIRST_LOGIN_STEPS: [&str; 4] = ["\"USER#", "\"OPENID#", "\"FAMILY#", "\"SESSKEY#"];

#[tokio::test]
async fn a_first_login_failing_at_any_write_is_503_and_leaves_nothing_the_next_login_trips_over() {
    for (i, step) in FIRST_LOGIN_STEPS.into_iter().enumerate() {
        let r = rig().await;
        let user = format!("step-{i}");
        r.proxy
            .fail_matching(PUT_ITEM, step, Fault::dynamodb_internal_error());
        let refused = login(&r.login, &r.stack, &user).await;
        assert_service_unavailable(&refused);
        // Whatever was written before the failure, the openid link never names a missing
        // user, and no family exists that a token could name.
        assert_eq!(
            r.stack.count_items("FAMILY#").await,
            usize::from(i > 2),
            "{step}"
        );
        r.proxy.restore();
        let ok = login(&r.login, &r.stack, &user).await;
        assert_eq!(ok.status, 200, "{step}: {}", ok.raw_body);
        let user_id = ok.body["user"]["id"].as_str().unwrap();
        assert_eq!(r.stack.count_items("OPENID#").await, 1, "{step}");
        assert!(
            r.stack.item(&format!("USER#{user_id}")).await.is_some(),
            "{step}: the link's user exists"
        );
        let again = login(&r.login, &r.stack, &user).await;
        assert_eq!(again.body["user"]["id"], ok.body["user"]["id"], "{step}");
    }
}

#[tokio::test]
async fn a_persistent_conflict_during_a_bind_is_503_and_the_user_is_untouched() {
    let r = rig().await;
    let bind = start_behind(&r.stack, &r.proxy, "bind-phone").await;
    let s = login(&r.login, &r.stack, "carol").await;
    assert_eq!(s.status, 200, "{}", s.raw_body);
    let token = s.body["access_token"].as_str().unwrap().to_owned();
    let payload = FakeWeChat::phone_payload(r.stack.appid(), "86", "13900139000", now());
    let (data, iv) = r
        .stack
        .wechat
        .encrypt_for(r.stack.appid(), "carol", payload.to_string().as_bytes())
        .unwrap();
    let proof = json!({"encrypted_data": data, "iv": iv});
    let before = r.stack.snapshot().await;
    r.proxy.reset_counts();
    r.proxy
        .fail_all(TRANSACT_WRITE_ITEMS, Fault::transaction_conflict());
    let refused = post_phone(&bind, &token, &proof).await;
    assert_service_unavailable(&refused);
    assert_eq!(r.proxy.calls(TRANSACT_WRITE_ITEMS), TRANSACTION_ATTEMPTS);
    assert_eq!(r.stack.snapshot().await, before, "nothing half-written");
    // The log names the kind and the request id, never the SDK's message text.
    let logs = bind.logs();
    assert!(logs.contains("TransactionConflict"), "{logs}");
    assert!(logs.contains("request id FAULT"), "{logs}");
    assert!(!logs.contains("Transaction is ongoing"), "{logs}");
    r.proxy.restore();
    let bound = post_phone(&bind, &token, &proof).await;
    assert_eq!(bound.status, 200, "{}", bound.raw_body);
    assert_eq!(r.stack.count_items("PHONE#").await, 1);
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_and_a_short_burst_goes_unnoticed() {
    let r = rig().await;
    let baseline = login(&r.login, &r.stack, "baseline").await;
    assert_eq!(baseline.status, 200, "{}", baseline.raw_body);
    let clean_puts = r.proxy.calls(PUT_ITEM);
    r.proxy.reset_counts();
    // The first PutItem of a login is the code claim: two throttled attempts and the third.
    r.proxy.fail_next(PUT_ITEM, 2, Fault::dynamodb_throttling());
    let ok = login(&r.login, &r.stack, "dave").await;
    assert_eq!(ok.status, 200, "{}", ok.raw_body);
    assert_eq!(r.proxy.calls(PUT_ITEM), clean_puts + SDK_ATTEMPTS - 1);
    // A bind's transaction, throttled twice, goes through on the SDK's third attempt.
    let bind = start_behind(&r.stack, &r.proxy, "bind-phone").await;
    let clean = transactions_per_bind(&r, &bind).await;
    let (token, proof) = user_with_proof(&r, "erin", "13300133000").await;
    r.proxy.reset_counts();
    r.proxy.fail_next(
        TRANSACT_WRITE_ITEMS,
        2,
        Fault::provisioned_throughput_exceeded(),
    );
    let ok = post_phone(&bind, &token, &proof).await;
    assert_eq!(ok.status, 200, "{}", ok.raw_body);
    assert_eq!(r.proxy.calls(TRANSACT_WRITE_ITEMS), clean + 2);
}

#[tokio::test]
async fn persistent_throttling_is_503_after_the_sdks_attempts_and_writes_nothing() {
    let r = rig().await;
    // On the code claim: WeChat is never asked.
    r.proxy
        .fail_all(PUT_ITEM, Fault::provisioned_throughput_exceeded());
    let refused = login(&r.login, &r.stack, "fred").await;
    assert_service_unavailable(&refused);
    assert_eq!(r.proxy.calls(PUT_ITEM), SDK_ATTEMPTS);
    assert_eq!(r.stack.wechat.calls(JSCODE2SESSION_PATH), 0);
    r.proxy.restore();
    r.proxy.reset_counts();
    // On the user's creation: the SDK's retries are not multiplied by the store's.
    r.proxy
        .fail_matching(PUT_ITEM, "\"USER#", Fault::dynamodb_throttling());
    let refused = login(&r.login, &r.stack, "fred").await;
    assert_service_unavailable(&refused);
    // The claim once, the user item SDK_ATTEMPTS times, nothing after it.
    assert_eq!(r.proxy.calls(PUT_ITEM), 1 + SDK_ATTEMPTS);
    for prefix in ["USER#", "OPENID#", "FAMILY#"] {
        assert_eq!(r.stack.count_items(prefix).await, 0, "{prefix}");
    }
    let logs = r.login.logs();
    assert!(logs.contains("ThrottlingException"), "{logs}");
    assert!(!logs.contains("Rate of requests exceeds"), "{logs}");
}

#[tokio::test]
async fn dynamodb_down_after_the_cold_start_is_503_on_login_without_calling_wechat() {
    let r = rig().await;
    for fault in [Fault::Drop, Fault::dynamodb_internal_error()] {
        r.proxy.restore();
        r.proxy.reset_counts();
        r.proxy.fail_all(DYNAMODB, fault.clone());
        let refused = login(&r.login, &r.stack, "gina").await;
        assert_service_unavailable(&refused);
        // One operation (the code claim), retried by the SDK, then the answer.
        assert_eq!(
            r.proxy.calls_with_prefix(DYNAMODB),
            SDK_ATTEMPTS,
            "{fault:?}"
        );
    }
    assert_eq!(r.stack.wechat.calls(JSCODE2SESSION_PATH), 0);
    assert_eq!(r.stack.count_items("CODE#").await, 0);
    assert_eq!(r.stack.count_items("USER#").await, 0);
    r.proxy.restore();
    let ok = login(&r.login, &r.stack, "gina").await;
    assert_eq!(ok.status, 200, "{}", ok.raw_body);
}

#[tokio::test]
async fn dynamodb_down_is_503_on_refresh_and_the_refresh_token_survives() {
    let r = rig().await;
    let s = login(&r.login, &r.stack, "hugo").await;
    assert_eq!(s.status, 200, "{}", s.raw_body);
    let token = s.body["refresh_token"].as_str().unwrap().to_owned();
    let before = r.stack.snapshot().await;
    r.proxy.fail_all(DYNAMODB, Fault::Drop);
    assert_service_unavailable(&refresh(&r.login, &token).await);
    r.proxy.restore();
    // Down only for the rotation itself: the family is read, the write fails.
    r.proxy.fail_all(UPDATE_ITEM, Fault::Drop);
    assert_service_unavailable(&refresh(&r.login, &token).await);
    assert_eq!(r.stack.snapshot().await, before, "nothing half-written");
    r.proxy.restore();
    let ok = refresh(&r.login, &token).await;
    assert_eq!(
        ok.status, 200,
        "the token was neither rotated nor revoked: {}",
        ok.raw_body
    );
}

#[tokio::test]
async fn dynamodb_down_is_503_on_bind_before_the_paid_call_and_the_code_stays_usable() {
    let r = rig().await;
    let bind = start_behind(&r.stack, &r.proxy, "bind-phone").await;
    let s = login(&r.login, &r.stack, "ivy").await;
    assert_eq!(s.status, 200, "{}", s.raw_body);
    let token = s.body["access_token"].as_str().unwrap().to_owned();
    let code = r
        .stack
        .wechat
        .issue_phone_code(r.stack.appid(), "ivy", "86", "13700137001", false);
    let before = r.stack.snapshot().await;
    r.proxy.fail_all(DYNAMODB, Fault::Drop);
    let refused = post_phone(&bind, &token, &json!({ "code": code })).await;
    assert_service_unavailable(&refused);
    assert_eq!(r.stack.wechat.calls(PHONE_NUMBER_PATH), 0, "no paid call");
    assert_eq!(r.stack.snapshot().await, before, "nothing half-written");
    r.proxy.restore();
    let bound = post_phone(&bind, &token, &json!({ "code": code })).await;
    assert_eq!(bound.status, 200, "{}", bound.raw_body);
    assert_eq!(r.stack.wechat.calls(PHONE_NUMBER_PATH), 1);
}

#[tokio::test]
async fn dynamodb_unreachable_after_the_cold_start_is_503_on_login_refresh_and_bind() {
    let r = rig().await;
    let bind = start_behind(&r.stack, &r.proxy, "bind-phone").await;
    let s = login(&r.login, &r.stack, "kate").await;
    assert_eq!(s.status, 200, "{}", s.raw_body);
    let code = r
        .stack
        .wechat
        .issue_phone_code(r.stack.appid(), "kate", "86", "13500135001", false);
    let before = r.stack.snapshot().await;
    r.proxy.close_port();
    assert_service_unavailable(&login(&r.login, &r.stack, "kate").await);
    assert_service_unavailable(&refresh(&r.login, s.body["refresh_token"].as_str().unwrap()).await);
    assert_service_unavailable(
        &post_phone(
            &bind,
            s.body["access_token"].as_str().unwrap(),
            &json!({ "code": code }),
        )
        .await,
    );
    assert_eq!(r.stack.snapshot().await, before, "nothing written");
    assert_eq!(
        r.stack.wechat.calls(JSCODE2SESSION_PATH),
        1,
        "only the first login"
    );
    assert_eq!(r.stack.wechat.calls(PHONE_NUMBER_PATH), 0, "no paid call");
    for lambda in [&r.login, &bind] {
        let logs = lambda.logs();
        assert!(logs.contains("DynamoDB: connection failed"), "{logs}");
    }
}

#[tokio::test]
async fn secrets_manager_down_after_the_cold_start_is_bridged_by_the_cached_copy() {
    let r = rig().await;
    let bind = start_behind(&r.stack, &r.proxy, "bind-phone").await;
    for fault in [Fault::Drop, Fault::secrets_throttling()] {
        r.proxy.restore();
        r.proxy.fail_all(SECRETS_MANAGER, fault.clone());
        let s = login(&r.login, &r.stack, "jack").await;
        assert_eq!(s.status, 200, "{fault:?}: {}", s.raw_body);
        let verified = r
            .stack
            .verifier()
            .verify_access(s.body["access_token"].as_str().unwrap());
        assert!(verified.is_ok(), "signed with the real key: {verified:?}");
        let refreshed = refresh(&r.login, s.body["refresh_token"].as_str().unwrap()).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.raw_body);
    }
    let s = login(&r.login, &r.stack, "jack").await;
    let payload = FakeWeChat::phone_payload(r.stack.appid(), "86", "13600136001", now());
    let (data, iv) = r
        .stack
        .wechat
        .encrypt_for(r.stack.appid(), "jack", payload.to_string().as_bytes())
        .unwrap();
    let bound = post_phone(
        &bind,
        s.body["access_token"].as_str().unwrap(),
        &json!({"encrypted_data": data, "iv": iv}),
    )
    .await;
    assert_eq!(bound.status, 200, "{}", bound.raw_body);
    assert_eq!(
        r.proxy.calls_with_prefix(SECRETS_MANAGER),
        0,
        "served from the copy"
    );
}

#[tokio::test]
async fn secrets_manager_down_or_throttled_at_cold_start_fails_the_init() {
    let stack = Stack::new().await;
    for (name, fault) in [
        ("code-exchange", Fault::secrets_throttling()),
        ("bind-phone", Fault::Drop),
    ] {
        let proxy = FaultProxy::start(moto::endpoint()).await;
        proxy.fail_all(SECRETS_MANAGER, fault.clone());
        let url = proxy.url();
        let mut lambda = Emulator::start(
            &binary(name),
            &stack.env(&[("AWS_ENDPOINT_URL", url.as_str())]),
        )
        .await;
        let ready = lambda.wait_ready().await;
        assert!(ready.is_err(), "{name} {fault:?} served: {}", lambda.logs());
        let status = lambda.exit_status(Duration::from_secs(10)).await;
        assert!(
            status.is_some_and(|s| !s.success()),
            "{name} {fault:?}: {status:?}"
        );
        assert!(
            lambda.logs().contains("_SECRET_ID"),
            "{name}: the log names the secret: {}",
            lambda.logs()
        );
        // Both secrets, each with the SDK's bounded attempts; nothing else was tried.
        assert_eq!(
            proxy.calls(GET_SECRET_VALUE),
            2 * SDK_ATTEMPTS,
            "{name} {fault:?}"
        );
    }
    assert_eq!(stack.wechat.calls(JSCODE2SESSION_PATH), 0);
}
