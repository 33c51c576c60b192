//! A secret parsed once and kept in memory. Re-read after `refresh_after` seconds; if the
//! re-read fails, the copy is served until it is `max_stale` seconds old, then requests fail
//! with 503. `force_reload` re-reads at once (a rejected app secret may have been rotated).

use super::{SecretError, SecretSource};
use crate::clock::SharedClock;
use crate::error::AppError;
use crate::error::Cause;
use std::sync::Arc;
use tokio::sync::RwLock;

pub struct CachedSecret<S, T> {
    source: Arc<S>,
    id: String,
    parse: fn(&str) -> Result<T, String>,
    clock: SharedClock,
    refresh_after: u64,
    max_stale: u64,
    slot: RwLock<Option<(Arc<T>, u64)>>,
}

/// Re-read every 5 minutes; serve a copy at most 1 hour old when Secrets Manager is down.
pub const DEFAULT_REFRESH_SECS: u64 = 300;
pub const DEFAULT_MAX_STALE_SECS: u64 = 3600;

impl<S: SecretSource, T: Send + Sync> CachedSecret<S, T> {
    pub fn new(
        source: Arc<S>,
        id: &str,
        parse: fn(&str) -> Result<T, String>,
        clock: SharedClock,
    ) -> Self {
        Self {
            source,
            id: id.to_owned(),
            parse,
            clock,
            refresh_after: DEFAULT_REFRESH_SECS,
            max_stale: DEFAULT_MAX_STALE_SECS,
            slot: RwLock::new(None),
        }
    }

    /// First load, at cold start: any failure (missing, malformed, unreachable) is returned so
    /// the process can refuse to start.
    pub async fn load(&self) -> Result<Arc<T>, SecretError> {
        let value = self.fetch().await?;
        *self.slot.write().await = Some((value.clone(), self.clock.now()));
        Ok(value)
    }

    /// The current value, re-read when due.
    pub async fn get(&self) -> Result<Arc<T>, AppError> {
        let now = self.clock.now();
        let held = self.slot.read().await.clone();
        if let Some((value, at)) = &held
            && now.saturating_sub(*at) < self.refresh_after
        {
            return Ok(value.clone());
        }
        match self.fetch().await {
            Ok(value) => {
                *self.slot.write().await = Some((value.clone(), now));
                Ok(value)
            }
            Err(err) => match held {
                Some((value, at)) if now.saturating_sub(at) < self.max_stale => {
                    tracing::warn!(secret = %self.id, error = %err, "secret re-read failed; serving the cached copy");
                    Ok(value)
                }
                _ => Err(match err {
                    SecretError::Malformed(m) => {
                        AppError::Misconfigured(format!("secret {}: {m}", self.id).into())
                    }
                    other => {
                        AppError::ServiceUnavailable(Cause::with_source("reading a secret", other))
                    }
                }),
            },
        }
    }

    /// Re-read now. Returns the new value when it differs from the held one.
    pub async fn force_reload(&self) -> Result<Option<Arc<T>>, AppError>
    where
        T: PartialEq,
    {
        let value = self
            .fetch()
            .await
            .map_err(|e| AppError::ServiceUnavailable(Cause::with_source("reading a secret", e)))?;
        let mut slot = self.slot.write().await;
        let changed = slot.as_ref().is_none_or(|(old, _)| **old != *value);
        *slot = Some((value.clone(), self.clock.now()));
        Ok(changed.then_some(value))
    }

    async fn fetch(&self) -> Result<Arc<T>, SecretError> {
        let text = self.source.get_secret_string(&self.id).await?;
        (self.parse)(&text)
            .map(Arc::new)
            .map_err(SecretError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::secrets::InMemorySecrets;

    fn parse_upper(s: &str) -> Result<String, String> {
        if s.is_empty() {
            Err("empty".into())
        } else {
            Ok(s.to_uppercase())
        }
    }

    fn cache(src: &InMemorySecrets, clock: &ManualClock) -> CachedSecret<InMemorySecrets, String> {
        CachedSecret::new(
            Arc::new(src.clone()),
            "id",
            parse_upper,
            Arc::new(clock.clone()),
        )
    }

    #[tokio::test]
    async fn serves_the_copy_until_refresh_then_rereads() {
        let src = InMemorySecrets::new();
        src.set("id", "one");
        let clock = ManualClock::at(1000);
        let c = cache(&src, &clock);
        assert_eq!(*c.load().await.unwrap(), "ONE");
        src.set("id", "two");
        assert_eq!(*c.get().await.unwrap(), "ONE");
        clock.advance(DEFAULT_REFRESH_SECS);
        assert_eq!(*c.get().await.unwrap(), "TWO");
    }

    #[tokio::test]
    async fn an_outage_is_bridged_while_the_copy_is_fresh_then_fails_closed() {
        let src = InMemorySecrets::new();
        src.set("id", "one");
        let clock = ManualClock::at(1000);
        let c = cache(&src, &clock);
        c.load().await.unwrap();
        src.fail(true);
        clock.advance(DEFAULT_REFRESH_SECS + 1);
        assert_eq!(*c.get().await.unwrap(), "ONE");
        clock.advance(DEFAULT_MAX_STALE_SECS);
        assert!(matches!(
            c.get().await,
            Err(AppError::ServiceUnavailable(_))
        ));
    }

    #[tokio::test]
    async fn no_copy_and_no_source_is_an_error_not_a_default() {
        let src = InMemorySecrets::new();
        let clock = ManualClock::at(1000);
        let c = cache(&src, &clock);
        assert!(c.load().await.is_err());
        assert!(c.get().await.is_err());
        src.set("id", "");
        assert!(matches!(c.load().await, Err(SecretError::Malformed(_))));
    }

    #[tokio::test]
    async fn force_reload_reports_a_rotation() {
        let src = InMemorySecrets::new();
        src.set("id", "one");
        let clock = ManualClock::at(1000);
        let c = cache(&src, &clock);
        c.load().await.unwrap();
        assert!(c.force_reload().await.unwrap().is_none());
        src.set("id", "two");
        assert_eq!(*c.force_reload().await.unwrap().unwrap(), "TWO");
    }
}
