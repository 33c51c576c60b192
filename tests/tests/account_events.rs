//! Account events through the real binaries against moto's EventBridge: a first login, a bind
//! and a deletion each put one event on the bus `EVENT_BUS_NAME` names (source `wxlogin`, ids
//! and times only); a returning login puts none; without `EVENT_BUS_NAME` nothing is put; a
//! bus that cannot take events leaves the request's answer as it was.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use wxlogin::fake::FakeWeChat;
use wxlogin_tests::event_bus::EventBus;
use wxlogin_tests::events;
use wxlogin_tests::stack::Stack;

fn bearer(session: &Value) -> String {
    format!("Bearer {}", session["access_token"].as_str().unwrap())
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn signups_binds_and_deletions_reach_the_bus_and_nothing_else_does() {
    let stack = Stack::new().await;
    let bus = EventBus::create(&stack.endpoint).await;
    let on = [("EVENT_BUS_NAME", bus.name.as_str())];
    let login_fn = stack.start("code-exchange", &on).await;
    let bind_fn = stack.start("bind-phone", &on).await;
    let session_fn = stack.start("session", &on).await;

    let s = stack.login(&login_fn, "nora").await;
    let user_id = s["user"]["id"].as_str().unwrap().to_owned();
    stack.login(&login_fn, "nora").await; // returning: no event
    let now = wxlogin::clock::Clock::now(&wxlogin::clock::SystemClock);
    let payload = FakeWeChat::phone_payload(stack.appid(), "86", "13800138477", now);
    let (data, iv) = stack
        .wechat
        .encrypt_for(stack.appid(), "nora", payload.to_string().as_bytes())
        .unwrap();
    let bound = bind_fn
        .http(events::http(
            "POST",
            "/auth/phone",
            Some(&json!({"encrypted_data": data, "iv": iv}).to_string()),
            &[("authorization", &bearer(&s))],
        ))
        .await;
    assert_eq!(bound.status, 200, "{}", bound.raw_body);
    let deleted = session_fn
        .http(events::http(
            "DELETE",
            "/auth/me",
            None,
            &[("authorization", &bearer(&s))],
        ))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.raw_body);

    // Off by default: a function without EVENT_BUS_NAME puts nothing.
    let quiet = stack.start("code-exchange", &[]).await;
    assert_eq!(stack.login(&quiet, "oscar").await["user"]["created"], true);

    let delivered = bus.delivered().await;
    assert_eq!(
        kinds(&delivered),
        vec!["UserCreated", "PhoneBound", "UserDeleted"],
        "{delivered:?}"
    );
    for event in &delivered {
        assert_eq!(event["source"], "wxlogin");
        assert_eq!(event["detail"]["user_id"], user_id.as_str());
        assert!(event["detail"]["event_id"].is_string());
        assert!(event["detail"]["occurred_at"].is_string());
        assert!(
            !event.to_string().contains("13800138477"),
            "no phone: {event}"
        );
        assert!(
            !event.to_string().contains("8477"),
            "not even masked: {event}"
        );
    }
    assert_eq!(delivered[0]["detail"]["appid"], stack.appid());
    assert_eq!(delivered[0]["detail"]["via"], "login");
    assert_eq!(delivered[1]["detail"]["change"], false);
}

#[tokio::test]
async fn a_bus_that_cannot_take_events_leaves_the_answer_as_it_was() {
    let stack = Stack::new().await;
    let login_fn = stack
        .start("code-exchange", &[("EVENT_BUS_NAME", "no-such-bus")])
        .await;
    let s = stack.login(&login_fn, "pia").await;
    assert_eq!(s["user"]["created"], true);
    let logs = login_fn.logs();
    assert!(logs.contains("account event not put"), "{logs}");
    assert!(
        logs.contains("\"EventsFailed\""),
        "the failure is counted: {logs}"
    );
}
