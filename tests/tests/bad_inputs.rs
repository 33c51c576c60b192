//! bad-inputs.md rows through the real binaries: a body that is not UTF-8 on every route that
//! takes one, and an internal error (a stored session_key that does not decode to 16 bytes)
//! that answers 500 with nothing in the body and one `INTERNAL` alarm in the log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use wxlogin::fake::FakeWeChat;
use wxlogin::fake::wechat::{CHECK_SESSION_PATH, PHONE_NUMBER_PATH};
use wxlogin_tests::emulator::{Emulator, HttpReply};
use wxlogin_tests::events;
use wxlogin_tests::stack::Stack;

/// JSON-looking, but `\xff\xfe` is not UTF-8.
const NOT_UTF8: &[u8] = b"{\"code\":\"\xff\xfe\",\"phone\":\"1380013\xc3\x28\"}";

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

/// The `INTERNAL` alarm lines of a function's log.
fn internal_alarms(logs: &str) -> usize {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["alarm"] == "INTERNAL")
        .count()
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_400_on_every_route_that_takes_a_body() {
    let stack = Stack::new().await;
    let login_fn = stack.start("code-exchange", &[]).await;
    let bind = stack.start("bind-phone", &[]).await;
    let account = stack.start("account", &[]).await;
    let session = stack.start("session", &[]).await;
    let s = stack.login(&login_fn, "alice").await;
    let bearer = format!("Bearer {}", s["access_token"].as_str().unwrap());
    // Routes that check the token first get a valid one, so that the body is what is judged.
    let routes: Vec<(&Emulator, &str, &str, bool)> = vec![
        (&login_fn, "POST", "/auth/login", false),
        (&login_fn, "POST", "/auth/refresh", false),
        (&bind, "POST", "/auth/phone", true),
        (&account, "POST", "/auth/sms/send", false),
        (&account, "POST", "/auth/password/login", false),
        (&account, "POST", "/auth/password/login", true),
        (&account, "POST", "/auth/password", true),
        (&session, "POST", "/auth/logout", false),
        (&session, "POST", "/auth/logout", true),
        (&session, "PATCH", "/auth/me", true),
        (&session, "PUT", "/auth/me", true),
        (&session, "POST", "/auth/me/userinfo", true),
    ];
    let before = stack.snapshot().await;
    for (lambda, method, path, with_token) in routes {
        let headers: Vec<(&str, &str)> = if with_token {
            vec![("authorization", bearer.as_str())]
        } else {
            vec![]
        };
        let r = lambda
            .http(events::raw_body(method, path, NOT_UTF8, &headers))
            .await;
        let what = format!("{method} {path} (token: {with_token})");
        assert_eq!(
            (r.status, r.error_code()),
            (400, "INVALID_REQUEST"),
            "{what}: {}",
            r.raw_body
        );
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("UTF-8"),
            "{what}: refused as not UTF-8: {}",
            r.raw_body
        );
        assert_no_token(&r);
    }
    assert_eq!(stack.snapshot().await, before, "nothing written");
    assert_eq!(stack.wechat.calls(PHONE_NUMBER_PATH), 0);
    // The session is intact: the refused logout revoked nothing.
    let refreshed = login_fn
        .http(events::post_json(
            "/auth/refresh",
            &json!({"refresh_token": s["refresh_token"]}),
        ))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.raw_body);
}

/// Replaces the stored session_key of `user` with `value`, straight in the table.
async fn corrupt_session_key(stack: &Stack, user: &str, value: &str) {
    let openid = FakeWeChat::openid(stack.appid(), user);
    let pk = format!("SESSKEY#{}#{openid}", stack.appid());
    assert!(stack.item(&pk).await.is_some(), "{pk} exists");
    aws_sdk_dynamodb::Client::new(&stack.sdk)
        .update_item()
        .table_name(&stack.table)
        .key("pk", AttributeValue::S(pk))
        .update_expression("SET session_key = :k")
        .expression_attribute_values(":k", AttributeValue::S(value.to_owned()))
        .send()
        .await
        .unwrap();
}

/// The body of a 500: the fixed code and message and the request id, nothing else.
fn assert_bare_internal(r: &HttpReply, leaked: &[&str]) {
    assert_eq!(
        (r.status, r.error_code()),
        (500, "INTERNAL"),
        "{}",
        r.raw_body
    );
    let error = r.body["error"].as_object().unwrap();
    let mut keys: Vec<&str> = error.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "message", "request_id"], "{}", r.raw_body);
    assert_eq!(r.body.as_object().unwrap().len(), 1, "{}", r.raw_body);
    let message = error["message"].as_str().unwrap().to_lowercase();
    for word in [
        "session", "key", "decode", "byte", "corrupt", "dynamo", "stored",
    ] {
        assert!(!message.contains(word), "{word} in {}", r.raw_body);
    }
    for secret in leaked {
        assert!(!r.raw_body.contains(secret), "{secret} in {}", r.raw_body);
    }
    assert_no_token(r);
}

#[tokio::test]
async fn a_stored_session_key_that_is_not_16_bytes_is_500_fail_closed_with_one_alarm() {
    let stack = Stack::new().await;
    let login_fn = stack.start("code-exchange", &[]).await;
    let bind = stack.start("bind-phone", &[]).await;
    let session = stack.start("session", &[]).await;
    let s = stack.login(&login_fn, "bob").await;
    let token = s["access_token"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {token}");
    // Data encrypted under the real key, so that only the stored key is wrong.
    let payload = FakeWeChat::phone_payload(stack.appid(), "86", "13800138123", now());
    let (data, iv) = stack
        .wechat
        .encrypt_for(stack.appid(), "bob", payload.to_string().as_bytes())
        .unwrap();
    // 20 bytes of base64: decodes, but is no AES-128 key.
    let corrupt = wxlogin::crypto::b64_encode(b"twenty-bytes-of-key!");
    corrupt_session_key(&stack, "bob", &corrupt).await;
    let before = stack.snapshot().await;

    let r = bind
        .http(events::http(
            "POST",
            "/auth/phone",
            Some(&json!({"encrypted_data": data, "iv": iv}).to_string()),
            &[("authorization", &auth)],
        ))
        .await;
    assert_bare_internal(&r, &[&corrupt, "13800138123", &data]);
    let logs = bind.logs();
    assert_eq!(internal_alarms(&logs), 1, "{logs}");
    assert!(!logs.contains(&corrupt), "the stored key is not logged");
    assert!(!logs.contains("13800138123"));
    // Fail closed: no checksession call to "explain" it, nothing bound.
    assert_eq!(stack.wechat.calls(CHECK_SESSION_PATH), 0);
    assert_eq!(stack.snapshot().await, before, "nothing written");

    // The same for legacy user info on the session function.
    let raw_data = json!({"nickName": "Bob"}).to_string();
    let info =
        json!({"nickName": "Bob", "watermark": {"appid": stack.appid(), "timestamp": now()}});
    let (info_data, info_iv) = stack
        .wechat
        .encrypt_for(stack.appid(), "bob", info.to_string().as_bytes())
        .unwrap();
    let signature = wxlogin::crypto::sha1_hex(format!("{raw_data}{corrupt}").as_bytes());
    let r = session
        .http(events::http(
            "POST",
            "/auth/me/userinfo",
            Some(
                &json!({"raw_data": raw_data, "signature": signature, "encrypted_data": info_data, "iv": info_iv})
                    .to_string(),
            ),
            &[("authorization", &auth)],
        ))
        .await;
    assert_bare_internal(&r, &[&corrupt, &info_data]);
    let logs = session.logs();
    assert_eq!(internal_alarms(&logs), 1, "{logs}");
    assert!(!logs.contains(&corrupt), "the stored key is not logged");
    assert_eq!(stack.snapshot().await, before, "nothing written");
}
