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
