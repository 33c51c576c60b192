//! A progress bar on stderr, drawn only when stderr is a terminal (a pipe or a log file gets
//! nothing, so the JSON on stdout stays the only output).

use std::io::{IsTerminal, Write};
use std::time::Instant;

const WIDTH: usize = 30;

pub struct ProgressBar {
    total: usize,
    started: Instant,
    on: bool,
}

impl ProgressBar {
    pub fn on_terminal(total: usize) -> Self {
        Self {
            total,
            started: Instant::now(),
            on: std::io::stderr().is_terminal() && total > 0,
        }
    }

    pub fn show(&mut self, done: usize) {
        if self.on {
            eprint!(
                "\r{}",
                line(done, self.total, self.started.elapsed().as_secs_f64())
            );
            let _ = std::io::stderr().flush();
        }
    }

    pub fn finish(&mut self) {
        if self.on {
            eprintln!();
        }
    }
}

/// `[#########---------------------] 3000/10000 users, 812/s`
fn line(done: usize, total: usize, seconds: f64) -> String {
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    let rate = if seconds > 0.0 {
        done as f64 / seconds
    } else {
        0.0
    };
    format!(
        "[{}{}] {done}/{total} users, {rate:.0}/s",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_share_done() {
        assert_eq!(
            line(3000, 10000, 2.0),
            "[#########---------------------] 3000/10000 users, 1500/s"
        );
        assert_eq!(
            line(0, 0, 0.0),
            format!("[{}] 0/0 users, 0/s", "#".repeat(WIDTH))
        );
    }
}
