//! What a failed dependency call leaves in the logs, through the real account binary: the
//! service, the error code and the request id — never the SDK's message text. Amazon SNS's
//! errors quote the phone number they refused (`Invalid parameter: PhoneNumber Reason: +86… is
//! not valid`); before, that text reached the log verbatim.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::json;
use wxlogin_tests::events;
use wxlogin_tests::fault_proxy::{Fault, FaultProxy};
use wxlogin_tests::moto;
use wxlogin_tests::stack::Stack;

const PHONE: &str = "13800138123";

/// An SNS (awsQuery) error as SNS sends it, quoting the number.
fn sns_invalid_parameter() -> Fault {
    Fault::Json {
        status: 400,
        content_type: "text/xml",
        body: format!(
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error>\
             <Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid parameter: \
             PhoneNumber Reason: +86{PHONE} is not valid to publish</Message></Error>\
             <RequestId>5f1e2d3c-0000-4000-8000-000000000001</RequestId></ErrorResponse>"
        ),
    }
}

#[tokio::test]
async fn an_sns_error_quoting_the_phone_is_logged_as_its_code_and_request_id_only() {
    let stack = Stack::new().await;
    let proxy = FaultProxy::start(moto::endpoint()).await;
    let url = proxy.url();
    let account = stack
        .start(
            "account",
            &[("SMS_SENDER", "sns"), ("AWS_ENDPOINT_URL", url.as_str())],
        )
        .await;
    proxy.fail_next("query.Publish", 1, sns_invalid_parameter());
    let r = account
        .http(events::http(
            "POST",
            "/auth/sms/send",
            Some(&json!({"phone": PHONE}).to_string()),
            &[],
        ))
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (503, "SERVICE_UNAVAILABLE"),
        "{}",
        r.raw_body
    );
    assert_eq!(proxy.calls("query.Publish"), 1, "the fault was served");
    let logs = account.logs();
    assert!(
        logs.contains("SNS: InvalidParameter"),
        "the failure is logged by its code: {logs}"
    );
    assert!(!logs.contains(PHONE), "no phone number in the logs: {logs}");
    assert!(
        !logs.contains("is not valid to publish"),
        "no SDK message text: {logs}"
    );
    assert!(!r.raw_body.contains(PHONE));
}
