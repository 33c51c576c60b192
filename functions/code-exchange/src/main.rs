//! Lambda `code-exchange`: `POST /auth/login` and `POST /auth/refresh`. Builds its clients
//! once, loads both secrets (a bad config or secret fails the cold start), then serves.

use wxlogin::aws::sdk_config_from_lambda_env;
use wxlogin::config::Config;
use wxlogin::http::routes::code_exchange;
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
        async move { code_exchange::handle(backend, &request).await }
    })
    .await
}
