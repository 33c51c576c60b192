//! `DELETE /auth/me` through the real binaries against moto: every item that names the user
//! leaves the table, its tokens stop on every route that reads the account, the next login is a
//! new user and the phone is free; and a failure at each step of a deletion (DynamoDB failing
//! the step through a fault proxy, or losing the answer after the write) leaves the whole
//! account or none of it, and a retry finishes the job.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use std::collections::BTreeMap;
use wxlogin::fake::FakeWeChat;
use wxlogin_tests::emulator::{Emulator, HttpReply};
use wxlogin_tests::events;
use wxlogin_tests::fault_proxy::{Fault, FaultProxy, GET_ITEM, TRANSACT_WRITE_ITEMS};
use wxlogin_tests::moto;
use wxlogin_tests::stack::Stack;

const PHONE: &str = "13800138077";

fn now() -> u64 {
    wxlogin::clock::Clock::now(&wxlogin::clock::SystemClock)
}

fn token_of(session: &Value) -> String {
    session["access_token"].as_str().unwrap().to_owned()
}

async fn call(lambda: &Emulator, method: &str, path: &str, token: &str) -> HttpReply {
    lambda
        .http(events::http(
            method,
            path,
            None,
            &[("authorization", &format!("Bearer {token}"))],
        ))
        .await
}

async fn refresh(lambda: &Emulator, session: &Value) -> HttpReply {
    lambda
        .http(events::post_json(
            "/auth/refresh",
            &json!({"refresh_token": session["refresh_token"]}),
        ))
        .await
}

/// Binds `PHONE` to the session's user with legacy encrypted data (no paid call); the new
/// tokens.
async fn bind_phone(stack: &Stack, bind: &Emulator, session: &Value, user: &str) -> Value {
    let payload = FakeWeChat::phone_payload(stack.appid(), "86", PHONE, now());
    let (data, iv) = stack
        .wechat
        .encrypt_for(stack.appid(), user, payload.to_string().as_bytes())
        .unwrap();
    let r = bind
        .http(events::http(
            "POST",
            "/auth/phone",
            Some(&json!({"encrypted_data": data, "iv": iv}).to_string()),
            &[("authorization", &format!("Bearer {}", token_of(session)))],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.raw_body);
    r.body
}

/// The items that name the user: its own, every item whose `user_id` is its id, and the
/// session_key of its openid.
fn items_naming(
    snapshot: &BTreeMap<String, Value>,
    user_id: &str,
    session_key_pk: &str,
) -> Vec<String> {
    snapshot
        .iter()
        .filter(|(pk, item)| {
            pk.as_str() == format!("USER#{user_id}")
                || pk.as_str() == session_key_pk
                || item["user_id"] == json!({"S": user_id})
        })
        .map(|(pk, _)| pk.clone())
        .collect()
}

fn kinds(pks: &[String]) -> Vec<&str> {
    let mut kinds: Vec<&str> = pks.iter().map(|pk| pk.split('#').next().unwrap()).collect();
    kinds.sort_unstable();
    kinds
}

struct Rig {
    stack: Stack,
    code_exchange: Emulator,
    bind: Emulator,
}

/// A stack whose users get a unionid; `name` logged in twice (two devices) with the phone
/// bound. Returns the rig, both sessions and the session_key item's key.
async fn account(name: &str) -> (Rig, Value, Value, String) {
    let stack = Stack::new().await;
    stack.wechat.enable_unionid(stack.appid());
    let code_exchange = stack.start("code-exchange", &[]).await;
    let bind = stack.start("bind-phone", &[]).await;
    let first = stack.login(&code_exchange, name).await;
    let bound = bind_phone(&stack, &bind, &first, name).await;
    let other_device = stack.login(&code_exchange, name).await;
    let sesskey = format!(
        "SESSKEY#{}#{}",
        stack.appid(),
        FakeWeChat::openid(stack.appid(), name)
    );
    let rig = Rig {
        stack,
        code_exchange,
        bind,
    };
    (rig, bound, other_device, sesskey)
}

#[tokio::test]
async fn deleting_the_account_erases_what_names_it_and_its_tokens_stop_at_once() {
    let (r, session, other_device, sesskey) = account("alice").await;
    let session_fn = r.stack.start("session", &[]).await;
    let user_id = session["user"]["id"].as_str().unwrap().to_owned();
    let before = items_naming(&r.stack.snapshot().await, &user_id, &sesskey);
    assert_eq!(
        kinds(&before),
        // Three sessions: the first login, the bind's fresh tokens, the other device.
        [
            "FAMILY", "FAMILY", "FAMILY", "OPENID", "PHONE", "SESSKEY", "UNIONID", "USER"
        ],
        "{before:?}"
    );

    let deleted = call(&session_fn, "DELETE", "/auth/me", &token_of(&session)).await;
    assert_eq!(deleted.status, 200, "{}", deleted.raw_body);
    assert_eq!(deleted.body, json!({"status": "deleted"}));

    // Left: the other sessions' refresh families (not indexed by user; README), which no
    // route accepts any more. The caller's own family went with the account.
    let after = items_naming(&r.stack.snapshot().await, &user_id, &sesskey);
    assert_eq!(kinds(&after), ["FAMILY", "FAMILY"], "{after:?}");
    let family_of = |s: &Value| {
        let id = s["refresh_token"]
            .as_str()
            .unwrap()
            .split('.')
            .next()
            .unwrap();
        format!("FAMILY#{id}")
    };
    assert!(!after.contains(&family_of(&session)), "{after:?}");
    assert!(after.contains(&family_of(&other_device)), "{after:?}");
    for s in [&session, &other_device] {
        let refused = refresh(&r.code_exchange, s).await;
        assert_eq!(
            (refused.status, refused.error_code()),
            (401, "REFRESH_REVOKED")
        );
        for (method, path) in [("GET", "/auth/me"), ("GET", "/auth/me/export")] {
            let refused = call(&session_fn, method, path, &token_of(s)).await;
            assert_eq!(
                (refused.status, refused.error_code()),
                (401, "UNAUTHORIZED")
            );
        }
    }
    let bind_again = r
        .bind
        .http(events::http(
            "POST",
            "/auth/phone",
            Some(&json!({"code": "any-phone-code"}).to_string()),
            &[(
                "authorization",
                &format!("Bearer {}", token_of(&other_device)),
            )],
        ))
        .await;
    assert_eq!(
        (bind_again.status, bind_again.error_code()),
        (401, "UNAUTHORIZED")
    );

    // A retried request: the same answer.
    let again = call(&session_fn, "DELETE", "/auth/me", &token_of(&session)).await;
    assert_eq!(
        (again.status, &again.body),
        (200, &json!({"status": "deleted"}))
    );

    // The same WeChat user is a new user; the phone can be bound by someone else.
    let new = r.stack.login(&r.code_exchange, "alice").await;
    assert_ne!(new["user"]["id"], session["user"]["id"]);
    assert_eq!(new["user"]["phone_bound"], false);
    let bob = r.stack.login(&r.code_exchange, "bob").await;
    bind_phone(&r.stack, &r.bind, &bob, "bob").await;
    // Nothing personal in the session function's logs.
    let logs = session_fn.logs();
    assert!(logs.contains("user deleted"), "{logs}");
    assert!(!logs.contains(PHONE), "{logs}");
}

#[tokio::test]
async fn a_failure_at_any_step_of_a_deletion_leaves_the_whole_account_or_none() {
    let (r, session, _other_device, sesskey) = account("carol").await;
    let proxy = FaultProxy::start(moto::endpoint()).await;
    let url = proxy.url();
    let session_fn = r
        .stack
        .start("session", &[("AWS_ENDPOINT_URL", url.as_str())])
        .await;
    let token = token_of(&session);
    let user_id = session["user"]["id"].as_str().unwrap().to_owned();
    let snapshot = r.stack.snapshot().await;

    // Each read of the deletion, then its one write: each failing, nothing changes and the
    // account still works.
    for (operation, needle) in [
        (GET_ITEM, "FAMILY#"),
        (GET_ITEM, "USER#"),
        (GET_ITEM, "OPENID#"),
        (GET_ITEM, "UNIONID#"),
        (TRANSACT_WRITE_ITEMS, "USER#"),
    ] {
        proxy.restore();
        proxy.reset_counts();
        proxy.fail_matching(operation, needle, Fault::dynamodb_internal_error());
        let failed = call(&session_fn, "DELETE", "/auth/me", &token).await;
        assert_eq!(
            (failed.status, failed.error_code()),
            (503, "SERVICE_UNAVAILABLE"),
            "{operation} {needle}: {}",
            failed.raw_body
        );
        assert!(
            proxy.calls(operation) > 0,
            "{operation} {needle} was reached"
        );
        assert_eq!(r.stack.snapshot().await, snapshot, "{operation} {needle}");
        proxy.restore();
        let me = call(&session_fn, "GET", "/auth/me", &token).await;
        assert_eq!(me.status, 200, "{operation} {needle}: {}", me.raw_body);
    }

    // The write happens but its answer is lost (every attempt): the request fails, the
    // account is gone whole, and the client's retry is told so.
    proxy.fail_matching(TRANSACT_WRITE_ITEMS, "USER#", Fault::LostAnswer);
    let lost = call(&session_fn, "DELETE", "/auth/me", &token).await;
    assert_eq!(lost.status, 503, "{}", lost.raw_body);
    proxy.restore();
    assert_eq!(
        items_naming(&r.stack.snapshot().await, &user_id, &sesskey)
            .iter()
            .filter(|pk| !pk.starts_with("FAMILY#"))
            .count(),
        0
    );
    let retried = call(&session_fn, "DELETE", "/auth/me", &token).await;
    assert_eq!(
        (retried.status, &retried.body),
        (200, &json!({"status": "deleted"}))
    );
    let new = r.stack.login(&r.code_exchange, "carol").await;
    assert_ne!(new["user"]["id"], session["user"]["id"]);
    let dave = r.stack.login(&r.code_exchange, "dave").await;
    bind_phone(&r.stack, &r.bind, &dave, "dave").await;
}
