//! One deadline per request. The adapter that receives a request (the Lambda runtime: the
//! invocation's deadline minus `LAMBDA_MARGIN`; the local server: `LOCAL_BUDGET`) runs it
//! inside `within`; every outbound call asks `budget` for its timeout, so the inner timeouts
//! can never add up past the function's own `Timeout`, and a flow keeps `RESERVE` for the
//! writes that must follow a failed call (releasing a phone-code claim). `respond` cuts a
//! request that still runs at the deadline, with 504.
//!
//! The deadline is task-local (ambient per request) rather than a parameter of every flow:
//! the flows stay free of transport concerns, and outside `within` (tests, tools) nothing is
//! bounded but each call's own cap.

use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Kept between our deadline and Lambda's, to answer and log before the runtime kills us.
pub const LAMBDA_MARGIN: Duration = Duration::from_millis(500);
/// The local server's per-request budget (the template's function `Timeout` is 10 s).
pub const LOCAL_BUDGET: Duration = Duration::from_millis(9_500);
/// What an outbound call leaves for the store writes after it.
pub const RESERVE: Duration = Duration::from_millis(1_500);

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `request` with `deadline` as the request's deadline.
pub async fn within<F: Future>(deadline: Instant, request: F) -> F::Output {
    DEADLINE.scope(deadline, request).await
}

/// The deadline from a Lambda invocation's `deadline_ms` (milliseconds since the epoch).
pub fn from_lambda_deadline_ms(deadline_ms: u64) -> Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    Instant::now() + left.saturating_sub(LAMBDA_MARGIN)
}

/// Time left until the request's deadline; `None` outside a request.
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .ok()
}

/// The timeout for one outbound call: its own `cap`, or less when the request has less than
/// `cap + RESERVE` left. Zero means: do not start the call.
pub fn budget(cap: Duration) -> Duration {
    match remaining() {
        Some(left) => cap.min(left.saturating_sub(RESERVE)),
        None => cap,
    }
}

/// Runs `work` until the request's deadline; `None` if the deadline came first.
pub async fn enforce<F: Future>(work: F) -> Option<F::Output> {
    match DEADLINE.try_with(|deadline| *deadline) {
        Ok(deadline) => tokio::time::timeout_at(deadline, work).await.ok(),
        Err(_) => Some(work.await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outside_a_request_calls_keep_their_own_cap() {
        assert_eq!(remaining(), None);
        assert_eq!(budget(Duration::from_secs(3)), Duration::from_secs(3));
    }

    #[tokio::test]
    async fn inside_a_request_a_call_gets_what_remains_minus_the_reserve() {
        let deadline = Instant::now() + Duration::from_secs(2);
        within(deadline, async {
            let b = budget(Duration::from_secs(3));
            assert!(b <= Duration::from_millis(500), "{b:?}");
            assert!(b > Duration::from_millis(300), "{b:?}");
            assert_eq!(
                budget(Duration::from_millis(100)),
                Duration::from_millis(100)
            );
        })
        .await;
        let spent = Instant::now() + Duration::from_millis(1_000);
        within(spent, async {
            assert_eq!(budget(Duration::from_secs(3)), Duration::ZERO);
        })
        .await;
    }

    #[tokio::test]
    async fn enforce_cuts_work_at_the_deadline() {
        let deadline = Instant::now() + Duration::from_millis(50);
        let cut = within(
            deadline,
            enforce(tokio::time::sleep(Duration::from_secs(30))),
        )
        .await;
        assert!(cut.is_none());
        let done = within(deadline + Duration::from_secs(5), enforce(async { 7 })).await;
        assert_eq!(done, Some(7));
    }

    #[test]
    fn a_lambda_deadline_keeps_the_margin() {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let d = from_lambda_deadline_ms(now_ms + 10_000);
        let left = d.saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_millis(9_500), "{left:?}");
        assert!(left > Duration::from_millis(9_000), "{left:?}");
        let past = from_lambda_deadline_ms(now_ms.saturating_sub(5_000));
        assert!(past <= Instant::now());
    }
}
