//! The counters' fixed windows: which window holds an instant, where it ends, and how long a
//! hit refused by a full window waits. Both stores call this; no other code does the
//! arithmetic (the limits themselves are the flows' business).

use super::CounterHit;

/// The fixed window that holds an instant: windows of one length start at its multiples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The window's first second.
    pub start: u64,
    /// The next window's first second (the counter item's expiry).
    pub end: u64,
}

impl Window {
    /// The window of `window_secs` seconds (at least 1) that contains `now`.
    pub fn containing(now: u64, window_secs: u64) -> Self {
        let length = window_secs.max(1);
        let start = now - now % length;
        Self {
            start,
            end: start.saturating_add(length),
        }
    }

    /// What a hit refused at `now` is told: the window ends in this many seconds, at least 1.
    pub fn limited(&self, now: u64) -> CounterHit {
        CounterHit::Limited {
            retry_after: self.end.saturating_sub(now).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_start_at_multiples_of_their_length_and_retry_after_is_at_least_one() {
        let w = Window::containing(1_000_123, 600);
        assert_eq!(
            w,
            Window {
                start: 999_600,
                end: 1_000_200
            }
        );
        assert_eq!(Window::containing(999_600, 600), w, "the first second");
        assert_eq!(Window::containing(1_000_199, 600), w, "the last second");
        assert_eq!(
            Window::containing(1_000_200, 600).start,
            1_000_200,
            "the next"
        );
        assert_eq!(
            w.limited(1_000_123),
            CounterHit::Limited { retry_after: 77 }
        );
        assert_eq!(w.limited(1_000_199), CounterHit::Limited { retry_after: 1 });
        assert_eq!(w.limited(1_000_500), CounterHit::Limited { retry_after: 1 });
        assert_eq!(
            Window::containing(41, 0),
            Window { start: 41, end: 42 },
            "a zero length counts as one second"
        );
    }
}
