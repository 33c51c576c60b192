//! Production wiring shared by the functions that sign tokens (code-exchange, bind-phone):
//! the backend over DynamoDB, Secrets Manager and the real WeChat client, built once per cold
//! start with both secrets loaded and the public keys published. Any failure fails the start.

use crate::clock::SystemClock;
use crate::config::Config;
use crate::flows::Backend;
use crate::secrets::aws::SecretsManagerSource;
use crate::store::dynamo::DynamoStore;
use crate::tokens::TokenIssuer;
use crate::wechat::client::WeChatClient;
use std::sync::Arc;

pub type ProductionBackend = Backend<DynamoStore, WeChatClient, SecretsManagerSource>;

/// `sdk` is the function's one `crate::aws::sdk_config_from_lambda_env` (or `load_sdk_config`),
/// which its other clients share.
pub async fn production_backend(
    config: &Config,
    sdk: &aws_config::SdkConfig,
) -> Result<ProductionBackend, Box<dyn std::error::Error + Send + Sync>> {
    let backend = Backend::new(
        DynamoStore::new(sdk, config.require_table_name()?),
        WeChatClient::new(&config.wechat_api_base)?,
        Arc::new(SecretsManagerSource::new(sdk)),
        config.require_wechat_secret_id()?,
        config.require_signing_key_secret_id()?,
        TokenIssuer::new(config.tokens.clone()),
        config.signup_mode,
        Arc::new(SystemClock),
    )
    .with_limits(config.limits.clone());
    backend.load_secrets().await?;
    Ok(backend)
}
