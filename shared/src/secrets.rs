//! Secrets: a `SecretSource` port (Secrets Manager in production, a map locally), a cache that
//! re-reads every few minutes and keeps serving its copy while a re-read fails (but never
//! beyond `max_stale`), and the parsed forms: WeChat app secrets and the signing keyring.
//! Fail closed: with no usable copy the answer is an error, never a default or empty key.

#[cfg(feature = "secrets-manager")]
pub mod aws;
pub mod cached;
pub mod rotation;
#[cfg(feature = "secrets-manager")]
pub mod rotation_aws;
pub mod wechat_apps;

pub use cached::CachedSecret;
pub use wechat_apps::{AppSecret, WeChatApps};

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Why a secret could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretError {
    /// Throttled, down, or timed out after the SDK's bounded retries.
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
    /// No such secret, no permission, or the value is not text.
    #[error("secret {0} is missing or unreadable")]
    Missing(String),
    /// The value is not in the expected shape.
    #[error("secret is malformed: {0}")]
    Malformed(String),
}

/// Reads a secret's string value by id.
pub trait SecretSource: Send + Sync + 'static {
    fn get_secret_string(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<String, SecretError>> + Send;
}

/// Secrets held in memory: the local server and unit tests. `set` simulates a rotation;
/// `fail` simulates an outage.
#[derive(Clone, Default)]
pub struct InMemorySecrets {
    inner: Arc<Mutex<(HashMap<String, String>, bool)>>,
}

impl InMemorySecrets {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(&self, id: &str, value: &str) {
        if let Ok(mut guard) = self.inner.lock() {
            guard.0.insert(id.to_owned(), value.to_owned());
        }
    }
    pub fn fail(&self, failing: bool) {
        if let Ok(mut guard) = self.inner.lock() {
            guard.1 = failing;
        }
    }
}

impl SecretSource for InMemorySecrets {
    async fn get_secret_string(&self, id: &str) -> Result<String, SecretError> {
        let guard = self
            .inner
            .lock()
            .map_err(|_| SecretError::Unavailable("poisoned".into()))?;
        if guard.1 {
            return Err(SecretError::Unavailable("simulated outage".into()));
        }
        guard
            .0
            .get(id)
            .cloned()
            .ok_or_else(|| SecretError::Missing(id.to_owned()))
    }
}
