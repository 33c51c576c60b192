//! The password attempt lock, shared by password login and by a password change's
//! `old_password`. Counted in two scopes, each a fixed window in DynamoDB with TTL:
//!
//! - per phone and source address (IPv6 by /64): `MAX_FAILURES_PER_SOURCE` failures lock
//!   that pair for the window. Aimed at a victim from one address, it locks only that address.
//! - per phone, all sources: `MAX_FAILURES_PER_PHONE` failures lock the phone's password
//!   login. A backstop against guessing spread over many addresses; locking a victim this
//!   way takes that many requests from at least `MAX_FAILURES_PER_PHONE /
//!   MAX_FAILURES_PER_SOURCE` addresses, and even then the owner still logs in with an SMS
//!   code, which this lock never touches.
//!
//! Each attempt takes a slot before Argon2 runs (one atomic counter per scope); a success
//! gives its slot back. Attempts minus successes is failures plus attempts in flight, so a
//! burst of parallel guesses gets no more verifications than the limit either.

use super::abuse_guard::source_scope;
use crate::domain::PhoneNumber;
use crate::error::{AppError, AppResult};
use crate::store::{CounterHit, Counters};

pub const LOCK_WINDOW_SECS: u64 = 900;
pub const MAX_FAILURES_PER_SOURCE: u32 = 5;
pub const MAX_FAILURES_PER_PHONE: u32 = 50;

/// The counters one attempt counts in.
pub struct Attempt {
    scopes: [(String, u32); 2],
}

impl Attempt {
    pub fn new(phone: &PhoneNumber, source_ip: Option<&str>) -> Self {
        let phone = phone.e164();
        Self {
            scopes: [
                (
                    format!("{phone}#{}", source_scope(source_ip)),
                    MAX_FAILURES_PER_SOURCE,
                ),
                (phone.to_owned(), MAX_FAILURES_PER_PHONE),
            ],
        }
    }

    /// Takes a slot in every scope; `RATE_LIMITED` when any scope holds too many failures.
    pub async fn begin<S: Counters>(&self, store: &S, now: u64) -> AppResult<()> {
        for (scope, max_failures) in &self.scopes {
            let tried = match store
                .hit_counter(&tries(scope), u32::MAX, LOCK_WINDOW_SECS, now)
                .await?
            {
                CounterHit::Counted(n) => n,
                CounterHit::Limited { .. } => u32::MAX,
            };
            let succeeded = store
                .read_counter(&successes(scope), LOCK_WINDOW_SECS, now)
                .await?;
            if tried.saturating_sub(succeeded) > *max_failures {
                let retry = LOCK_WINDOW_SECS - now % LOCK_WINDOW_SECS;
                return Err(AppError::RateLimited {
                    retry_after_secs: u32::try_from(retry).unwrap_or(u32::MAX),
                });
            }
        }
        Ok(())
    }

    /// The password was right: the attempt's slots are given back.
    pub async fn succeeded<S: Counters>(&self, store: &S, now: u64) -> AppResult<()> {
        for (scope, _) in &self.scopes {
            store
                .hit_counter(&successes(scope), u32::MAX, LOCK_WINDOW_SECS, now)
                .await?;
        }
        Ok(())
    }
}

fn tries(scope: &str) -> String {
    format!("pwtry#{scope}")
}

fn successes(scope: &str) -> String {
    format!("pwok#{scope}")
}
