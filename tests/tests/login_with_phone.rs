//! `POST /auth/login` with a phone proof, through the real code-exchange binary against moto
//! and the fake WeChat: the new-style code and legacy data (under the session_key of the code
//! sent with it) each sign in and bind in one request, in both signup modes; a number someone
//! owns is refused beside a login that stands; malformed combinations are 400 before WeChat.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::json;
use wxlogin::fake::FakeWeChat;
use wxlogin_tests::events;
use wxlogin_tests::stack::Stack;

#[tokio::test]
async fn a_login_with_a_phone_code_signs_in_and_binds_in_one_request() {
    let stack = Stack::new().await;
    let login_fn = stack.start("code-exchange", &[]).await;
    let code = stack.wechat.issue_code(stack.appid(), "hal");
    let phone_code =
        stack
            .wechat
            .issue_phone_code(stack.appid(), "hal", "86", "13800138201", false);
    let r = login_fn
        .http(events::post_json(
            "/auth/login",
            &json!({"code": code, "phone_code": phone_code}),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.raw_body);
    assert_eq!(r.body["user"]["phone_bound"], true);
    assert_eq!(r.body["user"]["created"], true);
    assert_eq!(r.body["user"]["phone"], "138****8201");
    assert!(r.body.get("phone_error").is_none());
    assert_eq!(stack.count_items("PHONE#").await, 1);
    let claims = stack
        .verifier()
        .verify_access(r.body["access_token"].as_str().unwrap())
        .unwrap();
    assert!(claims.phone_bound);

    // Someone else's number: the login stands, the phone's refusal is beside it.
    let code = stack.wechat.issue_code(stack.appid(), "ivy");
    let taken = stack
        .wechat
        .issue_phone_code(stack.appid(), "ivy", "86", "13800138201", false);
    let r = login_fn
        .http(events::post_json(
            "/auth/login",
            &json!({"code": code, "phone_code": taken}),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.raw_body);
    assert_eq!(r.body["user"]["phone_bound"], false);
    assert_eq!(
        r.body["phone_error"]["code"], "PHONE_TAKEN",
        "{}",
        r.raw_body
    );
    assert_eq!(r.body["phone_error"]["status"], 409);

    // Malformed combinations never reach WeChat.
    let calls = stack.wechat.calls("/sns/jscode2session");
    for body in [
        json!({"code": stack.wechat.issue_code(stack.appid(), "jon"), "phone_code": "x", "encrypted_data": "e", "iv": "i"}),
        json!({"code": stack.wechat.issue_code(stack.appid(), "jon"), "encrypted_data": "e"}),
        json!({"code": stack.wechat.issue_code(stack.appid(), "jon"), "phone_code": "not a code!"}),
    ] {
        let r = login_fn.http(events::post_json("/auth/login", &body)).await;
        assert_eq!(r.status, 400, "{body} {}", r.raw_body);
    }
    assert_eq!(stack.wechat.calls("/sns/jscode2session"), calls);
}

#[tokio::test]
async fn phone_mode_legacy_data_under_the_fresh_session_key_signs_up_in_one_request() {
    let stack = Stack::new().await;
    let login_fn = stack
        .start("code-exchange", &[("SIGNUP_MODE", "phone")])
        .await;
    let code = stack.wechat.issue_code(stack.appid(), "kit");
    let now = wxlogin::clock::Clock::now(&wxlogin::clock::SystemClock);
    let payload = FakeWeChat::phone_payload(stack.appid(), "86", "13800138202", now);
    let (data, iv) = stack
        .wechat
        .encrypt_for_code(&code, payload.to_string().as_bytes())
        .unwrap();
    let r = login_fn
        .http(events::post_json(
            "/auth/login",
            &json!({"code": code, "encrypted_data": data, "iv": iv}),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.raw_body);
    assert_eq!(r.body["status"], "ok", "not phone_required: {}", r.raw_body);
    assert_eq!(r.body["user"]["created"], true);
    assert_eq!(r.body["user"]["phone"], "138****8202");
    assert_eq!(stack.count_items("USER#").await, 1);
}
