//! Lambda `account`: SMS codes and passwords, the login paths without WeChat's paid phone
//! button. Same cold start as code-exchange, plus the SMS sender chosen by `SMS_SENDER` (SNS,
//! Alibaba Cloud or Tencent Cloud, over the same SDK configuration: it is loaded once).

use wxlogin::aws::sdk_config_from_lambda_env;
use wxlogin::config::Config;
use wxlogin::http::routes::account;
use wxlogin::sms::select::production_sender;
use wxlogin::wiring::production_backend;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), wxlogin::lambda::Error> {
    wxlogin::telemetry::init_json_logs();
    let config = Config::from_env()?;
    let sdk = sdk_config_from_lambda_env()?;
    let backend = production_backend(&config, &sdk).await?;
    let sender = production_sender(&config, &sdk).await?;
    wxlogin::lambda::run_http(|request| {
        let (backend, sender) = (&backend, &*sender);
        async move { account::handle(backend, sender, &request).await }
    })
    .await
}
