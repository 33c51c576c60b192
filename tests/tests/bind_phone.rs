//! Smoke tier for `bind-phone`: the real binary under the Runtime API emulator against moto and
//! the fake WeChat — the account rules, paid-call protection, legacy data, and a race of many
//! users binding one phone at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use wxlogin::fake::FakeWeChat;
use wxlogin_tests::emulator::{Emulator, HttpReply};
use wxlogin_tests::events;
use wxlogin_tests::stack::Stack;

const PHONE: &str = "/wxa/business/getuserphonenumber";

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

fn access(s: &Value) -> &str {
    s["access_token"].as_str().unwrap()
}

fn now() -> u64 {
    wxlogin::clock::Clock::now(&wxlogin::clock::SystemClock)
}

#[tokio::test]
async fn a_phone_code_binds_once_and_a_retry_costs_no_second_call() {
    let stack = Stack::new().await;
    let login_fn = stack.start("code-exchange", &[]).await;
    let bind = stack.start("bind-phone", &[]).await;
    let s = stack.login(&login_fn, "alice").await;
    let code = stack
        .wechat
        .issue_phone_code(stack.appid(), "alice", "86", "13800138000", false);
    let r = post_phone(&bind, access(&s), &json!({"code": code})).await;
    assert_eq!(r.status, 200, "{}", r.raw_body);
    assert_eq!(r.body["user"]["phone"], "138****8000");
    assert_eq!(r.body["user"]["phone_bound"], true);
    assert!(
        stack
            .verifier()
            .verify_access(r.body["access_token"].as_str().unwrap())
            .unwrap()
            .phone_bound
    );
    let retry = post_phone(&bind, access(&s), &json!({"code": code})).await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.body["user"], r.body["user"]);
    assert_eq!(stack.wechat.calls(PHONE), 1, "the paid call happened once");
    // Another user presenting the code is refused without a call.
    let bob = stack.login(&login_fn, "bob").await;
    let stolen = post_phone(&bind, access(&bob), &json!({"code": code})).await;
    assert_eq!((stolen.status, stolen.error_code()), (401, "INVALID_CODE"));
    assert_eq!(stack.wechat.calls(PHONE), 1);
    // Nothing personal or secret in replies or logs.
    let logs = bind.logs();
    for text in [&r.raw_body, &logs] {
        assert!(!text.contains("13800138000"), "full phone number leaked");
        assert!(!text.contains("app-secret-1"));
    }
    assert_eq!(stack.count_items("PHONE#").await, 1);
    // The next login shows the phone.
    let again = stack.login(&login_fn, "alice").await;
    assert_eq!(again["user"]["phone"], "138****8000");
}

#[tokio::test]
async fn the_account_rules_hold_in_openid_mode() {
    let stack = Stack::new().await;
    let login_fn = stack.start("code-exchange", &[]).await;
    let bind = stack.start("bind-phone", &[]).await;
    let a = stack.login(&login_fn, "carl").await;
    let b = stack.login(&login_fn, "dina").await;
    let bind_with = |user: &'static str, pure: &'static str| {
        stack
            .wechat
            .issue_phone_code(stack.appid(), user, "86", pure, true)
    };
    assert_eq!(
        post_phone(
            &bind,
            access(&a),
            &json!({"code": bind_with("carl", "13700137000")})
        )
        .await
        .status,
        200
    );
    // A new paid code from a user whose phone is bound: the fee guard answers from the stored
    // user (PHONE_ALREADY_BOUND), without paying WeChat, even for the same number.
    let paid = stack.wechat.calls("/wxa/business/getuserphonenumber");
    let same = post_phone(
        &bind,
        access(&a),
        &json!({"code": bind_with("carl", "13700137000")}),
    )
    .await;
    assert_eq!(
        (same.status, same.error_code()),
        (409, "PHONE_ALREADY_BOUND")
    );
    assert_eq!(
        stack.wechat.calls("/wxa/business/getuserphonenumber"),
        paid,
        "no paid call for a bound user"
    );
    let taken = post_phone(
        &bind,
        access(&b),
        &json!({"code": bind_with("dina", "13700137000")}),
    )
    .await;
    assert_eq!((taken.status, taken.error_code()), (409, "PHONE_TAKEN"));
    let other = post_phone(
        &bind,
        access(&a),
        &json!({"code": bind_with("carl", "13600136000")}),
    )
    .await;
    assert_eq!(
        (other.status, other.error_code()),
        (409, "PHONE_ALREADY_BOUND")
    );
    let none = bind
        .http(events::post_json("/auth/phone", &json!({"code": "x"})))
        .await;
    assert_eq!((none.status, none.error_code()), (401, "UNAUTHORIZED"));
    let both = post_phone(&bind, access(&a), &json!({"code": "abc", "iv": "AAAA"})).await;
    assert_eq!((both.status, both.error_code()), (400, "INVALID_REQUEST"));
}

#[tokio::test]
async fn phone_mode_creates_the_user_at_bind_and_links_a_known_phone() {
    let stack = Stack::with_apps(&[
        ("wxtestappA0000001", "secret-a"),
        ("wxtestappB0000001", "secret-b"),
    ])
    .await;
    let login_fn = stack
        .start("code-exchange", &[("SIGNUP_MODE", "phone")])
        .await;
    let bind = stack.start("bind-phone", &[("SIGNUP_MODE", "phone")]).await;
    let login_in = |app: &'static str, user: &'static str| {
        let code = stack.wechat.issue_code(app, user);
        let lambda = &login_fn;
        async move {
            lambda
                .http(events::post_json(
                    "/auth/login",
                    &json!({"code": code, "appid": app}),
                ))
                .await
        }
    };
    let first = login_in("wxtestappA0000001", "erin").await;
    assert_eq!(first.body["status"], "phone_required");
    let code =
        stack
            .wechat
            .issue_phone_code("wxtestappA0000001", "erin", "86", "13500135000", false);
    let bound = post_phone(
        &bind,
        first.body["bind_token"].as_str().unwrap(),
        &json!({"code": code}),
    )
    .await;
    assert_eq!(bound.status, 200, "{}", bound.raw_body);
    assert_eq!(bound.body["user"]["created"], true);
    // In app B the same person (no unionid here) proves the same phone: linked, same user.
    let b = login_in("wxtestappB0000001", "erin-b").await;
    assert_eq!(b.body["status"], "phone_required");
    let code =
        stack
            .wechat
            .issue_phone_code("wxtestappB0000001", "erin-b", "86", "13500135000", false);
    let linked = post_phone(
        &bind,
        b.body["bind_token"].as_str().unwrap(),
        &json!({"code": code}),
    )
    .await;
    assert_eq!(linked.status, 200, "{}", linked.raw_body);
    assert_eq!(linked.body["user"]["id"], bound.body["user"]["id"]);
    assert_eq!(linked.body["user"]["created"], false);
    // A different openid of app A claiming that phone: the user already has an app-A openid.
    let c = login_in("wxtestappA0000001", "fred").await;
    let code =
        stack
            .wechat
            .issue_phone_code("wxtestappA0000001", "fred", "86", "13500135000", false);
    let refused = post_phone(
        &bind,
        c.body["bind_token"].as_str().unwrap(),
        &json!({"code": code}),
    )
    .await;
    assert_eq!((refused.status, refused.error_code()), (409, "PHONE_TAKEN"));
    assert_eq!(stack.count_items("USER#").await, 1);
    // Logins are now normal sessions.
    let again = login_in("wxtestappB0000001", "erin-b").await;
    assert_eq!(again.body["status"], "ok");
    assert_eq!(again.body["user"]["id"], bound.body["user"]["id"]);
}

#[tokio::test]
async fn legacy_encrypted_data_binds_and_its_failures_are_one_answer() {
    let stack = Stack::new().await;
    let login_fn = stack.start("code-exchange", &[]).await;
    let bind = stack.start("bind-phone", &[]).await;
    let s = stack.login(&login_fn, "gina").await;
    let payload = FakeWeChat::phone_payload(stack.appid(), "86", "13100131000", now());
    let (data, iv) = stack
        .wechat
        .encrypt_for(stack.appid(), "gina", payload.to_string().as_bytes())
        .unwrap();
    let bad = post_phone(
        &bind,
        access(&s),
        &json!({"encrypted_data": data.replacen('+', " ", 1).replacen('/', " ", 1), "iv": iv}),
    )
    .await;
    assert_eq!((bad.status, bad.error_code()), (400, "DECRYPT_FAILED"));
    let wrong_app = FakeWeChat::phone_payload("wxsomeoneelse", "86", "13100131000", now());
    let (wd, wiv) = stack
        .wechat
        .encrypt_for(stack.appid(), "gina", wrong_app.to_string().as_bytes())
        .unwrap();
    let r = post_phone(&bind, access(&s), &json!({"encrypted_data": wd, "iv": wiv})).await;
    assert_eq!((r.status, r.error_code()), (400, "DECRYPT_FAILED"));
    assert_eq!(
        r.body["error"]["message"], bad.body["error"]["message"],
        "one body whatever the reason"
    );
    let ok = post_phone(
        &bind,
        access(&s),
        &json!({"encrypted_data": data, "iv": iv}),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.raw_body);
    assert_eq!(ok.body["user"]["phone"], "131****1000");
    // A newer wx.login elsewhere rotated the key: SESSION_KEY_STALE, told apart by checksession.
    let h = stack.login(&login_fn, "hugo").await;
    stack.wechat.rotate_session_key(stack.appid(), "hugo");
    let payload = FakeWeChat::phone_payload(stack.appid(), "86", "13100131001", now());
    let (d2, iv2) = stack
        .wechat
        .encrypt_for(stack.appid(), "hugo", payload.to_string().as_bytes())
        .unwrap();
    let stale = post_phone(&bind, access(&h), &json!({"encrypted_data": d2, "iv": iv2})).await;
    assert_eq!(
        (stale.status, stale.error_code()),
        (401, "SESSION_KEY_STALE")
    );
    let key = stack.wechat.session_key(stack.appid(), "hugo").unwrap();
    assert!(!bind.logs().contains(&key), "session_key leaked to logs");
}

#[tokio::test]
async fn many_users_racing_for_one_phone_leave_exactly_one_owner() {
    const RACERS: usize = 8;
    let stack = Stack::new().await;
    let login_fn = stack.start("code-exchange", &[]).await;
    let mut instances = Vec::new();
    for _ in 0..RACERS {
        instances.push(stack.start("bind-phone", &[]));
    }
    let instances = futures_join(instances).await;
    let mut requests = Vec::new();
    for (i, instance) in instances.iter().enumerate() {
        let user = format!("racer{i}");
        let s = stack.login(&login_fn, &user).await;
        let code = stack
            .wechat
            .issue_phone_code(stack.appid(), &user, "86", "13400134000", false);
        requests
            .push(async move { post_phone(instance, access(&s), &json!({"code": code})).await });
    }
    let replies = futures_join(requests).await;
    let winners = replies.iter().filter(|r| r.status == 200).count();
    let taken = replies
        .iter()
        .filter(|r| r.status == 409 && r.error_code() == "PHONE_TAKEN")
        .count();
    println!("race: {RACERS} attempts, {winners} winner(s), {taken} PHONE_TAKEN");
    assert_eq!(
        (winners, taken),
        (1, RACERS - 1),
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, r.error_code().to_owned()))
            .collect::<Vec<_>>()
    );
    assert_eq!(stack.count_items("PHONE#").await, 1, "one ownership item");
    let users_with_phone = wxlogin_tests::moto::scan_prefix(&stack.sdk, &stack.table, "USER#")
        .await
        .into_iter()
        .filter(|u| u.contains_key("phone"))
        .count();
    assert_eq!(
        users_with_phone, 1,
        "no orphan: exactly one user holds the phone"
    );
}

/// Runs futures concurrently on this task and returns their outputs in order.
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn a_stalled_wechat_is_answered_inside_the_lambda_timeout_and_the_code_stays_usable() {
    // Before one deadline per request, a WeChat call kept its own 3 s timeout whatever the
    // invocation had left: with a 3 s Timeout the answer came too late (Lambda discards it,
    // the emulator reports TimedOut) and the phone-code claim stayed pending.
    let stack = Stack::new().await;
    let login_fn = stack.start("code-exchange", &[]).await;
    let bind = stack.start("bind-phone", &[]).await;
    bind.set_timeout(std::time::Duration::from_secs(3));
    let s = stack.login(&login_fn, "tara").await;
    let code = stack
        .wechat
        .issue_phone_code(stack.appid(), "tara", "86", "13700137000", false);
    stack.wechat.misbehave(
        PHONE,
        wxlogin::fake::Misbehaviour::Slow(std::time::Duration::from_secs(20)),
    );
    let r = post_phone(&bind, access(&s), &json!({"code": code})).await;
    assert_eq!(
        (r.status, r.error_code()),
        (504, "UPSTREAM_UNAVAILABLE"),
        "{}",
        r.raw_body
    );
    assert!(r.body.get("access_token").is_none());
    let retry = post_phone(&bind, access(&s), &json!({"code": code})).await;
    assert_eq!(
        retry.status, 200,
        "the claim was released: {}",
        retry.raw_body
    );
    assert_eq!(retry.body["user"]["phone"], "137****7000");
}

#[tokio::test]
async fn w13_a_rotated_app_secret_is_reread_on_the_phone_path() {
    // bad-inputs W13 on bind-phone: before, only the login re-read a rejected secret; the
    // phone path answered 503 MISCONFIGURED until the instance's cache expired.
    let stack = Stack::new().await;
    let login_fn = stack.start("code-exchange", &[]).await;
    let bind = stack.start("bind-phone", &[]).await;
    let s = stack.login(&login_fn, "uma").await;
    stack.wechat.add_app(stack.appid(), "rotated-app-secret");
    wxlogin_tests::moto::update_secret(
        &stack.sdk,
        &stack.wechat_secret_id,
        &json!({"apps": {stack.appid(): "rotated-app-secret"}}).to_string(),
    )
    .await;
    let code = stack
        .wechat
        .issue_phone_code(stack.appid(), "uma", "86", "13600136000", false);
    let r = post_phone(&bind, access(&s), &json!({"code": code})).await;
    assert_eq!(r.status, 200, "{}", r.raw_body);
    assert_eq!(r.body["user"]["phone"], "136****6000");
    assert!(stack.wechat.secret_was_sent("rotated-app-secret"));
    assert!(
        !bind.logs().contains("\"alarm\":\"MISCONFIGURED\""),
        "a rotation the re-read resolves is no alarm"
    );
}

#[tokio::test]
async fn a_phone_change_moves_the_user_to_the_new_number_and_releases_the_old_one() {
    let stack = Stack::new().await;
    let login_fn = stack.start("code-exchange", &[]).await;
    let bind = stack.start("bind-phone", &[]).await;
    let legacy = |user: &str, pure: &str| {
        let payload = FakeWeChat::phone_payload(stack.appid(), "86", pure, now());
        let (data, iv) = stack
            .wechat
            .encrypt_for(stack.appid(), user, payload.to_string().as_bytes())
            .unwrap();
        json!({"encrypted_data": data, "iv": iv})
    };
    let change = |token: String, body: Value| {
        let bind = &bind;
        async move {
            bind.http(events::http(
                "POST",
                "/auth/phone/change",
                Some(&body.to_string()),
                &[("authorization", &format!("Bearer {token}"))],
            ))
            .await
        }
    };
    let s = stack.login(&login_fn, "quinn").await;
    let bound = post_phone(&bind, access(&s), &legacy("quinn", "13100131010")).await;
    assert_eq!(bound.status, 200, "{}", bound.raw_body);
    let id = s["user"]["id"].as_str().unwrap().to_owned();

    // A number someone else owns: 409, nothing moves.
    let rex = stack.login(&login_fn, "rex").await;
    let rex_bound = post_phone(&bind, access(&rex), &legacy("rex", "13100131011")).await;
    assert_eq!(rex_bound.status, 200, "{}", rex_bound.raw_body);
    let snapshot = stack.snapshot().await;
    let taken = change(
        access(&bound.body).to_owned(),
        legacy("quinn", "13100131011"),
    )
    .await;
    assert_eq!((taken.status, taken.error_code()), (409, "PHONE_TAKEN"));
    assert_eq!(stack.snapshot().await, snapshot);

    let moved = change(
        access(&bound.body).to_owned(),
        legacy("quinn", "13100131012"),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.raw_body);
    assert_eq!(moved.body["user"]["id"], id.as_str());
    assert!(
        stack.item("PHONE#+8613100131010").await.is_none(),
        "old number released"
    );
    assert_eq!(
        stack.item("PHONE#+8613100131012").await.unwrap()["user_id"],
        json!({"S": id})
    );
    // The bind's session ended; the change's tokens live.
    let refresh = |session: &Value| {
        events::post_json(
            "/auth/refresh",
            &json!({"refresh_token": session["refresh_token"]}),
        )
    };
    let ended = login_fn.http(refresh(&bound.body)).await;
    assert_eq!(ended.error_code(), "REFRESH_REVOKED");
    assert_eq!(login_fn.http(refresh(&moved.body)).await.status, 200);
    // The released number is free for another user.
    let sam = stack.login(&login_fn, "sam").await;
    let freed = post_phone(&bind, access(&sam), &legacy("sam", "13100131010")).await;
    assert_eq!(freed.status, 200, "{}", freed.raw_body);
}
