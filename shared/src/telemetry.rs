//! Log setup: JSON lines for Lambda (CloudWatch), readable text for the local server.
//! What must never be logged is enforced where values are made (Debug impls hide secrets).
//!
//! The level comes from Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`: TRACE,
//! DEBUG, INFO, WARN, ERROR or FATAL), else from `RUST_LOG`'s level (`RUST_LOG=debug`; the last
//! bare level among its comma-separated directives), else INFO. One level for every target:
//! per-target directives (`wxlogin::wechat=debug`) are skipped, because the directive filter
//! (`Targets`, or `EnvFilter` and its regex engine) adds 8 KB to every function binary for a
//! switch Lambda's own control already gives. Release builds compile TRACE callsites out
//! (`release_max_level_debug` in the workspace manifest: 256 KB less per binary).

use tracing_subscriber::filter::LevelFilter;

/// JSON lines on stdout, no ANSI, no target noise. Safe to call once per process.
pub fn init_json_logs() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .with_max_level(level_from_env())
        .try_init();
}

/// Human-readable logs for the local server.
pub fn init_text_logs() {
    let _ = tracing_subscriber::fmt()
        .with_target(false)
        .with_max_level(level_from_env())
        .try_init();
}

fn level_from_env() -> LevelFilter {
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    log_level(lambda_level.as_deref(), rust_log.as_deref())
}

/// The level for the values of `AWS_LAMBDA_LOG_LEVEL` and `RUST_LOG` (`None`: not set).
/// A set `AWS_LAMBDA_LOG_LEVEL` wins; an unknown value of it means INFO.
pub fn log_level(lambda_log_level: Option<&str>, rust_log: Option<&str>) -> LevelFilter {
    if let Some(level) = lambda_log_level.map(str::trim).filter(|l| !l.is_empty()) {
        return lambda_level(level);
    }
    rust_log
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|directive| !directive.is_empty() && !directive.contains('='))
        .filter_map(|directive| directive.parse::<LevelFilter>().ok())
        .next_back()
        .unwrap_or(LevelFilter::INFO)
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

    #[test]
    fn nothing_set_is_info() {
        assert_eq!(log_level(None, None), LevelFilter::INFO);
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
            assert_eq!(log_level(Some(name), None), level, "{name}");
        }
    }

    #[test]
    fn the_lambda_level_wins_over_rust_log() {
        assert_eq!(log_level(Some("ERROR"), Some("debug")), LevelFilter::ERROR);
        // Set but empty counts as not set.
        assert_eq!(log_level(Some(""), Some("debug")), LevelFilter::DEBUG);
    }

    #[test]
    fn rust_log_gives_its_bare_level_and_skips_target_directives() {
        assert_eq!(
            log_level(None, Some("warn,wxlogin::wechat=debug")),
            LevelFilter::WARN
        );
        assert_eq!(log_level(None, Some("wxlogin=trace")), LevelFilter::INFO);
        assert_eq!(log_level(None, Some("info, error")), LevelFilter::ERROR);
        assert_eq!(log_level(None, Some("OFF")), LevelFilter::OFF);
    }

    #[test]
    fn a_bad_rust_log_directive_is_skipped_and_nothing_valid_is_info() {
        assert_eq!(
            log_level(None, Some("debug,a=b=c,loud")),
            LevelFilter::DEBUG
        );
        for junk in ["", " , ", "a=b=c", "wxlogin=loud", "loud"] {
            assert_eq!(log_level(None, Some(junk)), LevelFilter::INFO, "{junk:?}");
        }
    }
}
