//! The integration-test harness: a real `moto_server` on 127.0.0.1 (DynamoDB, Secrets
//! Manager), a Lambda Runtime API emulator that runs the real function binaries, API Gateway
//! payload-2.0 event builders, and the fake WeChat from the shared crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod admin_cli;
pub mod emulator;
pub mod event_bus;
pub mod events;
pub mod fault_proxy;
pub mod load;
pub mod moto;
pub mod proxy;
pub mod stack;
pub mod windows;
pub mod write_units;
