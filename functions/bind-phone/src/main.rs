//! Lambda `bind-phone`: `POST /auth/phone`. Same cold start as code-exchange (both secrets,
//! keys published); the WeChat access_token is fetched on first need and kept per instance.

use std::sync::Arc;
use wxlogin::aws::load_sdk_config;
use wxlogin::clock::SystemClock;
use wxlogin::config::Config;
use wxlogin::flows::Backend;
use wxlogin::http::routes::bind_phone;
use wxlogin::secrets::aws::SecretsManagerSource;
use wxlogin::store::dynamo::DynamoStore;
use wxlogin::tokens::TokenIssuer;
use wxlogin::wechat::client::WeChatClient;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wxlogin::lambda::Error> {
    wxlogin::telemetry::init_json_logs();
    let config = Config::from_env()?;
    let sdk = load_sdk_config().await;
    let backend = Backend::new(
        DynamoStore::new(&sdk, config.require_table_name()?),
        WeChatClient::new(&config.wechat_api_base)?,
        Arc::new(SecretsManagerSource::new(&sdk)),
        config.require_wechat_secret_id()?,
        config.require_signing_key_secret_id()?,
        TokenIssuer::new(config.tokens.clone()),
        config.signup_mode,
        Arc::new(SystemClock),
    );
    backend.load_secrets().await?;
    wxlogin::lambda::run_http(|request| {
        let backend = &backend;
        async move { bind_phone::handle(backend, &request).await }
    })
    .await
}
