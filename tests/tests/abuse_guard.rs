//! The abuse guard under concurrency, through the real binaries against moto: a burst of
//! requests spread over several instances of a function, each limit set small. Each limit
//! admits exactly its number, refuses the rest with 429, and WeChat or SNS sees exactly the
//! admitted calls. moto runs behind one lock (tests/moto/serial_moto.py), so its conditional
//! updates are as isolated as DynamoDB's.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use wxlogin_tests::load::{self, Burst};
use wxlogin_tests::stack::Stack;

fn exact(burst: Burst, limit: usize) {
    assert_eq!(burst.other, 0, "{burst:?}");
    assert_eq!(burst.admitted, limit, "{burst:?}");
    assert_eq!(burst.refused, burst.requests - limit, "{burst:?}");
    assert_eq!(burst.upstream_calls, limit, "{burst:?}");
}

#[tokio::test]
async fn concurrent_logins_from_one_address_get_exactly_the_limit() {
    let stack = Stack::new().await;
    exact(load::logins(&stack, 3, 24, 7).await, 7);
}

#[tokio::test]
async fn concurrent_phone_binds_spend_exactly_the_daily_budget() {
    let stack = Stack::new().await;
    exact(load::phone_binds(&stack, 3, 10, 4).await, 4);
}

#[tokio::test]
async fn concurrent_sms_sends_from_one_network_get_exactly_the_limit() {
    let stack = Stack::new().await;
    exact(load::sms_sends(&stack, 3, 15, 5).await, 5);
}
