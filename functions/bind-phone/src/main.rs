//! Lambda `bind-phone`: `POST /auth/phone`. Same cold start as code-exchange (both secrets,
//! keys published); the WeChat access_token is fetched on first need and kept per instance.

use wxlogin::aws::sdk_config_from_lambda_env;
use wxlogin::config::Config;
use wxlogin::http::routes::bind_phone;
use wxlogin::wiring::production_backend;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wxlogin::lambda::Error> {
    wxlogin::telemetry::init_json_logs();
    let config = Config::from_env()?;
    let sdk = sdk_config_from_lambda_env()?;
    wxlogin::events::install_for_bus(config.event_bus_name.as_deref(), |bus| {
        wxlogin::events::eventbridge::EventBridgeSink::from_sdk(&sdk, bus)
    })?;
    let backend = production_backend(&config, &sdk).await?;
    wxlogin::lambda::run_http(|request| {
        let backend = &backend;
        async move { bind_phone::handle(backend, &request).await }
    })
    .await
}
