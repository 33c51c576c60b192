//! Log setup: JSON lines for Lambda (CloudWatch), readable text for the local server.
//! What must never be logged is enforced where values are made (Debug impls hide secrets).
//!
//! The level comes from Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`: TRACE,
//! DEBUG, INFO, WARN, ERROR or FATAL), else from `RUST_LOG` (`level` and `target=level`
//! directives, comma-separated; a directive that does not parse is skipped), else INFO.
//! The filter is tracing-subscriber's `Targets`, not `EnvFilter`: the same directive syntax
//! without span and field filters, and without the regex engine those would link into every
//! function.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// JSON lines on stdout, no ANSI, no target noise. Safe to call once per process.
pub fn init_json_logs() {
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .without_time();
    let _ = tracing_subscriber::registry()
        .with(filter_from_env())
        .with(json)
        .try_init();
}

/// Human-readable logs for the local server.
pub fn init_text_logs() {
    let text = tracing_subscriber::fmt::layer().with_target(false);
    let _ = tracing_subscriber::registry()
        .with(filter_from_env())
        .with(text)
        .try_init();
}

fn filter_from_env() -> Targets {
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    log_filter(lambda_level.as_deref(), rust_log.as_deref())
}

/// The filter for the values of `AWS_LAMBDA_LOG_LEVEL` and `RUST_LOG` (`None`: not set).
/// A set `AWS_LAMBDA_LOG_LEVEL` wins; an unknown value of it means INFO.
pub fn log_filter(lambda_log_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    if let Some(level) = lambda_log_level.map(str::trim).filter(|l| !l.is_empty()) {
        return Targets::new().with_default(lambda_level(level));
    }
    let valid: Vec<&str> = rust_log
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty() && d.parse::<Targets>().is_ok())
        .collect();
    if valid.is_empty() {
        return Targets::new().with_default(LevelFilter::INFO);
    }
    valid
        .join(",")
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
}

/// Lambda's level names; FATAL has no tracing level and means ERROR.
fn lambda_level(name: &str) -> LevelFilter {
    match name.to_ascii_uppercase().as_str() {
        "TRACE" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "WARN" => LevelFilter::WARN,
        "ERROR" | "FATAL" => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    /// Whether `filter` lets an event of `level` from `target` through.
    fn lets(filter: &Targets, target: &str, level: Level) -> bool {
        filter.would_enable(target, &level)
    }

    #[test]
    fn nothing_set_is_info() {
        let f = log_filter(None, None);
        assert!(lets(&f, "wxlogin::flows", Level::INFO));
        assert!(!lets(&f, "wxlogin::flows", Level::DEBUG));
        assert_eq!(f.default_level(), Some(LevelFilter::INFO));
    }

    #[test]
    fn lambda_levels_are_read_in_any_case_and_fatal_is_error() {
        for (name, level) in [
            ("TRACE", LevelFilter::TRACE),
            ("DEBUG", LevelFilter::DEBUG),
            ("INFO", LevelFilter::INFO),
            ("WARN", LevelFilter::WARN),
            ("ERROR", LevelFilter::ERROR),
            ("FATAL", LevelFilter::ERROR),
            ("warn", LevelFilter::WARN),
            (" debug ", LevelFilter::DEBUG),
            ("LOUD", LevelFilter::INFO),
        ] {
            assert_eq!(
                log_filter(Some(name), None).default_level(),
                Some(level),
                "{name}"
            );
        }
    }

    #[test]
    fn the_lambda_level_wins_over_rust_log() {
        let f = log_filter(Some("ERROR"), Some("debug"));
        assert_eq!(f.default_level(), Some(LevelFilter::ERROR));
        assert!(!lets(&f, "wxlogin", Level::WARN));
        // Set but empty counts as not set.
        let f = log_filter(Some(""), Some("debug"));
        assert_eq!(f.default_level(), Some(LevelFilter::DEBUG));
    }

    #[test]
    fn rust_log_directives_set_levels_per_target() {
        let f = log_filter(None, Some("warn,wxlogin::wechat=debug"));
        assert!(lets(&f, "wxlogin::wechat::client", Level::DEBUG));
        assert!(!lets(&f, "wxlogin::flows", Level::INFO));
        assert!(lets(&f, "wxlogin::flows", Level::WARN));
        assert!(lets(&f, "lambda_runtime", Level::WARN));
    }

    #[test]
    fn a_bad_rust_log_directive_is_skipped_and_nothing_valid_is_info() {
        let f = log_filter(None, Some("debug,a=b=c"));
        assert_eq!(f.default_level(), Some(LevelFilter::DEBUG));
        for junk in ["", " , ", "a=b=c", "wxlogin=loud"] {
            let f = log_filter(None, Some(junk));
            assert!(lets(&f, "wxlogin", Level::INFO), "{junk:?}");
            assert!(!lets(&f, "wxlogin", Level::DEBUG), "{junk:?}");
        }
    }
}
