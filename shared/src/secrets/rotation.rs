//! The rotation port: the versions of one secret as Secrets Manager's rotation protocol moves
//! them between the `AWSPENDING` and `AWSCURRENT` stages. One capability: read and stage
//! versions; what a new version holds is the rotation flow's business (`flows::key_rotation`).

use super::SecretError;
use std::future::Future;

pub const CURRENT: &str = "AWSCURRENT";
pub const PENDING: &str = "AWSPENDING";

/// One version of the secret and its stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVersion {
    pub id: String,
    pub stages: Vec<String>,
}

impl SecretVersion {
    pub fn has(&self, stage: &str) -> bool {
        self.stages.iter().any(|s| s == stage)
    }
}

pub trait SecretVersions: Send + Sync + 'static {
    /// Every version that has a stage.
    fn versions(
        &self,
        secret: &str,
    ) -> impl Future<Output = Result<Vec<SecretVersion>, SecretError>> + Send;

    /// The value of the version that has `stage` (and is `version`, when given); `None` when
    /// there is none (a version Secrets Manager registered for a rotation has no value yet).
    fn value(
        &self,
        secret: &str,
        version: Option<&str>,
        stage: &str,
    ) -> impl Future<Output = Result<Option<String>, SecretError>> + Send;

    /// Stores `value` as `version`, staged `AWSPENDING`. Idempotent for the same version.
    fn put_pending(
        &self,
        secret: &str,
        version: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), SecretError>> + Send;

    /// Moves `AWSCURRENT` from `from` to `version` (`from` keeps `AWSPREVIOUS`).
    fn make_current(
        &self,
        secret: &str,
        version: &str,
        from: &str,
    ) -> impl Future<Output = Result<(), SecretError>> + Send;
}
