//! Lambda `key-rotation`: the rotation function of the signing key secret. Secrets Manager
//! invokes it on the template's schedule (and once when the schedule is created, which makes
//! the first RS256 key); each invocation runs one step of `flows::key_rotation`.

use std::sync::Arc;
use wxlogin::clock::SystemClock;
use wxlogin::config::Config;
use wxlogin::flows::key_rotation::KeyRotation;
use wxlogin::secrets::rotation_aws::SecretsManagerVersions;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wxlogin::lambda::Error> {
    wxlogin::telemetry::init_json_logs();
    let config = Config::from_env()?;
    let sdk = wxlogin::aws::sdk_config_from_lambda_env()?;
    let rotation = KeyRotation::new(
        SecretsManagerVersions::new(&sdk),
        config.require_signing_key_secret_id()?,
        &config.tokens,
        Arc::new(SystemClock),
    );
    wxlogin::lambda::run_fallible_json(|event| {
        let rotation = &rotation;
        async move { rotation.handle(event).await }
    })
    .await
}
