//! Secrets Manager adapter for `SecretSource`. The SDK's standard retry mode bounds retries;
//! the operation timeout bounds the wait.

use super::{SecretError, SecretSource};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

#[derive(Clone)]
pub struct SecretsManagerSource {
    client: Client,
}

impl SecretsManagerSource {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(sdk),
        }
    }
}

impl SecretSource for SecretsManagerSource {
    async fn get_secret_string(&self, id: &str) -> Result<String, SecretError> {
        // AWSCURRENT is the default; named, because moto's default does not follow a stage
        // moved by UpdateSecretVersionStage (a rotation's finishSecret).
        let request = self
            .client
            .get_secret_value()
            .secret_id(id)
            .version_stage(super::rotation::CURRENT);
        match request.send().await {
            Ok(out) => out
                .secret_string
                .ok_or_else(|| SecretError::Missing(id.to_owned())),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), GetSecretValueError::ResourceNotFoundException(_)) =>
            {
                Err(SecretError::Missing(id.to_owned()))
            }
            Err(other) => Err(SecretError::Unavailable(crate::sdk_fault::sdk_fault!(
                aws_sdk_secretsmanager,
                "Secrets Manager",
                &other
            ))),
        }
    }
}
