//! The `events/` files (for `sam local invoke`) go through the real binary too, so they stay
//! valid API Gateway payload-2.0 events.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;
use wxlogin_tests::stack::Stack;

fn event(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn the_login_and_refresh_event_files_reach_the_handler() {
    let stack = Stack::new().await;
    let lambda = stack.start("code-exchange", &[]).await;
    // The sample code is not one the strict fake WeChat issued: WeChat says 40029.
    let login = lambda.http(event("login.json")).await;
    assert_eq!(
        (login.status, login.error_code()),
        (401, "INVALID_CODE"),
        "{}",
        login.raw_body
    );
    let refresh = lambda.http(event("refresh.json")).await;
    assert_eq!(
        (refresh.status, refresh.error_code()),
        (401, "REFRESH_REVOKED"),
        "{}",
        refresh.raw_body
    );
}

#[tokio::test]
async fn the_session_and_authorizer_event_files_reach_their_handlers() {
    let stack = Stack::new().await;
    let _signer = stack.start("code-exchange", &[]).await;
    let session = stack.start("session", &[]).await;
    // The sample Authorization header holds a placeholder, not a token.
    let me = session.http(event("me.json")).await;
    assert_eq!((me.status, me.error_code()), (401, "UNAUTHORIZED"));
    let logout = session.http(event("logout.json")).await;
    assert_eq!((logout.status, logout.error_code()), (401, "UNAUTHORIZED"));
    let jwks = session.http(event("jwks.json")).await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 1);
    let authorizer = stack.start("authorizer", &[]).await;
    match authorizer.invoke(event("authorizer.json")).await {
        wxlogin_tests::emulator::Outcome::Response(v) => {
            assert_eq!(v, serde_json::json!({"isAuthorized": false, "context": {}}))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_phone_event_files_reach_the_bind_phone_handler() {
    let stack = Stack::new().await;
    let bind = stack.start("bind-phone", &[]).await;
    for name in ["phone.json", "phone-legacy.json"] {
        let r = bind.http(event(name)).await;
        assert_eq!(
            (r.status, r.error_code()),
            (401, "UNAUTHORIZED"),
            "{name}: {}",
            r.raw_body
        );
    }
}

#[tokio::test]
async fn the_account_and_profile_event_files_reach_their_handlers() {
    let stack = Stack::new().await;
    let account = stack.start("account", &[("SMS_SENDER", "sns")]).await;
    let sent = account.http(event("sms-send.json")).await;
    assert_eq!(sent.status, 200, "{}", sent.raw_body);
    let login = account.http(event("password-login.json")).await;
    assert_eq!(
        (login.status, login.error_code()),
        (401, "INVALID_CREDENTIALS")
    );
    let set = account.http(event("password-set.json")).await;
    assert_eq!((set.status, set.error_code()), (401, "UNAUTHORIZED"));
    // The sample reset names a phone no code was sent to.
    let reset = account.http(event("password-reset.json")).await;
    assert_eq!((reset.status, reset.error_code()), (401, "INVALID_CODE"));
    let bind = stack.start("bind-phone", &[]).await;
    let sms_bind = bind.http(event("phone-sms.json")).await;
    assert_eq!(
        (sms_bind.status, sms_bind.error_code()),
        (401, "UNAUTHORIZED")
    );
    let change = bind.http(event("phone-change.json")).await;
    assert_eq!((change.status, change.error_code()), (401, "UNAUTHORIZED"));
    let session = stack.start("session", &[]).await;
    for name in [
        "me-update.json",
        "me-userinfo.json",
        "me-export.json",
        "me-delete.json",
    ] {
        let r = session.http(event(name)).await;
        assert_eq!((r.status, r.error_code()), (401, "UNAUTHORIZED"), "{name}");
    }
}

#[tokio::test]
async fn the_key_rotation_event_file_runs_its_step() {
    let stack = Stack::new().await;
    let rotation = stack.start("key-rotation", &[]).await;
    let mut create = event("key-rotation.json");
    assert_eq!(create["Step"], "createSecret");
    // The file names the secret of events/env.json; here the stack's own.
    create["SecretId"] = Value::String(stack.signing_secret_id.clone());
    match rotation.invoke(create).await {
        wxlogin_tests::emulator::Outcome::Response(v) => assert_eq!(v["done"], true, "{v}"),
        other => panic!("{other:?}\n{}", rotation.logs()),
    }
}
