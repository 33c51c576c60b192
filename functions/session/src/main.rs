//! Lambda `session`: logout, the caller's profile, and the JWKS. Reads the published public
//! keys at cold start; needs no secret and no WeChat client.

use std::sync::Arc;
use wxlogin::clock::SystemClock;
use wxlogin::config::Config;
use wxlogin::flows::SessionService;
use wxlogin::http::routes::session;
use wxlogin::store::dynamo::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wxlogin::lambda::Error> {
    wxlogin::telemetry::init_json_logs();
    let config = Config::from_env()?;
    let table = config.require_table_name()?;
    wxlogin::events::install_for_bus(
        config.event_bus_name.as_deref(),
        wxlogin::events::eventbridge::EventBridgeSink::from_lambda_env,
    )?;
    let store = DynamoStore::from_client(wxlogin::aws::dynamodb_client_from_lambda_env()?, table);
    let service = SessionService::new(store, &config.tokens, Arc::new(SystemClock)).await?;
    wxlogin::lambda::run_http(|request| {
        let service = &service;
        async move { session::handle(service, &request).await }
    })
    .await
}
