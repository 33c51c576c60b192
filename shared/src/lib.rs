//! wxlogin's common crate: the login rules (flows) over narrow ports, and the adapters that
//! implement those ports (DynamoDB, in-memory, WeChat over HTTP, Secrets Manager).
//!
//! Dependency rule (DESIGN §8): `flows` name only the ports in `store`, `wechat`, `secrets`,
//! `clock` and `tokens`; adapters never decide a rule. Binaries in `functions/` are thin.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod authorizer;
#[cfg(test)]
mod authorizer_tests;
#[cfg(any(feature = "sdk-config", feature = "dynamodb"))]
pub mod aws;
#[cfg(feature = "aws-signed")]
pub mod aws_signed;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod deadline;
pub mod domain;
pub mod error;
pub mod events;
pub mod flows;
pub mod gate;
#[cfg(test)]
mod gate_tests;
pub mod http;
pub mod metrics;
pub mod open_data;
pub mod partition;
pub mod password;
pub mod principal;
#[cfg(any(feature = "dynamodb", feature = "sns", feature = "secrets-manager"))]
mod sdk_fault;
pub mod secrets;
pub mod sms;
pub mod store;
pub mod telemetry;
#[cfg(feature = "tls")]
pub mod tls;
pub mod tokens;
pub mod wechat;
#[cfg(all(feature = "aws", feature = "wechat"))]
pub mod wiring;

#[cfg(feature = "fake")]
pub mod fake;
#[cfg(feature = "lambda")]
pub mod lambda;

#[cfg(test)]
pub(crate) mod test_support;
