//! Smoke tier for SMS codes, passwords and profiles: the real `account`, `bind-phone`,
//! `code-exchange` and `session` binaries under the emulator, against moto (DynamoDB, Secrets
//! Manager and SNS). SMS codes are read off the wire: SNS calls go through a recording proxy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use wxlogin_tests::emulator::{Emulator, HttpReply};
use wxlogin_tests::events;
use wxlogin_tests::moto;
use wxlogin_tests::proxy::{RecordingProxy, code_in};
use wxlogin_tests::stack::Stack;

const PHONE: &str = "13800138000";
const E164: &str = "+8613800138000";

struct Rig {
    stack: Stack,
    proxy: RecordingProxy,
    login: Emulator,
    account: Emulator,
    bind: Emulator,
    session: Emulator,
}

async fn rig() -> Rig {
    let stack = Stack::new().await;
    let proxy = RecordingProxy::start(moto::endpoint()).await;
    let url = proxy.url();
    let account = stack
        .start(
            "account",
            &[("SMS_SENDER", "sns"), ("AWS_ENDPOINT_URL", url.as_str())],
        )
        .await;
    let login = stack.start("code-exchange", &[]).await;
    let bind = stack.start("bind-phone", &[]).await;
    let session = stack.start("session", &[]).await;
    Rig {
        stack,
        proxy,
        login,
        account,
        bind,
        session,
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn post(lambda: &Emulator, path: &str, body: &Value, token: Option<&str>) -> HttpReply {
    let auth = token.map(bearer);
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

/// Sends a code to PHONE and reads it off the SNS call.
async fn send_code(r: &Rig) -> String {
    let sent = post(&r.account, "/auth/sms/send", &json!({"phone": PHONE}), None).await;
    assert_eq!(sent.status, 200, "{}", sent.raw_body);
    let text = r
        .proxy
        .last_sms_to(E164)
        .expect("an SNS Publish to the phone");
    let code = code_in(&text).unwrap();
    assert!(
        !sent.raw_body.contains(&code),
        "the code must never be in the reply"
    );
    code
}

/// A user with PHONE bound by SMS; returns the login and bind answers.
async fn user_with_phone(r: &Rig, user: &str) -> (Value, Value) {
    let s = r.stack.login(&r.login, user).await;
    let code = send_code(r).await;
    let bound = post(
        &r.bind,
        "/auth/phone",
        &json!({"phone": PHONE, "sms_code": code}),
        s["access_token"].as_str(),
    )
    .await;
    assert_eq!(bound.status, 200, "{}", bound.raw_body);
    (s, bound.body)
}

#[tokio::test]
async fn an_sms_code_sent_through_sns_binds_the_phone_and_is_limited() {
    let r = rig().await;
    let (login, bound) = user_with_phone(&r, "alice").await;
    assert_eq!(bound["user"]["id"], login["user"]["id"]);
    assert_eq!(bound["user"]["phone"], "138****8000");
    // Another send within the minute: 429 with Retry-After.
    let again = post(&r.account, "/auth/sms/send", &json!({"phone": PHONE}), None).await;
    assert_eq!((again.status, again.error_code()), (429, "RATE_LIMITED"));
    let retry: u64 = again.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(
        !r.account.logs().contains(PHONE),
        "the full number is never logged"
    );
    let bad = post(
        &r.account,
        "/auth/sms/send",
        &json!({"phone": "12345"}),
        None,
    )
    .await;
    assert_eq!((bad.status, bad.error_code()), (400, "INVALID_REQUEST"));
}

#[tokio::test]
async fn five_wrong_codes_use_up_the_code_and_a_used_code_fails() {
    let r = rig().await;
    let s = r.stack.login(&r.login, "bob").await;
    let code = send_code(&r).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let w = post(
            &r.bind,
            "/auth/phone",
            &json!({"phone": PHONE, "sms_code": wrong}),
            s["access_token"].as_str(),
        )
        .await;
        assert_eq!((w.status, w.error_code()), (401, "INVALID_CODE"));
    }
    let right = post(
        &r.bind,
        "/auth/phone",
        &json!({"phone": PHONE, "sms_code": code}),
        s["access_token"].as_str(),
    )
    .await;
    assert_eq!(
        (right.status, right.error_code()),
        (401, "INVALID_CODE"),
        "attempts exhausted"
    );
}

#[tokio::test]
async fn two_users_presenting_one_sms_code_at_once_leave_one_owner() {
    let r = rig().await;
    let second_bind = r.stack.start("bind-phone", &[]).await;
    let a = r.stack.login(&r.login, "carol").await;
    let b = r.stack.login(&r.login, "dave").await;
    let code = send_code(&r).await;
    let body = json!({"phone": PHONE, "sms_code": code});
    let (ra, rb) = tokio::join!(
        post(&r.bind, "/auth/phone", &body, a["access_token"].as_str()),
        post(
            &second_bind,
            "/auth/phone",
            &body,
            b["access_token"].as_str()
        )
    );
    let statuses = [ra.status, rb.status];
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{} / {}",
        ra.raw_body,
        rb.raw_body
    );
    assert_eq!(r.stack.count_items("PHONE#").await, 1);
}

#[tokio::test]
async fn password_set_login_equal_answers_lockout_and_revocation() {
    let r = rig().await;
    let (login, bound) = user_with_phone(&r, "erin").await;
    // Setting a password ends every other session.
    let set = post(
        &r.account,
        "/auth/password",
        &json!({"password": "tea kettle sunrise"}),
        bound["access_token"].as_str(),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.raw_body);
    let old = r
        .login
        .http(events::post_json(
            "/auth/refresh",
            &json!({"refresh_token": login["refresh_token"]}),
        ))
        .await;
    assert_eq!(old.error_code(), "REFRESH_REVOKED");
    let kept = r
        .login
        .http(events::post_json(
            "/auth/refresh",
            &json!({"refresh_token": set.body["refresh_token"]}),
        ))
        .await;
    assert_eq!(
        kept.status, 200,
        "the session that changed the password lives on"
    );
    let weak = post(
        &r.account,
        "/auth/password",
        &json!({"password": "password1", "old_password": "tea kettle sunrise"}),
        set.body["access_token"].as_str(),
    )
    .await;
    assert_eq!((weak.status, weak.error_code()), (400, "WEAK_PASSWORD"));
    let no_old = post(
        &r.account,
        "/auth/password",
        &json!({"password": "another good one"}),
        set.body["access_token"].as_str(),
    )
    .await;
    assert_eq!(
        (no_old.status, no_old.error_code()),
        (401, "INVALID_CREDENTIALS")
    );

    // Login; unknown phone and wrong password answer alike.
    let ok = post(
        &r.account,
        "/auth/password/login",
        &json!({"phone": PHONE, "password": "tea kettle sunrise"}),
        None,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.raw_body);
    assert_eq!(ok.body["user"]["id"], login["user"]["id"]);
    let wrong = post(
        &r.account,
        "/auth/password/login",
        &json!({"phone": PHONE, "password": "not the password"}),
        None,
    )
    .await;
    let unknown = post(
        &r.account,
        "/auth/password/login",
        &json!({"phone": "13900139000", "password": "not the password"}),
        None,
    )
    .await;
    assert_eq!(
        (wrong.status, wrong.error_code()),
        (401, "INVALID_CREDENTIALS")
    );
    assert_eq!(
        (unknown.status, &unknown.body["error"]["message"]),
        (wrong.status, &wrong.body["error"]["message"])
    );
    // Four more failures (five in all) lock the phone, even for the right password.
    for _ in 0..4 {
        post(
            &r.account,
            "/auth/password/login",
            &json!({"phone": PHONE, "password": "not the password"}),
            None,
        )
        .await;
    }
    let locked = post(
        &r.account,
        "/auth/password/login",
        &json!({"phone": PHONE, "password": "tea kettle sunrise"}),
        None,
    )
    .await;
    assert_eq!((locked.status, locked.error_code()), (429, "RATE_LIMITED"));
    assert!(locked.header("retry-after").is_some());
    assert!(
        !r.account.logs().contains("tea kettle"),
        "passwords are never logged"
    );
}

#[tokio::test]
async fn the_profile_is_set_directly_or_from_verified_user_info() {
    let r = rig().await;
    let s = r.stack.login(&r.login, "fay").await;
    let token = s["access_token"].as_str().unwrap();
    let auth = bearer(token);
    let patch = |body: Value| {
        events::http(
            "PATCH",
            "/auth/me",
            Some(&body.to_string()),
            &[("authorization", auth.as_str())],
        )
    };
    let ok = r
        .session
        .http(patch(
            json!({"nickname": "小明", "avatar_url": "https://example.com/a.png"}),
        ))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.raw_body);
    assert_eq!(ok.body["nickname"], "小明");
    for bad in [
        json!({"nickname": ""}),
        json!({"avatar_url": "http://example.com/a.png"}),
        json!({"nickname": "x".repeat(33)}),
    ] {
        let r2 = r.session.http(patch(bad.clone())).await;
        assert_eq!(
            (r2.status, r2.error_code()),
            (400, "INVALID_REQUEST"),
            "{bad}"
        );
    }
    // Legacy getUserInfo data, signed and encrypted as WeChat does.
    let appid = r.stack.appid();
    let session_key = r.stack.wechat.session_key(appid, "fay").unwrap();
    let now = wxlogin::clock::Clock::now(&wxlogin::clock::SystemClock);
    let info = json!({"nickName": "Fay", "avatarUrl": "https://thirdwx.qlogo.cn/fay.png", "watermark": {"appid": appid, "timestamp": now}});
    let raw_data =
        json!({"nickName": "Fay", "avatarUrl": "https://thirdwx.qlogo.cn/fay.png"}).to_string();
    let signature = wxlogin::crypto::sha1_hex(format!("{raw_data}{session_key}").as_bytes());
    let (data, iv) = r
        .stack
        .wechat
        .encrypt_for(appid, "fay", info.to_string().as_bytes())
        .unwrap();
    let info_body = |sig: &str, data: &str| json!({"raw_data": raw_data, "signature": sig, "encrypted_data": data, "iv": iv});
    let mismatch = post(
        &r.session,
        "/auth/me/userinfo",
        &info_body(&"0".repeat(40), &data),
        Some(token),
    )
    .await;
    assert_eq!(
        (mismatch.status, mismatch.error_code()),
        (400, "DECRYPT_FAILED")
    );
    let other_app = json!({"nickName": "Eve", "watermark": {"appid": "wxother", "timestamp": now}});
    let (bad_data, _) = r
        .stack
        .wechat
        .encrypt_for(appid, "fay", other_app.to_string().as_bytes())
        .unwrap();
    let watermark = post(&r.session, "/auth/me/userinfo", &json!({"raw_data": raw_data, "signature": signature, "encrypted_data": bad_data, "iv": iv}), Some(token)).await;
    assert_eq!(
        (watermark.status, watermark.error_code()),
        (400, "DECRYPT_FAILED")
    );
    let good = post(
        &r.session,
        "/auth/me/userinfo",
        &info_body(&signature, &data),
        Some(token),
    )
    .await;
    assert_eq!(good.status, 200, "{}", good.raw_body);
    assert_eq!(good.body["nickname"], "Fay");
    assert_eq!(good.body["avatar_url"], "https://thirdwx.qlogo.cn/fay.png");
}

#[tokio::test]
async fn after_logout_all_the_access_token_can_no_longer_set_a_password() {
    // The attack found on the local server: logout {"all":true}, then the same access token
    // set a first password (200) and the refresh token it returned worked.
    let r = rig().await;
    let (_, bound) = user_with_phone(&r, "gus").await;
    let token = bound["access_token"].as_str().unwrap();
    let out = post(
        &r.session,
        "/auth/logout",
        &json!({"all": true}),
        Some(token),
    )
    .await;
    assert_eq!(out.status, 200, "{}", out.raw_body);
    let set = post(
        &r.account,
        "/auth/password",
        &json!({"password": "tea kettle sunrise"}),
        Some(token),
    )
    .await;
    assert_eq!(
        (set.status, set.error_code()),
        (401, "UNAUTHORIZED"),
        "{}",
        set.raw_body
    );
    assert!(set.body.get("refresh_token").is_none());
    let login = post(
        &r.account,
        "/auth/password/login",
        &json!({"phone": PHONE, "password": "tea kettle sunrise", "appid": r.stack.appid()}),
        None,
    )
    .await;
    assert_eq!(
        (login.status, login.error_code()),
        (401, "INVALID_CREDENTIALS"),
        "no password was set"
    );
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_an_sms_proof_and_every_session_ends() {
    let stack = Stack::new().await;
    let proxy = RecordingProxy::start(moto::endpoint()).await;
    let url = proxy.url();
    // Two sends to one phone within a minute: the bind's, then the reset's.
    let account = stack
        .start(
            "account",
            &[
                ("SMS_SENDER", "sns"),
                ("AWS_ENDPOINT_URL", url.as_str()),
                ("LIMIT_SMS_PER_PHONE", "5/1m"),
            ],
        )
        .await;
    let r = Rig {
        login: stack.start("code-exchange", &[]).await,
        bind: stack.start("bind-phone", &[]).await,
        session: stack.start("session", &[]).await,
        account,
        proxy,
        stack,
    };
    let (login, bound) = user_with_phone(&r, "kim").await;
    let set = post(
        &r.account,
        "/auth/password",
        &json!({"password": "tea kettle sunrise"}),
        bound["access_token"].as_str(),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.raw_body);

    let code = send_code(&r).await;
    let reset = |code: &str, password: &str| {
        let body = json!({"phone": PHONE, "sms_code": code, "password": password});
        let account = &r.account;
        async move { post(account, "/auth/password/reset", &body, None).await }
    };
    let weak = reset(&code, "password1").await;
    assert_eq!((weak.status, weak.error_code()), (400, "WEAK_PASSWORD"));
    let done = reset(&code, "plum orbit lantern 47").await;
    assert_eq!((done.status, &done.body), (200, &json!({"status": "ok"})));
    assert_eq!(
        reset(&code, "plum orbit lantern 47").await.error_code(),
        "INVALID_CODE"
    );

    // Every session ended, the one that set the old password too.
    for s in [&login, &set.body] {
        let old = r
            .login
            .http(events::post_json(
                "/auth/refresh",
                &json!({"refresh_token": s["refresh_token"]}),
            ))
            .await;
        assert_eq!(old.error_code(), "REFRESH_REVOKED");
    }
    let by = |password: &str| json!({"phone": PHONE, "password": password});
    let old = post(
        &r.account,
        "/auth/password/login",
        &by("tea kettle sunrise"),
        None,
    )
    .await;
    assert_eq!(old.error_code(), "INVALID_CREDENTIALS");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let new = post(
        &r.account,
        "/auth/password/login",
        &by("plum orbit lantern 47"),
        None,
    )
    .await;
    assert_eq!(new.status, 200, "{}", new.raw_body);
    assert_eq!(new.body["user"]["id"], login["user"]["id"]);
    let logs = r.account.logs();
    assert!(
        !logs.contains("plum orbit") && !logs.contains(PHONE),
        "{logs}"
    );
}
