//! The limits count in fixed windows aligned to the epoch, so a burst that straddles a
//! window's end is counted in two windows and may be admitted twice over. Tests that count
//! exactly start clear of the end: this waits, when needed, until the current window of
//! `window_secs` has at least `margin_secs` left.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub async fn clear_of_window_end(window_secs: u64, margin_secs: u64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let left = window_secs as f64 - now % window_secs as f64;
    if left < margin_secs as f64 {
        tokio::time::sleep(Duration::from_secs_f64(left + 0.5)).await;
    }
}
