//! Smoke tier for `authorizer`: the real binary under the Runtime API emulator, fed payload-2.0
//! authorizer events, with keys published to moto by the real `code-exchange`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use wxlogin::tokens::Keyring;
use wxlogin_tests::emulator::{Emulator, Outcome};
use wxlogin_tests::events;
use wxlogin_tests::stack::{AUDIENCE, ISSUER, Stack};

async fn decide(authorizer: &Emulator, event: Value) -> Value {
    match authorizer.invoke(event).await {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("the authorizer must never answer with an error: {e}"),
        Outcome::TimedOut => panic!("the authorizer answered after its deadline"),
    }
}

#[tokio::test]
async fn a_valid_access_token_is_authorized_with_the_callers_context() {
    let stack = Stack::new().await;
    let code_exchange = stack.start("code-exchange", &[]).await;
    let session = stack.login(&code_exchange, "alice").await;
    let authorizer = stack.start("authorizer", &[]).await;
    let token = session["access_token"].as_str().unwrap();
    let d = decide(
        &authorizer,
        events::authorizer(Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(d["isAuthorized"], true, "{d}");
    assert_eq!(d["context"]["user_id"], session["user"]["id"]);
    assert_eq!(d["context"]["appid"], stack.appid());
    assert_eq!(d["context"]["phone_bound"], false);
    assert!(d["context"]["openid"].as_str().unwrap().starts_with('o'));
    // Lowercase scheme works too.
    let d = decide(
        &authorizer,
        events::authorizer(Some(&format!("bearer {token}"))),
    )
    .await;
    assert_eq!(d["isAuthorized"], true);
    assert!(
        !authorizer.logs().contains(token),
        "the token must not be logged"
    );
}

#[tokio::test]
async fn every_hostile_token_is_refused_with_an_empty_context() {
    let stack = Stack::new().await;
    // Publish the stack's key by starting a signer.
    let _code_exchange = stack.start("code-exchange", &[]).await;
    let authorizer = stack.start("authorizer", &[]).await;
    let ring = Keyring::from_secret_json(&stack.signing_secret).unwrap();
    let now = wxlogin::clock::Clock::now(&wxlogin::clock::SystemClock);
    let control = wxlogin::fake::hostile_tokens::valid(&ring, ISSUER, AUDIENCE, now);
    let d = decide(
        &authorizer,
        events::authorizer(Some(&format!("Bearer {control}"))),
    )
    .await;
    assert_eq!(d["isAuthorized"], true, "the control token must pass: {d}");
    let hostile = wxlogin::fake::hostile_tokens::all(&ring, ISSUER, AUDIENCE, now);
    assert!(hostile.len() >= 25);
    for (what, token) in hostile {
        let d = decide(
            &authorizer,
            events::authorizer(Some(&format!("Bearer {token}"))),
        )
        .await;
        assert_eq!(d, json!({"isAuthorized": false, "context": {}}), "{what}");
    }
}

#[tokio::test]
async fn malformed_events_and_missing_tokens_are_refused_not_errors() {
    let stack = Stack::new().await;
    let _code_exchange = stack.start("code-exchange", &[]).await;
    let authorizer = stack.start("authorizer", &[]).await;
    for event in [
        events::authorizer(None),
        events::authorizer(Some("Basic dXNlcjpwYXNz")),
        events::authorizer(Some("Bearer")),
        events::authorizer(Some("")),
        json!(null),
        json!([1, 2, 3]),
        json!({"identitySource": "not-an-array"}),
        json!({"identitySource": [123]}),
    ] {
        let d = decide(&authorizer, event.clone()).await;
        assert_eq!(d, json!({"isAuthorized": false, "context": {}}), "{event}");
    }
}

#[tokio::test]
async fn an_authorizer_started_before_any_login_learns_the_key_later() {
    let stack = Stack::new().await;
    let authorizer = stack.start("authorizer", &[]).await; // the directory is empty
    let code_exchange = stack.start("code-exchange", &[]).await; // publishes at cold start
    let session = stack.login(&code_exchange, "bob").await;
    let token = session["access_token"].as_str().unwrap();
    let d = decide(
        &authorizer,
        events::authorizer(Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(d["isAuthorized"], true, "{d}");
}

#[tokio::test]
async fn a_cold_start_without_config_fails_loudly() {
    let stack = Stack::new().await;
    let mut env = stack.env(&[]);
    env.retain(|(k, _)| *k != "TABLE_NAME");
    let mut e = Emulator::start(&wxlogin_tests::emulator::binary("authorizer"), &env).await;
    assert!(e.wait_ready().await.is_err());
    assert!(e.logs().contains("TABLE_NAME"), "{}", e.logs());
}
