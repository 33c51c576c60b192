//! The AWS settings every function shares, made here and nowhere else: the behaviour version,
//! explicit timeouts (connect 1 s, attempt 2 s, operation 5 s) and the standard retry mode
//! with at most 3 attempts. Two ways to a client carry them:
//! - `load_sdk_config` (feature `sdk-config`): aws-config's standard region and credential
//!   chain, for the local server, the admin tool and the tests;
//! - `sdk_config_from_lambda_env` (feature `sdk-config`): the same configuration for every
//!   client of a function that calls several services (code-exchange, bind-phone, account),
//!   from the variables Lambda sets, without running aws-config's chain (its providers, STS,
//!   SSO and IMDS among them, are then not linked: 0.6 MB less per function, measured);
//! - `dynamodb_client_from_lambda_env` (feature `dynamodb`): region, credentials and endpoint
//!   read from the variables Lambda sets, without aws-config, for the session function.
//!
//! `AWS_ENDPOINT_URL` (moto in the tests) is honoured by both; empty counts as unset. The authorizer's key reader
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

/// The settings of `load_sdk_config` from the variables Lambda sets (`AWS_REGION`, the
/// credentials, `AWS_ENDPOINT_URL_<SERVICE>`/`AWS_ENDPOINT_URL` per client), which are where
/// aws-config's chain finds them inside Lambda anyway. Each client builds its own HTTP client
/// (and reads the platform's roots for it) when it is made, as with `load_sdk_config`.
#[cfg(feature = "sdk-config")]
pub fn sdk_config_from_lambda_env() -> Result<aws_config::SdkConfig, String> {
    use aws_credential_types::provider::SharedCredentialsProvider;
    let env = LambdaEnv::from_lookup(|name| std::env::var(name).ok())?;
    Ok(aws_config::SdkConfig::builder()
        .behavior_version(behavior_version())
        .credentials_provider(SharedCredentialsProvider::new(env.credentials()))
        .region(aws_config::Region::new(env.region))
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .service_config(EndpointOverrides)
        .build())
}

/// Each client's endpoint override as the SDKs read it (`crate::partition::endpoint_override`:
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER` for the service "Secrets Manager", then
/// `AWS_ENDPOINT_URL`; empty counts as unset). Nothing else is configured this way.
#[cfg(feature = "sdk-config")]
#[derive(Debug)]
struct EndpointOverrides;

#[cfg(feature = "sdk-config")]
impl aws_types::service_config::LoadServiceConfig for EndpointOverrides {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        (key.env() == "AWS_ENDPOINT_URL")
            .then(|| endpoint_override_for(key.service_id(), |name| std::env::var(name).ok()))
            .flatten()
    }
}

/// `service_id` as the SDK names it ("DynamoDB", "Secrets Manager"), its variable's spelling.
#[cfg(any(feature = "sdk-config", test))]
fn endpoint_override_for(
    service_id: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    crate::partition::endpoint_override(lookup, &service_id.replace(' ', "_"))
}

/// The same settings in an explicit region (the admin tool: never a region from the
/// environment by accident), with an explicit endpoint when given (moto, DynamoDB Local).
#[cfg(feature = "sdk-config")]
pub async fn load_sdk_config_in(region: &str, endpoint_url: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(behavior_version())
        .region(aws_config::Region::new(region.to_owned()))
        .retry_config(retry_config())
        .timeout_config(timeout_config());
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// A DynamoDB client from the Lambda environment alone (`AWS_REGION`, the
/// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN` Lambda sets,
/// `AWS_ENDPOINT_URL_DYNAMODB`/`AWS_ENDPOINT_URL`), without aws-config's credential chain: the
/// function stays small and starts fast.
#[cfg(feature = "dynamodb")]
pub fn dynamodb_client_from_lambda_env() -> Result<aws_sdk_dynamodb::Client, String> {
    use aws_sdk_dynamodb::config::Region;
    let env = LambdaEnv::from_lookup(|name| std::env::var(name).ok())?;
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(behavior_version())
        .credentials_provider(env.credentials())
        .region(Region::new(env.region))
        .retry_config(retry_config())
        .timeout_config(timeout_config());
    if let Some(endpoint) = env.endpoint_url {
        config = config.endpoint_url(endpoint);
    }
    Ok(aws_sdk_dynamodb::Client::from_conf(config.build()))
}

/// The region and the credentials Lambda puts in the environment (empty counts as unset), for
/// a signed call without the SDK (`events::eventbridge` in the functions without aws-config).
#[cfg(feature = "events")]
pub fn lambda_credentials() -> Result<(String, aws_credential_types::Credentials), String> {
    let env = LambdaEnv::from_lookup(|name| std::env::var(name).ok())?;
    let credentials = env.credentials();
    Ok((env.region, credentials))
}

/// What `dynamodb_client_from_lambda_env` reads. An empty value counts as unset, as aws-config
/// treats it: `sam local invoke` gives every variable the template declares an empty value
/// when nothing overrides it (`AWS_ENDPOINT_URL` among them), and an empty endpoint or session
/// token must not reach the client.
#[cfg(any(feature = "dynamodb", feature = "sdk-config", test))]
#[derive(Debug, PartialEq, Eq)]
struct LambdaEnv {
    region: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    endpoint_url: Option<String>,
}

#[cfg(any(feature = "dynamodb", feature = "sdk-config", test))]
impl LambdaEnv {
    /// The credentials Lambda put in the environment, as every SDK client and signer takes them.
    fn credentials(&self) -> aws_credential_types::Credentials {
        aws_credential_types::Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.clone(),
            self.session_token.clone(),
            None,
            "lambda-environment",
        )
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let var = |name: &str| get(name).ok_or_else(|| format!("{name} is not set"));
        Ok(Self {
            region: var("AWS_REGION")?,
            access_key_id: var("AWS_ACCESS_KEY_ID")?,
            secret_access_key: var("AWS_SECRET_ACCESS_KEY")?,
            session_token: get("AWS_SESSION_TOKEN"),
            endpoint_url: crate::partition::endpoint_override(&lookup, "dynamodb"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::LambdaEnv;
    use std::collections::HashMap;

    /// The variables Lambda sets, plus `extra` (which may replace them).
    fn read(extra: &[(&str, &str)]) -> Result<LambdaEnv, String> {
        let mut vars: HashMap<String, String> = [
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        vars.retain(|_, v| v != "<unset>");
        LambdaEnv::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn empty_endpoint_and_session_token_count_as_unset() {
        let env = read(&[("AWS_ENDPOINT_URL", ""), ("AWS_SESSION_TOKEN", "")]).unwrap();
        assert_eq!(env.endpoint_url, None);
        assert_eq!(env.session_token, None);
        assert_eq!(env.region, "us-east-1");
        assert_eq!(read(&[]).unwrap(), env);
    }

    #[test]
    fn a_set_endpoint_is_used_and_the_dynamodb_one_wins() {
        let env = read(&[
            ("AWS_ENDPOINT_URL", "http://host.docker.internal:5000"),
            ("AWS_SESSION_TOKEN", "token"),
        ])
        .unwrap();
        assert_eq!(
            env.endpoint_url.as_deref(),
            Some("http://host.docker.internal:5000")
        );
        assert_eq!(env.session_token.as_deref(), Some("token"));
        let env = read(&[
            ("AWS_ENDPOINT_URL", "http://all"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb"),
        ])
        .unwrap();
        assert_eq!(env.endpoint_url.as_deref(), Some("http://ddb"));
    }

    #[test]
    fn each_client_reads_its_own_endpoint_variable_then_the_common_one() {
        use super::endpoint_override_for;
        let both = |name: &str| match name {
            "AWS_ENDPOINT_URL" => Some("http://all".to_owned()),
            "AWS_ENDPOINT_URL_SECRETS_MANAGER" => Some("http://sm/".to_owned()),
            _ => None,
        };
        assert_eq!(
            endpoint_override_for("Secrets Manager", both).as_deref(),
            Some("http://sm")
        );
        assert_eq!(
            endpoint_override_for("DynamoDB", both).as_deref(),
            Some("http://all")
        );
        let empty = |name: &str| (name == "AWS_ENDPOINT_URL").then(String::new);
        assert_eq!(endpoint_override_for("SNS", empty), None);
    }

    #[test]
    fn missing_or_empty_credentials_are_named() {
        let err = read(&[("AWS_ACCESS_KEY_ID", "")]).unwrap_err();
        assert_eq!(err, "AWS_ACCESS_KEY_ID is not set");
        let err = read(&[("AWS_REGION", "<unset>")]).unwrap_err();
        assert_eq!(err, "AWS_REGION is not set");
    }
}
