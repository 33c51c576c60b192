//! Concurrent load through several instances of a function against moto: every request at
//! once, spread over the instances, each instance answering one at a time as Lambda does.
//! Shared by the concurrency test (small limits) and `scripts/bench.sh` (bigger ones): what a
//! limit admitted is compared with its number and with the calls that reached WeChat or SNS.

use crate::emulator::Emulator;
use crate::events;
use crate::proxy::RecordingProxy;
use crate::stack::Stack;
use serde_json::json;
use std::sync::Arc;

/// The bursts' limits count per hour, the phone budget per day: start clear of both ends.
const WINDOW_SECS: u64 = 3_600;

/// What one burst did.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    pub requests: usize,
    pub admitted: usize,
    /// 429 RATE_LIMITED answers.
    pub refused: usize,
    /// Anything else (must be 0).
    pub other: usize,
    /// Calls that reached the paid or quota'd upstream (WeChat or SNS).
    pub upstream_calls: usize,
    /// The EMF counters the instances logged, summed by metric name.
    pub metrics: std::collections::BTreeMap<String, f64>,
}

/// Every EMF metric value in `logs`, summed by name.
pub fn metric_sums(logs: &str) -> std::collections::BTreeMap<String, f64> {
    let mut sums = std::collections::BTreeMap::new();
    for line in logs.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let names = v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for name in names.iter().filter_map(|m| m["Name"].as_str()) {
            *sums.entry(name.to_owned()).or_default() += v[name].as_f64().unwrap_or(0.0);
        }
    }
    sums
}

fn metrics_of(functions: &[Arc<Emulator>]) -> std::collections::BTreeMap<String, f64> {
    let logs: String = functions.iter().map(|f| f.logs()).collect();
    metric_sums(&logs)
}

async fn instances(
    stack: &Stack,
    name: &str,
    n: usize,
    env: &[(&'static str, &str)],
) -> Vec<Arc<Emulator>> {
    let mut all = Vec::new();
    for _ in 0..n {
        all.push(Arc::new(stack.start(name, env).await));
    }
    all
}

/// Sends every event at once, round robin over the instances: (200s, 429s, others).
async fn burst(
    functions: &[Arc<Emulator>],
    events: Vec<serde_json::Value>,
) -> (usize, usize, usize) {
    let mut set = tokio::task::JoinSet::new();
    for (i, event) in events.into_iter().enumerate() {
        let function = functions[i % functions.len()].clone();
        set.spawn(async move { function.http(event).await.status });
    }
    let statuses = set.join_all().await;
    let admitted = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    (admitted, refused, statuses.len() - admitted - refused)
}

/// `requests` logins with fresh codes from one source address, `LIMIT_LOGIN_PER_ADDRESS` =
/// `limit` per hour, through `n` code-exchange instances.
pub async fn logins(stack: &Stack, n: usize, requests: usize, limit: u32) -> Burst {
    let rate = format!("{limit}/1h");
    let functions = instances(
        stack,
        "code-exchange",
        n,
        &[("LIMIT_LOGIN_PER_ADDRESS", rate.as_str())],
    )
    .await;
    let before = stack.wechat.calls("/sns/jscode2session");
    let events = (0..requests)
        .map(|i| {
            let code = stack.wechat.issue_code(stack.appid(), &format!("load-{i}"));
            events::post_json("/auth/login", &json!({ "code": code }))
        })
        .collect();
    // Counted exactly only inside one window (every day's end is also an hour's end).
    crate::windows::clear_of_window_end(WINDOW_SECS, 60).await;
    let (admitted, refused, other) = burst(&functions, events).await;
    Burst {
        requests,
        admitted,
        refused,
        other,
        upstream_calls: stack.wechat.calls("/sns/jscode2session") - before,
        metrics: metrics_of(&functions),
    }
}

/// `users` users, each binding a phone with a new-style code at once, `PHONE_DAILY_BUDGET` =
/// `budget`, through `n` bind-phone instances.
pub async fn phone_binds(stack: &Stack, n: usize, users: usize, budget: u32) -> Burst {
    let login = stack.start("code-exchange", &[]).await;
    let budget_text = budget.to_string();
    let functions = instances(
        stack,
        "bind-phone",
        n,
        &[("PHONE_DAILY_BUDGET", budget_text.as_str())],
    )
    .await;
    let mut events = Vec::new();
    for i in 0..users {
        let user = format!("phone-load-{i}");
        let session = stack.login(&login, &user).await;
        let token = session["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let code = stack.wechat.issue_phone_code(
            stack.appid(),
            &user,
            "86",
            &format!("1390000{i:04}"),
            false,
        );
        let auth = format!("Bearer {token}");
        let body = json!({ "code": code }).to_string();
        events.push(events::http(
            "POST",
            "/auth/phone",
            Some(&body),
            &[("authorization", auth.as_str())],
        ));
    }
    let path = "/wxa/business/getuserphonenumber";
    let before = stack.wechat.calls(path);
    // Counted exactly only inside one window (every day's end is also an hour's end).
    crate::windows::clear_of_window_end(WINDOW_SECS, 60).await;
    let (admitted, refused, other) = burst(&functions, events).await;
    Burst {
        requests: users,
        admitted,
        refused,
        other,
        upstream_calls: stack.wechat.calls(path) - before,
        metrics: metrics_of(&functions),
    }
}

/// `requests` SMS sends to different numbers from different addresses of one /24, with
/// `LIMIT_SMS_PER_NETWORK` = `limit` per hour, through `n` account instances (SNS on moto,
/// counted by a proxy).
pub async fn sms_sends(stack: &Stack, n: usize, requests: usize, limit: u32) -> Burst {
    let proxy = RecordingProxy::start(crate::moto::endpoint()).await;
    let url = proxy.url();
    let rate = format!("{limit}/1h");
    let env = [
        ("SMS_SENDER", "sns"),
        ("AWS_ENDPOINT_URL", url.as_str()),
        ("LIMIT_SMS_PER_NETWORK", rate.as_str()),
    ];
    let functions = instances(stack, "account", n, &env).await;
    proxy.take();
    let events = (0..requests)
        .map(|i| {
            let body = json!({ "phone": format!("1380000{i:04}") }).to_string();
            let mut e = events::http("POST", "/auth/sms/send", Some(&body), &[]);
            e["requestContext"]["http"]["sourceIp"] = json!(format!("198.51.100.{}", 1 + i % 250));
            e
        })
        .collect();
    // Counted exactly only inside one window (every day's end is also an hour's end).
    crate::windows::clear_of_window_end(WINDOW_SECS, 60).await;
    let (admitted, refused, other) = burst(&functions, events).await;
    let published = proxy
        .take()
        .iter()
        .filter(|c| c.operation == "query.Publish")
        .count();
    Burst {
        requests,
        admitted,
        refused,
        other,
        upstream_calls: published,
        metrics: metrics_of(&functions),
    }
}
