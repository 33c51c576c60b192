//! The signing-key rotation, as a Secrets Manager rotation function runs it: `createSecret`
//! writes the next keyring (a new key of `SIGNING_ALGORITHM` as `current`, the old `current`
//! as `previous`) as the pending version; `setSecret` has nothing to set (the signers publish a
//! new public key before they sign with it); `testSecret` reads the pending version back as a
//! keyring; `finishSecret` makes it current. Every step may run again (Secrets Manager retries)
//! and does nothing the second time. The first rotation, which Secrets Manager runs when the
//! schedule is created, turns the seed CloudFormation generated into the first RS256 key.

use crate::clock::SharedClock;
use crate::config::TokenSettings;
use crate::secrets::SecretError;
use crate::secrets::rotation::{CURRENT, PENDING, SecretVersions};
use crate::tokens::{Keyring, SigningAlgorithm, rotated_secret_json};
use serde::Deserialize;

/// The longest an API Gateway authorizer may cache a decision (`AuthorizerCacheTtl` ≤ 3600).
const MAX_AUTHORIZER_CACHE_SECS: u64 = 3600;

/// How long a key must have been current before the next rotation drops the one before it:
/// the longest a signer keeps signing with a key after a rotation (its secret cache may serve
/// a stale copy this long), plus the life of the tokens it signed, plus the authorizer cache.
pub fn min_key_age_secs(settings: &TokenSettings) -> u64 {
    crate::secrets::cached::DEFAULT_MAX_STALE_SECS
        + settings.access_ttl_secs.max(settings.bind_ttl_secs)
        + MAX_AUTHORIZER_CACHE_SECS
}

/// The event Secrets Manager invokes a rotation function with.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationEvent {
    pub step: String,
    pub secret_id: String,
    pub client_request_token: String,
}

/// Why a step failed (the invocation fails; Secrets Manager reports the rotation failed and
/// leaves the current version as it was). Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("not a rotation event")]
    BadEvent,
    #[error("the event names a secret this function does not rotate")]
    OtherSecret,
    #[error("unknown step {0:?}")]
    UnknownStep(String),
    #[error("version {0} is not pending rotation")]
    NotPending(String),
    #[error("the secret has no current version")]
    NoCurrent,
    #[error("the pending version is missing")]
    PendingMissing,
    #[error("the pending version is unusable: {0}")]
    PendingUnusable(String),
    #[error("{0}")]
    Refused(#[from] crate::tokens::RotationRefused),
    #[error("{0}")]
    Store(#[from] SecretError),
}

pub struct KeyRotation<V> {
    versions: V,
    /// The one secret this function rotates (`SIGNING_KEY_SECRET_ID`, an ARN in a deployment).
    secret_id: String,
    algorithm: SigningAlgorithm,
    min_key_age_secs: u64,
    clock: SharedClock,
}

impl<V: SecretVersions> KeyRotation<V> {
    pub fn new(versions: V, secret_id: &str, settings: &TokenSettings, clock: SharedClock) -> Self {
        Self {
            versions,
            secret_id: secret_id.to_owned(),
            algorithm: settings.algorithm,
            min_key_age_secs: min_key_age_secs(settings),
            clock,
        }
    }

    /// Runs one step of the event. `Ok` with the step's name; a failed step is an error.
    pub async fn handle(
        &self,
        event: serde_json::Value,
    ) -> Result<serde_json::Value, RotationError> {
        let event: RotationEvent =
            serde_json::from_value(event).map_err(|_| RotationError::BadEvent)?;
        if event.secret_id != self.secret_id {
            return Err(RotationError::OtherSecret);
        }
        let (secret, token) = (
            event.secret_id.as_str(),
            event.client_request_token.as_str(),
        );
        let versions = self.versions.versions(secret).await?;
        let this = versions.iter().find(|v| v.id == token);
        if this.is_some_and(|v| v.has(CURRENT)) {
            // Already done (a retried finishSecret, or a stale event).
            return Ok(serde_json::json!({"step": event.step, "done": "already current"}));
        }
        // Secrets Manager registers the token as pending before the first step; a version
        // with the token but another stage is not ours to touch.
        if this.is_some_and(|v| !v.has(PENDING)) {
            return Err(RotationError::NotPending(token.to_owned()));
        }
        match event.step.as_str() {
            "createSecret" => self.create(secret, token).await?,
            "setSecret" => {}
            "testSecret" => self.test(secret, token).await?,
            "finishSecret" => {
                let current = versions
                    .iter()
                    .find(|v| v.has(CURRENT))
                    .ok_or(RotationError::NoCurrent)?;
                self.versions
                    .make_current(secret, token, &current.id)
                    .await?;
            }
            other => return Err(RotationError::UnknownStep(other.to_owned())),
        }
        tracing::info!(step = %event.step, "signing key rotation step done");
        Ok(serde_json::json!({"step": event.step, "done": true}))
    }

    async fn create(&self, secret: &str, token: &str) -> Result<(), RotationError> {
        if self
            .versions
            .value(secret, Some(token), PENDING)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let current = self
            .versions
            .value(secret, None, CURRENT)
            .await?
            .ok_or(RotationError::NoCurrent)?;
        let next = rotated_secret_json(
            &current,
            self.algorithm,
            self.clock.now(),
            self.min_key_age_secs,
        )?;
        self.versions.put_pending(secret, token, &next).await?;
        Ok(())
    }

    async fn test(&self, secret: &str, token: &str) -> Result<(), RotationError> {
        let pending = self
            .versions
            .value(secret, Some(token), PENDING)
            .await?
            .ok_or(RotationError::PendingMissing)?;
        let ring = Keyring::from_secret_json(&pending)
            .map_err(|e| RotationError::PendingUnusable(e.to_string()))?;
        if ring.current.algorithm() != self.algorithm {
            return Err(RotationError::PendingUnusable(
                "its current key is not of SIGNING_ALGORITHM".into(),
            ));
        }
        Ok(())
    }
}
