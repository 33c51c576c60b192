//! The abuse and cost guard: the limits checked before every paid or quota'd call
//! (`jscode2session`, `getuserphonenumber`, `checksession`, an SMS), each one conditional
//! counter update in the table (`Counters`, TTL on the window), so concurrent requests cannot
//! overshoot. A full window is `429 RATE_LIMITED` with `Retry-After`, and the call is not made.
//!
//! Scopes: a source address is the address API Gateway saw (never `X-Forwarded-For`), an IPv6
//! one by its /64; a source network is the IPv4 /24 or IPv6 /48 around it; a number block is a
//! phone number without its last 4 digits (SMS pumping walks such blocks). Budgets count paid
//! calls per UTC day and log `"alarm":"<NAME>_BUDGET"` when 80 % and 100 % are reached.

use super::backend::Backend;
use crate::config::{Budget, BudgetAction, Rate};
use crate::domain::PhoneNumber;
use crate::error::{AppError, AppResult};
use crate::metrics::{self, Counter};
use crate::store::{CounterHit, Counters};
use std::net::IpAddr;

/// The part of an address that one party controls: an IPv4 address, an IPv6 /64.
pub fn source_scope(source_ip: Option<&str>) -> String {
    match source_ip.and_then(|s| s.parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
        None => "unknown".to_owned(),
    }
}

/// The network around an address: IPv4 /24, IPv6 /48.
pub fn network_scope(source_ip: Option<&str>) -> String {
    match source_ip.and_then(|s| s.parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Some(IpAddr::V6(v6)) => {
            let [a, b, c, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}::/48")
        }
        None => "unknown".to_owned(),
    }
}

/// The block of 10,000 numbers a phone number is in: its E.164 form without the last 4 digits.
pub fn number_block(phone: &PhoneNumber) -> &str {
    let e164 = phone.e164();
    e164.get(..e164.len().saturating_sub(4)).unwrap_or(e164)
}

/// What a budget hit found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetUse {
    /// The n-th paid call of the day.
    Within(u32),
    /// Over budget, admitted because the action is alarm-only.
    Over(u32),
}

fn limited(retry_after: u64) -> AppError {
    AppError::RateLimited {
        retry_after_secs: u32::try_from(retry_after).unwrap_or(u32::MAX),
    }
}

const DAY_SECS: u64 = 86_400;

impl<S: Counters, W, X> Backend<S, W, X> {
    /// Counts one hit on `what#key` against `rate` (`None`: not limited, nothing written).
    pub(crate) async fn admit(&self, what: &str, key: &str, rate: Option<Rate>) -> AppResult<()> {
        let Some(rate) = rate else {
            return Ok(());
        };
        let name = format!("{what}#{key}#{}", rate.window_secs);
        match self
            .store
            .hit_counter(&name, rate.max, rate.window_secs, self.clock.now())
            .await?
        {
            CounterHit::Counted(_) => Ok(()),
            CounterHit::Limited { retry_after } => {
                tracing::warn!(limit = what, "rate limit reached; call not made");
                metrics::count(Counter::RateLimited);
                Err(limited(retry_after))
            }
        }
    }

    /// Counts one paid call of the day against `budget`; `alarm` names the alarm line.
    pub(crate) async fn spend(
        &self,
        alarm: &'static str,
        key: &str,
        budget: Option<Budget>,
    ) -> AppResult<Option<BudgetUse>> {
        let Some(budget) = budget else {
            return Ok(None);
        };
        let cap = match budget.at_limit {
            BudgetAction::Refuse => budget.per_day,
            BudgetAction::AlarmOnly => u32::MAX,
        };
        let name = format!("budget#{alarm}#{key}");
        let hit = self
            .store
            .hit_counter(&name, cap, DAY_SECS, self.clock.now())
            .await?;
        let n = match hit {
            CounterHit::Counted(n) => n,
            CounterHit::Limited { retry_after } => {
                tracing::error!(
                    alarm,
                    per_day = budget.per_day,
                    "daily budget spent; call refused"
                );
                metrics::count(Counter::RateLimited);
                return Err(limited(retry_after));
            }
        };
        let warn_at = (u64::from(budget.per_day) * 4).div_ceil(5);
        if u64::from(n) == warn_at {
            tracing::error!(
                alarm,
                per_day = budget.per_day,
                used = n,
                "80 % of the daily budget used"
            );
        }
        if n == budget.per_day {
            tracing::error!(
                alarm,
                per_day = budget.per_day,
                used = n,
                "the daily budget is used up"
            );
        }
        Ok(Some(if n > budget.per_day {
            BudgetUse::Over(n)
        } else {
            BudgetUse::Within(n)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_scoped_by_address_and_ipv6_by_64() {
        assert_eq!(source_scope(Some("203.0.113.7")), "203.0.113.7");
        assert_eq!(
            source_scope(Some("2001:db8:1:2:aaaa::1")),
            source_scope(Some("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            source_scope(Some("2001:db8:1:2::1")),
            source_scope(Some("2001:db8:1:3::1"))
        );
        assert_eq!(source_scope(None), "unknown");
        assert_eq!(source_scope(Some("not an address")), "unknown");
    }

    #[test]
    fn networks_are_ipv4_24_and_ipv6_48() {
        assert_eq!(
            network_scope(Some("127.0.0.2")),
            network_scope(Some("127.0.0.5"))
        );
        assert_eq!(network_scope(Some("203.0.113.7")), "203.0.113.0/24");
        assert_ne!(
            network_scope(Some("203.0.113.7")),
            network_scope(Some("203.0.114.7"))
        );
        assert_eq!(
            network_scope(Some("2001:db8:1:2::1")),
            network_scope(Some("2001:db8:1:ffff::1"))
        );
        assert_ne!(
            network_scope(Some("2001:db8:1::1")),
            network_scope(Some("2001:db8:2::1"))
        );
        assert_eq!(network_scope(None), "unknown");
    }

    #[test]
    fn a_number_block_is_all_digits_but_the_last_four() {
        let phone = PhoneNumber::parse_e164("+8613800138000").unwrap();
        assert_eq!(number_block(&phone), "+861380013");
        let neighbour = PhoneNumber::parse_e164("+8613800139999").unwrap();
        assert_eq!(number_block(&neighbour), "+861380013");
    }
}
