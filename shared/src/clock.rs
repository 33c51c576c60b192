//! Wall-clock time as a port, so that expiry rules can be tested without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub trait Clock: Send + Sync {
    fn now(&self) -> u64;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock that tests move by hand.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn at(seconds: u64) -> Self {
        Self(Arc::new(AtomicU64::new(seconds)))
    }
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The shared handle the flows hold.
pub type SharedClock = Arc<dyn Clock>;

/// The Unix time (whole seconds) of an RFC 3339 timestamp such as `2018-08-16T08:03:44.203Z`
/// (the dates of other backends' exports); `None` when it is not one or is before 1970.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    humantime::parse_rfc3339(text)
        .or_else(|_| humantime::parse_rfc3339_weak(text))
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
}

/// `2026-11-21T20:20:00Z` for a Unix time, for the `created_at` fields clients read.
pub fn rfc3339(seconds: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_secs(seconds))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_timestamps_of_exports_parse_to_unix_seconds() {
        assert_eq!(
            parse_rfc3339("2018-08-16T08:03:44.203Z"),
            Some(1_534_406_624)
        );
        assert_eq!(parse_rfc3339("2018-08-16T08:03:44Z"), Some(1_534_406_624));
        assert_eq!(parse_rfc3339("2018-08-16 08:03:44"), Some(1_534_406_624));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(rfc3339(1_534_406_624), "2018-08-16T08:03:44Z");
    }
}
