//! Secrets Manager adapter for `SecretVersions` (DescribeSecret, GetSecretValue,
//! PutSecretValue, UpdateSecretVersionStage). The SDK's standard retry mode bounds retries.

use super::SecretError;
use super::rotation::{CURRENT, PENDING, SecretVersion, SecretVersions};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

#[derive(Clone)]
pub struct SecretsManagerVersions {
    client: Client,
}

impl SecretsManagerVersions {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(sdk),
        }
    }
}

/// A failed call as `Unavailable`, naming the AWS error code and request id only.
macro_rules! unavailable {
    ($error:expr) => {
        SecretError::Unavailable(crate::sdk_fault::sdk_fault!(
            aws_sdk_secretsmanager,
            "Secrets Manager",
            $error
        ))
    };
}

impl SecretVersions for SecretsManagerVersions {
    async fn versions(&self, secret: &str) -> Result<Vec<SecretVersion>, SecretError> {
        let out = self
            .client
            .describe_secret()
            .secret_id(secret)
            .send()
            .await
            .map_err(|e| unavailable!(&e))?;
        Ok(out
            .version_ids_to_stages
            .unwrap_or_default()
            .into_iter()
            .map(|(id, stages)| SecretVersion { id, stages })
            .collect())
    }

    async fn value(
        &self,
        secret: &str,
        version: Option<&str>,
        stage: &str,
    ) -> Result<Option<String>, SecretError> {
        let request = self
            .client
            .get_secret_value()
            .secret_id(secret)
            .set_version_id(version.map(str::to_owned))
            .version_stage(stage);
        match request.send().await {
            Ok(out) => Ok(out.secret_string),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), GetSecretValueError::ResourceNotFoundException(_)) =>
            {
                Ok(None)
            }
            Err(other) => Err(unavailable!(&other)),
        }
    }

    async fn put_pending(
        &self,
        secret: &str,
        version: &str,
        value: &str,
    ) -> Result<(), SecretError> {
        self.client
            .put_secret_value()
            .secret_id(secret)
            .client_request_token(version)
            .secret_string(value)
            .version_stages(PENDING)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable!(&e))
    }

    async fn make_current(
        &self,
        secret: &str,
        version: &str,
        from: &str,
    ) -> Result<(), SecretError> {
        self.client
            .update_secret_version_stage()
            .secret_id(secret)
            .version_stage(CURRENT)
            .move_to_version_id(version)
            .remove_from_version_id(from)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable!(&e))
    }
}
