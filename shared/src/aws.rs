//! The AWS settings every function shares, made here and nowhere else: the behaviour version,
//! explicit timeouts (connect 1 s, attempt 2 s, operation 5 s) and the standard retry mode
//! with at most 3 attempts. Two ways to a client carry them:
//! - `load_sdk_config` (feature `sdk-config`): aws-config's standard region and credential
//!   chain, for the functions that call several services (code-exchange, bind-phone, account);
//! - `dynamodb_client_from_lambda_env` (feature `dynamodb`): region, credentials and endpoint
//!   read from the variables Lambda sets, without aws-config, for the session function.
//!
//! `AWS_ENDPOINT_URL` (moto in the tests) is honoured by both. The authorizer's key reader
//! signs its one request without the SDK (`store::key_reader`) and has its own HTTP timeouts.

#[cfg(feature = "sdk-config")]
use aws_config::{BehaviorVersion, retry::RetryConfig, timeout::TimeoutConfig};
#[cfg(all(feature = "dynamodb", not(feature = "sdk-config")))]
use aws_sdk_dynamodb::config::{BehaviorVersion, retry::RetryConfig, timeout::TimeoutConfig};
use std::time::Duration;

fn behavior_version() -> BehaviorVersion {
    BehaviorVersion::latest()
}

fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(3)
}

fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// Loaded once per cold start and shared by every client of the function.
#[cfg(feature = "sdk-config")]
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(behavior_version())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}

/// A DynamoDB client from the Lambda environment alone (`AWS_REGION`, the
/// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN` Lambda sets,
/// `AWS_ENDPOINT_URL`), without aws-config's credential chain: the function stays small and
/// starts fast.
#[cfg(feature = "dynamodb")]
pub fn dynamodb_client_from_lambda_env() -> Result<aws_sdk_dynamodb::Client, String> {
    use aws_sdk_dynamodb::config::{Credentials, Region};
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let credentials = Credentials::new(
        var("AWS_ACCESS_KEY_ID")?,
        var("AWS_SECRET_ACCESS_KEY")?,
        std::env::var("AWS_SESSION_TOKEN").ok(),
        None,
        "lambda-environment",
    );
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(behavior_version())
        .region(Region::new(var("AWS_REGION")?))
        .credentials_provider(credentials)
        .retry_config(retry_config())
        .timeout_config(timeout_config());
    if let Some(endpoint) =
        crate::partition::endpoint_override(|name| std::env::var(name).ok(), "dynamodb")
    {
        config = config.endpoint_url(endpoint);
    }
    Ok(aws_sdk_dynamodb::Client::from_conf(config.build()))
}
