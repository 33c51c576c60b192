//! Metrics in CloudWatch Embedded Metric Format: one JSON line on standard output per event,
//! which CloudWatch Logs turns into metrics with no API call and no extra permission. One
//! namespace per deployment (`METRICS_NAMESPACE`, the template's `wxlogin/<stage>`); counters
//! have no dimension (so an alarm names exactly one metric), WeChat errors have `Class`,
//! durations have `Function`. Written by hand with serde_json: a maintained EMF crate would
//! bring a metrics facade and its registry into every binary for the same few lines.

use serde_json::{Value, json};
use std::io::Write;
use std::sync::OnceLock;

/// What is counted. The names are the metric names (and a contract with the template's alarms
/// and dashboard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// A login that answered with a session (returning or new user).
    Logins,
    /// A user created (first login, or a phone-first signup).
    NewUsers,
    /// A phone bound (any proof).
    PhoneBinds,
    /// A `getuserphonenumber` that WeChat answered with a number (what WeChat bills).
    PaidPhoneCalls,
    /// An SMS handed to the provider.
    SmsSent,
    /// A request the abuse guard refused (429).
    RateLimited,
    /// A refresh token presented twice: its family was revoked.
    RefreshReuse,
    /// An `INTERNAL` error (500).
    InternalErrors,
    /// An account deleted (by its user or an operator).
    UsersDeleted,
    /// An account event (`events`) that could not be put on the customer's bus.
    EventsFailed,
}

impl Counter {
    pub fn name(self) -> &'static str {
        match self {
            Self::Logins => "Logins",
            Self::NewUsers => "NewUsers",
            Self::PhoneBinds => "PhoneBinds",
            Self::PaidPhoneCalls => "PaidPhoneCalls",
            Self::SmsSent => "SmsSent",
            Self::RateLimited => "RateLimited",
            Self::RefreshReuse => "RefreshReuse",
            Self::InternalErrors => "InternalErrors",
            Self::UsersDeleted => "UsersDeleted",
            Self::EventsFailed => "EventsFailed",
        }
    }
}

pub const DEFAULT_NAMESPACE: &str = "wxlogin";

struct Sink {
    namespace: String,
    function: String,
}

fn sink() -> &'static Sink {
    static SINK: OnceLock<Sink> = OnceLock::new();
    SINK.get_or_init(|| Sink {
        namespace: std::env::var("METRICS_NAMESPACE")
            .ok()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
        function: std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".to_owned()),
    })
}

/// Counts one event.
pub fn count(counter: Counter) {
    emit(&line(
        &sink().namespace,
        &[],
        counter.name(),
        "Count",
        1.0,
        json!({}),
    ));
}

/// Counts one failed WeChat call of `class` (`wechat::errcode::WeChatError::class`).
pub fn wechat_error(class: &'static str) {
    emit(&line(
        &sink().namespace,
        &["Class"],
        "WeChatErrors",
        "Count",
        1.0,
        json!({ "Class": class }),
    ));
}

/// One request's duration, by function.
pub fn duration(millis: f64) {
    let sink = sink();
    emit(&line(
        &sink.namespace,
        &["Function"],
        "Duration",
        "Milliseconds",
        millis,
        json!({ "Function": sink.function }),
    ));
}

/// One EMF object: the `_aws` metadata, the dimension values and the value.
fn line(
    namespace: &str,
    dimensions: &[&str],
    metric: &str,
    unit: &str,
    value: f64,
    dimension_values: Value,
) -> Value {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let mut object = json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimensions],
                "Metrics": [{ "Name": metric, "Unit": unit }],
            }],
        },
        metric: value,
    });
    if let (Some(target), Value::Object(values)) = (object.as_object_mut(), dimension_values) {
        target.extend(values);
    }
    object
}

/// Set by `silence`: no metric lines from this process.
static SILENCED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Stops this process's metric lines: a command-line tool (`wxlogin-admin`) prints its answer
/// on stdout, where no log agent reads EMF.
pub fn silence() {
    SILENCED.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn emit(object: &Value) {
    if SILENCED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    // One write per line, so the line never interleaves with a log line.
    let text = format!("{object}\n");
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_follows_the_embedded_metric_format() {
        let v = line(
            "wxlogin/prod",
            &["Class"],
            "WeChatErrors",
            "Count",
            1.0,
            json!({"Class": "busy"}),
        );
        let meta = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(meta["Namespace"], "wxlogin/prod");
        assert_eq!(meta["Dimensions"], json!([["Class"]]));
        assert_eq!(
            meta["Metrics"],
            json!([{"Name": "WeChatErrors", "Unit": "Count"}])
        );
        assert!(v["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
        assert_eq!(v["WeChatErrors"], 1.0);
        assert_eq!(v["Class"], "busy");
        let plain = line("n", &[], "Logins", "Count", 1.0, json!({}));
        assert_eq!(
            plain["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
    }
}
