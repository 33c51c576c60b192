//! Lambda `authorizer`: verifies wxlogin access tokens for every route of the customer's API.
//! Loads the published public keys once at cold start (one signed DynamoDB GetItem, no AWS SDK,
//! no Secrets Manager, no WeChat client); verification itself does no I/O.

use std::sync::Arc;
use wxlogin::authorizer::{self, AdmittedApps};
use wxlogin::clock::SystemClock;
use wxlogin::config::Config;
use wxlogin::gate::AccessGate;
use wxlogin::store::key_reader::SignedKeyReader;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wxlogin::lambda::Error> {
    wxlogin::telemetry::init_json_logs();
    let config = Config::from_env()?;
    let keys = SignedKeyReader::from_lambda_env(config.require_table_name()?)?;
    let gate = AccessGate::load(keys, &config.tokens, Arc::new(SystemClock)).await?;
    let apps = AdmittedApps::new(config.authorizer_app_ids.clone());
    wxlogin::lambda::run_json(|event| {
        let (gate, apps) = (&gate, &apps);
        async move { authorizer::authorize(gate, apps, &event).await }
    })
    .await
}
