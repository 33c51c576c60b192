//! Smoke tier for `code-exchange`: the real binary under the Runtime API emulator, with API
//! Gateway payload-2.0 events, against moto (DynamoDB, Secrets Manager) and the fake WeChat.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::json;
use std::time::Duration;
use wxlogin::fake::{FakeWeChat, Misbehaviour};
use wxlogin_tests::emulator::{Emulator, binary};
use wxlogin_tests::events;
use wxlogin_tests::stack::Stack;

const BIN: &str = "code-exchange";
const JSCODE: &str = "/sns/jscode2session";

fn login_event(code: &str) -> serde_json::Value {
    events::post_json("/auth/login", &json!({ "code": code }))
}

#[tokio::test]
async fn a_login_returns_tokens_that_verify_and_a_second_login_is_the_same_user() {
    let stack = Stack::new().await;
    let lambda = stack.start(BIN, &[]).await;
    let code = stack.wechat.issue_code(stack.appid(), "alice");
    let first = lambda.http(login_event(&code)).await;
    assert_eq!(first.status, 200, "{}", first.raw_body);
    assert_eq!(first.body["status"], "ok");
    assert_eq!(first.body["token_type"], "Bearer");
    assert_eq!(first.body["user"]["created"], true);
    let claims = stack
        .verifier()
        .verify_access(first.body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.sub, first.body["user"]["id"].as_str().unwrap());
    assert_eq!(claims.openid, FakeWeChat::openid(stack.appid(), "alice"));

    let code2 = stack.wechat.issue_code(stack.appid(), "alice");
    let second = lambda.http(login_event(&code2)).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body["user"]["id"], first.body["user"]["id"]);
    assert_eq!(second.body["user"]["created"], false);
    assert_eq!(stack.count_items("USER#").await, 1);

    // Nothing secret in the answers or the logs.
    let session_key = stack.wechat.session_key(stack.appid(), "alice").unwrap();
    let logs = lambda.logs();
    for text in [&first.raw_body, &second.raw_body, &logs] {
        assert!(!text.contains(&session_key), "session_key leaked");
        assert!(!text.contains("app-secret-1"), "app secret leaked");
        assert!(!text.contains(&code2), "login code leaked");
    }
    // One JSON log line per request outcome.
    let outcome_lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["fields"]["message"] == "request")
        .collect();
    assert_eq!(outcome_lines.len(), 2, "{logs}");
    assert_eq!(outcome_lines[0]["fields"]["status"], 200);
}

#[tokio::test]
async fn a_replayed_code_gets_401_without_a_wechat_call_and_the_first_session_stays() {
    let stack = Stack::new().await;
    let lambda = stack.start(BIN, &[]).await;
    let code = stack.wechat.issue_code(stack.appid(), "bob");
    let first = lambda.http(login_event(&code)).await;
    assert_eq!(first.status, 200);
    let replay = lambda.http(login_event(&code)).await;
    assert_eq!(replay.status, 401);
    assert_eq!(replay.error_code(), "INVALID_CODE");
    assert_eq!(stack.wechat.calls(JSCODE), 1);
    let refresh = lambda
        .http(events::post_json(
            "/auth/refresh",
            &json!({"refresh_token": first.body["refresh_token"]}),
        ))
        .await;
    assert_eq!(refresh.status, 200, "the first session is intact");
}

#[tokio::test]
async fn two_instances_racing_the_same_first_login_make_one_user() {
    let stack = Stack::new().await;
    let (a, b) = tokio::join!(stack.start(BIN, &[]), stack.start(BIN, &[]));
    let (ca, cb) = (
        stack.wechat.issue_code(stack.appid(), "carol"),
        stack.wechat.issue_code(stack.appid(), "carol"),
    );
    let (ra, rb) = tokio::join!(a.http(login_event(&ca)), b.http(login_event(&cb)));
    assert_eq!(
        (ra.status, rb.status),
        (200, 200),
        "{} / {}",
        ra.raw_body,
        rb.raw_body
    );
    assert_eq!(ra.body["user"]["id"], rb.body["user"]["id"]);
    assert_eq!(stack.count_items("USER#").await, 1);
    assert_eq!(stack.count_items("OPENID#").await, 1);
}

#[tokio::test]
async fn a_unionid_links_the_user_across_two_apps() {
    let stack = Stack::with_apps(&[
        ("wxtestappA0000001", "secret-a"),
        ("wxtestappB0000001", "secret-b"),
    ])
    .await;
    stack
        .wechat
        .enable_unionid("wxtestappA0000001")
        .enable_unionid("wxtestappB0000001");
    let lambda = stack.start(BIN, &[]).await;
    let ca = stack.wechat.issue_code("wxtestappA0000001", "dave");
    let a = lambda
        .http(events::post_json(
            "/auth/login",
            &json!({"code": ca, "appid": "wxtestappA0000001"}),
        ))
        .await;
    let cb = stack.wechat.issue_code("wxtestappB0000001", "dave");
    let b = lambda
        .http(events::post_json(
            "/auth/login",
            &json!({"code": cb, "appid": "wxtestappB0000001"}),
        ))
        .await;
    assert_eq!(
        (a.status, b.status),
        (200, 200),
        "{} {}",
        a.raw_body,
        b.raw_body
    );
    assert_eq!(a.body["user"]["id"], b.body["user"]["id"]);
    assert_eq!(b.body["user"]["created"], false);
    // Without an appid, a two-app deployment cannot guess.
    let cc = stack.wechat.issue_code("wxtestappA0000001", "dave");
    let c = lambda.http(login_event(&cc)).await;
    assert_eq!((c.status, c.error_code()), (400, "INVALID_REQUEST"));
    let d = lambda
        .http(events::post_json(
            "/auth/login",
            &json!({"code": cc, "appid": "wxunknown00000000"}),
        ))
        .await;
    assert_eq!((d.status, d.error_code()), (400, "UNKNOWN_APP"));
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let stack = Stack::new().await;
    let lambda = stack.start(BIN, &[]).await;
    let code = stack.wechat.issue_code(stack.appid(), "erin");
    let login = lambda.http(login_event(&code)).await;
    let rt0 = login.body["refresh_token"].as_str().unwrap().to_owned();
    let r1 = lambda
        .http(events::post_json(
            "/auth/refresh",
            &json!({"refresh_token": rt0}),
        ))
        .await;
    assert_eq!(r1.status, 200);
    let rt1 = r1.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt0, rt1);
    let reuse = lambda
        .http(events::post_json(
            "/auth/refresh",
            &json!({"refresh_token": rt0}),
        ))
        .await;
    assert_eq!((reuse.status, reuse.error_code()), (401, "REFRESH_REVOKED"));
    let after = lambda
        .http(events::post_json(
            "/auth/refresh",
            &json!({"refresh_token": rt1}),
        ))
        .await;
    assert_eq!(
        (after.status, after.error_code()),
        (401, "REFRESH_REVOKED"),
        "the family is revoked"
    );
}

#[tokio::test]
async fn phone_signup_mode_answers_phone_required_with_a_bind_token() {
    let stack = Stack::new().await;
    let lambda = stack.start(BIN, &[("SIGNUP_MODE", "phone")]).await;
    let code = stack.wechat.issue_code(stack.appid(), "frank");
    let r = lambda.http(login_event(&code)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "phone_required");
    assert!(
        stack
            .verifier()
            .verify_bind(r.body["bind_token"].as_str().unwrap())
            .is_ok()
    );
    assert!(r.body.get("access_token").is_none());
    assert_eq!(stack.count_items("USER#").await, 0);
    assert_eq!(stack.count_items("SESSKEY#").await, 1);
}

#[tokio::test]
async fn wechat_failures_get_the_design_statuses_and_create_nothing() {
    let stack = Stack::new().await;
    let lambda = stack.start(BIN, &[]).await;
    let cases: Vec<(Vec<Misbehaviour>, u16, &str)> = vec![
        (
            vec![Misbehaviour::Errcode(-1), Misbehaviour::Errcode(-1)],
            503,
            "UPSTREAM_UNAVAILABLE",
        ),
        (vec![Misbehaviour::Errcode(45011)], 429, "RATE_LIMITED"),
        (vec![Misbehaviour::Errcode(40226)], 403, "LOGIN_BLOCKED"),
        (vec![Misbehaviour::Errcode(40029)], 401, "INVALID_CODE"),
        (vec![Misbehaviour::Errcode(40163)], 401, "INVALID_CODE"),
        (vec![Misbehaviour::Html], 502, "UPSTREAM_UNAVAILABLE"),
        (vec![Misbehaviour::Truncated], 502, "UPSTREAM_UNAVAILABLE"),
        (
            vec![Misbehaviour::MissingSessionKey],
            502,
            "UPSTREAM_UNAVAILABLE",
        ),
        (
            vec![Misbehaviour::Slow(Duration::from_millis(3500))],
            504,
            "UPSTREAM_UNAVAILABLE",
        ),
    ];
    for (how, status, code) in cases {
        for m in &how {
            stack.wechat.misbehave(JSCODE, m.clone());
        }
        let wx_code = stack.wechat.issue_code(stack.appid(), "gina");
        let r = lambda.http(login_event(&wx_code)).await;
        assert_eq!(
            (r.status, r.error_code()),
            (status, code),
            "{how:?}: {}",
            r.raw_body
        );
        if status == 503 || status == 429 {
            assert!(
                r.header("retry-after").is_some(),
                "{how:?} needs Retry-After"
            );
        }
        assert!(r.body.get("access_token").is_none());
        assert!(!r.raw_body.contains("fake error"), "raw errmsg leaked");
    }
    assert_eq!(stack.count_items("USER#").await, 0);
    assert_eq!(stack.count_items("FAMILY#").await, 0);
}

#[tokio::test]
async fn a_rejected_app_secret_is_misconfigured_and_alarms() {
    let stack = Stack::new().await;
    let lambda = stack.start(BIN, &[]).await;
    stack
        .wechat
        .add_app(stack.appid(), "the-secret-wechat-now-wants");
    let code = stack.wechat.issue_code(stack.appid(), "henry");
    let r = lambda.http(login_event(&code)).await;
    assert_eq!((r.status, r.error_code()), (503, "MISCONFIGURED"));
    assert!(
        lambda.logs().contains("\"alarm\":\"MISCONFIGURED\""),
        "{}",
        lambda.logs()
    );
    // The operator fixes the secret: the next login re-reads it and works.
    wxlogin_tests::moto::update_secret(
        &stack.sdk,
        &stack.wechat_secret_id,
        &json!({"apps": {stack.appid(): "the-secret-wechat-now-wants"}}).to_string(),
    )
    .await;
    let code = stack.wechat.issue_code(stack.appid(), "henry");
    let r = lambda.http(login_event(&code)).await;
    assert_eq!(r.status, 200, "{}", r.raw_body);
}

#[tokio::test]
async fn bad_requests_are_refused_before_any_wechat_call() {
    let stack = Stack::new().await;
    let lambda = stack.start(BIN, &[]).await;
    let big = format!("{{\"code\":\"{}\"}}", "a".repeat(20_000));
    let bodies: Vec<Option<String>> = vec![
        None,
        Some("not json".into()),
        Some("[]".into()),
        Some("{}".into()),
        Some(r#"{"code":""}"#.into()),
        Some(format!(r#"{{"code":"{}"}}"#, "a".repeat(129))),
        Some(r#"{"code":"abc def"}"#.into()),
        Some(r#"{"code":"abc+/="}"#.into()),
        Some(r#"{"code":123}"#.into()),
        Some(r#"{"code":"abc","extra":1}"#.into()),
        Some(r#"{"code":"abc","code":"def"}"#.into()),
        Some(big),
        Some(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000))),
    ];
    for body in bodies {
        let r = lambda
            .http(events::http("POST", "/auth/login", body.as_deref(), &[]))
            .await;
        assert_eq!(
            (r.status, r.error_code()),
            (400, "INVALID_REQUEST"),
            "{body:?}"
        );
    }
    let r = lambda
        .http(events::base64_body("/auth/login", "!!!not base64!!!"))
        .await;
    assert_eq!((r.status, r.error_code()), (400, "INVALID_REQUEST"));
    let r = lambda
        .http(events::http("GET", "/auth/../etc/passwd", None, &[]))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(stack.wechat.calls(JSCODE), 0);
    // A valid base64-encoded body works.
    let code = stack.wechat.issue_code(stack.appid(), "ivy");
    let encoded = wxlogin::crypto::b64_encode(json!({"code": code}).to_string().as_bytes());
    let r = lambda
        .http(events::base64_body("/auth/login", &encoded))
        .await;
    assert_eq!(r.status, 200, "{}", r.raw_body);
}

#[tokio::test]
async fn a_missing_or_malformed_secret_fails_the_cold_start() {
    let stack = Stack::new().await;
    let mut env = stack.env(&[]);
    env.retain(|(k, _)| *k != "WECHAT_SECRET_ID");
    env.push(("WECHAT_SECRET_ID", "does-not-exist".into()));
    let mut missing = Emulator::start(&binary(BIN), &env).await;
    let ready = missing.wait_ready().await;
    assert!(ready.is_err(), "{ready:?} {}", missing.logs());
    assert!(
        missing.logs().contains("WECHAT_SECRET_ID"),
        "{}",
        missing.logs()
    );

    let bad = wxlogin_tests::moto::unique("bad-signing");
    wxlogin_tests::moto::put_secret(&stack.sdk, &bad, r#"{"current":"short"}"#).await;
    let mut env = stack.env(&[]);
    env.retain(|(k, _)| *k != "SIGNING_KEY_SECRET_ID");
    env.push(("SIGNING_KEY_SECRET_ID", bad));
    let mut malformed = Emulator::start(&binary(BIN), &env).await;
    let ready = malformed.wait_ready().await;
    assert!(ready.is_err(), "{ready:?} {}", malformed.logs());
    assert!(
        malformed.logs().contains("SIGNING_KEY_SECRET_ID"),
        "{}",
        malformed.logs()
    );

    let mut bad_ttl =
        Emulator::start(&binary(BIN), &stack.env(&[("ACCESS_TOKEN_TTL", "forever")])).await;
    let ready = bad_ttl.wait_ready().await;
    assert!(ready.is_err(), "{ready:?} {}", bad_ttl.logs());
    assert!(
        bad_ttl.logs().contains("ACCESS_TOKEN_TTL"),
        "{}",
        bad_ttl.logs()
    );
}

#[tokio::test]
async fn a_returning_login_writes_at_most_4_units_and_a_new_users_at_most_6() {
    let stack = Stack::new().await;
    let proxy = wxlogin_tests::proxy::RecordingProxy::start(wxlogin_tests::moto::endpoint()).await;
    let url = proxy.url();
    let lambda = stack
        .start(BIN, &[("AWS_ENDPOINT_URL", url.as_str())])
        .await;
    proxy.take();
    let code = stack.wechat.issue_code(stack.appid(), "wendy");
    assert_eq!(lambda.http(login_event(&code)).await.status, 200);
    let new_user = wxlogin_tests::write_units::write_units(&proxy.take());
    let code = stack.wechat.issue_code(stack.appid(), "wendy");
    assert_eq!(lambda.http(login_event(&code)).await.status, 200);
    let returning = wxlogin_tests::write_units::write_units(&proxy.take());
    assert!(new_user <= 6, "a new user's login wrote {new_user} units");
    assert!(returning <= 4, "a returning login wrote {returning} units");
    // The guard's counter is among them: a login is not free of it.
    assert!(
        returning >= 3,
        "claim, address counter and family at least: {returning}"
    );
}

#[tokio::test]
async fn the_login_limit_counts_the_address_api_gateway_saw_not_x_forwarded_for() {
    let stack = Stack::new().await;
    // Fixed windows: counted exactly only clear of a window's end.
    wxlogin_tests::windows::clear_of_window_end(3_600, 30).await;
    let lambda = stack
        .start(BIN, &[("LIMIT_LOGIN_PER_ADDRESS", "2/1h")])
        .await;
    let mut statuses = Vec::new();
    for (i, spoofed) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        .into_iter()
        .enumerate()
    {
        let code = stack.wechat.issue_code(stack.appid(), &format!("xff-{i}"));
        let mut event = login_event(&code);
        event["headers"]["x-forwarded-for"] = json!(spoofed);
        let reply = lambda.http(event).await;
        if reply.status == 429 {
            assert_eq!(reply.body["error"]["code"], "RATE_LIMITED");
            let retry_after = reply.header("retry-after").unwrap_or_default();
            assert!(
                retry_after
                    .parse::<u32>()
                    .is_ok_and(|s| (1..=3_600).contains(&s)),
                "{retry_after}"
            );
        }
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses,
        [200, 200, 429],
        "a new X-Forwarded-For is not a new address"
    );
    assert_eq!(
        stack.wechat.calls(JSCODE),
        2,
        "WeChat not called once limited"
    );
    // Another address API Gateway saw has its own window.
    let code = stack.wechat.issue_code(stack.appid(), "xff-other");
    let mut event = login_event(&code);
    event["requestContext"]["http"]["sourceIp"] = json!("192.0.2.44");
    assert_eq!(lambda.http(event).await.status, 200);
    // The metrics say the same: 3 logins, 1 refused.
    let logs = lambda.logs();
    let sums = wxlogin_tests::load::metric_sums(&logs);
    assert_eq!(sums.get("Logins"), Some(&3.0));
    assert_eq!(sums.get("RateLimited"), Some(&1.0));
    assert_eq!(sums.get("NewUsers"), Some(&3.0));
    let durations = logs
        .lines()
        .filter(|l| l.contains(r#""Name":"Duration""#))
        .count();
    assert_eq!(durations, 4, "one duration per request");
}
