//! bad-inputs.md, WeChat rows, through the real `code-exchange` binary: connection refused,
//! a success without `openid` (or without `openid` and `session_key`), and the retry rules for
//! `45011` (none) and `-1` (one), counted on the fake WeChat.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::json;
use wxlogin::fake::Misbehaviour;
use wxlogin::fake::wechat::JSCODE2SESSION_PATH;
use wxlogin_tests::emulator::{Emulator, HttpReply};
use wxlogin_tests::events;
use wxlogin_tests::stack::Stack;

const BIN: &str = "code-exchange";

async fn login(lambda: &Emulator, code: &str) -> HttpReply {
    lambda
        .http(events::post_json("/auth/login", &json!({ "code": code })))
        .await
}

/// No token of any kind in an error reply.
fn assert_no_token(r: &HttpReply) {
    for field in ["access_token", "refresh_token", "bind_token"] {
        assert!(r.body.get(field).is_none(), "{field} in {}", r.raw_body);
    }
    assert!(!r.raw_body.contains("eyJ"), "a JWT in {}", r.raw_body);
}

/// A 127.0.0.1 URL whose port nobody listens on.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn wechat_refusing_connections_is_502_no_user_and_the_code_stays_claimed() {
    let stack = Stack::new().await;
    let closed = closed_port_url();
    let lambda = stack
        .start(BIN, &[("WECHAT_API_BASE", closed.as_str())])
        .await;
    let code = stack.wechat.issue_code(stack.appid(), "alice");
    let r = login(&lambda, &code).await;
    assert_eq!(
        (r.status, r.error_code()),
        (502, "UPSTREAM_UNAVAILABLE"),
        "{}",
        r.raw_body
    );
    assert_no_token(&r);
    assert_eq!(stack.count_items("USER#").await, 0);
    assert_eq!(stack.count_items("OPENID#").await, 0);
    assert_eq!(stack.count_items("FAMILY#").await, 0);
    // The product claims the code before calling WeChat and keeps the claim: the same code
    // again is a replay (401) and never reaches WeChat; wx.login gives a fresh one.
    assert_eq!(stack.count_items("CODE#").await, 1);
    let again = login(&lambda, &code).await;
    assert_eq!((again.status, again.error_code()), (401, "INVALID_CODE"));
    assert_no_token(&again);
    assert_eq!(stack.count_items("CODE#").await, 1);
    assert_eq!(stack.wechat.calls(JSCODE2SESSION_PATH), 0);
    assert_eq!(stack.count_items("USER#").await, 0);
}

#[tokio::test]
async fn a_wechat_success_without_openid_is_502_and_creates_no_user() {
    let stack = Stack::new().await;
    let lambda = stack.start(BIN, &[]).await;
    for how in [
        Misbehaviour::MissingOpenId,
        Misbehaviour::MissingOpenIdAndSessionKey,
    ] {
        stack.wechat.misbehave(JSCODE2SESSION_PATH, how.clone());
        let code = stack.wechat.issue_code(stack.appid(), "bob");
        let r = login(&lambda, &code).await;
        assert_eq!(
            (r.status, r.error_code()),
            (502, "UPSTREAM_UNAVAILABLE"),
            "{how:?}: {}",
            r.raw_body
        );
        assert_no_token(&r);
    }
    assert_eq!(stack.wechat.calls(JSCODE2SESSION_PATH), 2);
    for prefix in ["USER#", "OPENID#", "FAMILY#", "SESSKEY#"] {
        assert_eq!(stack.count_items(prefix).await, 0, "{prefix}");
    }
    // The fake answered those with the user's real session_key withheld; a good answer works.
    let r = login(&lambda, &stack.wechat.issue_code(stack.appid(), "bob")).await;
    assert_eq!(r.status, 200, "{}", r.raw_body);
    assert_eq!(stack.count_items("USER#").await, 1);
}

#[tokio::test]
async fn wechat_45011_is_429_with_retry_after_and_no_retry() {
    let stack = Stack::new().await;
    let lambda = stack.start(BIN, &[]).await;
    stack
        .wechat
        .misbehave(JSCODE2SESSION_PATH, Misbehaviour::Errcode(45011));
    // A misbehaving answer leaves the code unused: a retry would succeed and show as a 200.
    let code = stack.wechat.issue_code(stack.appid(), "carol");
    let r = login(&lambda, &code).await;
    assert_eq!(
        (r.status, r.error_code()),
        (429, "RATE_LIMITED"),
        "{}",
        r.raw_body
    );
    let retry_after: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    assert_no_token(&r);
    assert_eq!(
        stack.wechat.calls(JSCODE2SESSION_PATH),
        1,
        "45011 is not retried"
    );
    assert_eq!(stack.count_items("USER#").await, 0);
}

#[tokio::test]
async fn wechat_busy_twice_is_exactly_two_calls_then_503_with_retry_after() {
    let stack = Stack::new().await;
    let lambda = stack.start(BIN, &[]).await;
    for _ in 0..3 {
        // A third -1 stays queued if the product retried only once, and is never served.
        stack
            .wechat
            .misbehave(JSCODE2SESSION_PATH, Misbehaviour::Errcode(-1));
    }
    let code = stack.wechat.issue_code(stack.appid(), "dave");
    let r = login(&lambda, &code).await;
    assert_eq!(
        (r.status, r.error_code()),
        (503, "UPSTREAM_UNAVAILABLE"),
        "{}",
        r.raw_body
    );
    let retry_after: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    assert_no_token(&r);
    assert_eq!(
        stack.wechat.calls(JSCODE2SESSION_PATH),
        2,
        "one short retry, no more"
    );
    assert_eq!(stack.count_items("USER#").await, 0);
}

#[tokio::test]
async fn wechat_busy_once_is_retried_once_and_the_login_succeeds() {
    let stack = Stack::new().await;
    let lambda = stack.start(BIN, &[]).await;
    stack
        .wechat
        .misbehave(JSCODE2SESSION_PATH, Misbehaviour::Errcode(-1));
    let code = stack.wechat.issue_code(stack.appid(), "erin");
    let r = login(&lambda, &code).await;
    assert_eq!(r.status, 200, "{}", r.raw_body);
    assert_eq!(r.body["user"]["created"], true);
    assert_eq!(stack.wechat.calls(JSCODE2SESSION_PATH), 2);
    assert_eq!(stack.count_items("USER#").await, 1);
}
