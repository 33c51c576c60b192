//! `scripts/bench.sh`: prints size, cold init, warm latency and calls per login for the release
//! function binaries, measured under the Runtime API emulator against moto and the fake WeChat,
//! and the authorizer's beside the floor of a bare runtime (`examples/bare_runtime`).
//! Figures, not pass/fail: targets are in the README.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use wxlogin_tests::emulator::Emulator;
use wxlogin_tests::events;
use wxlogin_tests::moto;
use wxlogin_tests::proxy::RecordingProxy;
use wxlogin_tests::stack::Stack;
use wxlogin_tests::write_units::write_units;

const RUNS: usize = 15;
const WARM: usize = 40;
const WARM_INVOKES: usize = 1000;

#[tokio::main]
async fn main() {
    // WXLOGIN_BENCH_BINARIES: another build's release folder (say, an older commit's), so
    // that two builds are measured by the same harness on the same moto.
    let release = std::env::var_os("WXLOGIN_BENCH_BINARIES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release")
        });
    let binary = release.join("code-exchange");
    assert!(
        binary.exists(),
        "build first: cargo build --release -p code-exchange (scripts/bench.sh does)"
    );
    println!(
        "wxlogin bench ({} cores)\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    print_sizes(&release);

    let stack = Stack::new().await;
    let mut colds = Vec::new();
    for _ in 0..RUNS {
        let mut e = Emulator::start(&binary, &stack.env(&[])).await;
        colds.push(e.wait_ready().await.unwrap());
    }
    println!(
        "code-exchange  cold init, process start -> first /next, incl. 2 secrets from moto: {}   [target <= 30 ms]",
        summary(&mut colds)
    );

    let lambda = Emulator::start(&binary, &stack.env(&[])).await;
    let mut lambda = lambda;
    lambda.wait_ready().await.unwrap();
    let mut new_user = Vec::new();
    for i in 0..WARM {
        let code = stack.wechat.issue_code(stack.appid(), &format!("new-{i}"));
        new_user.push(timed_login(&lambda, &code).await);
    }
    let mut returning = Vec::new();
    for _ in 0..WARM {
        let code = stack.wechat.issue_code(stack.appid(), "returning");
        returning.push(timed_login(&lambda, &code).await);
    }
    println!(
        "code-exchange  warm login, new user:       {}",
        summary(&mut new_user)
    );
    println!(
        "code-exchange  warm login, returning user: {}",
        summary(&mut returning)
    );

    // Calls per warm login, counted by a proxy in front of moto.
    let proxy = RecordingProxy::start(moto::endpoint()).await;
    let proxy_url = proxy.url();
    let proxied_env = stack.env(&[("AWS_ENDPOINT_URL", proxy_url.as_str())]);
    let mut counted = Emulator::start(&binary, &proxied_env).await;
    counted.wait_ready().await.unwrap();
    let cold_counts = tally(proxy.take());
    let wx_before = stack.wechat.calls("/sns/jscode2session");
    let code = stack.wechat.issue_code(stack.appid(), "counted");
    timed_login(&counted, &code).await;
    let new_calls = proxy.take();
    let new_units = write_units(&new_calls);
    let new_counts = tally(new_calls);
    let code = stack.wechat.issue_code(stack.appid(), "counted");
    timed_login(&counted, &code).await;
    let returning_calls = proxy.take();
    let returning_units = write_units(&returning_calls);
    let returning_counts = tally(returning_calls);
    let wx_calls = stack.wechat.calls("/sns/jscode2session") - wx_before;
    println!("code-exchange  calls at cold start: {}", show(&cold_counts));
    println!(
        "code-exchange  calls per warm login, new user:       WeChat 1, {}",
        show(&new_counts)
    );
    println!(
        "code-exchange  calls per warm login, returning user: WeChat 1, {}   [target: WeChat 1, Secrets Manager 0]",
        show(&returning_counts)
    );
    // On-demand list price (us-east-1, since November 2024): $0.625 per million write units.
    println!(
        "code-exchange  DynamoDB write units per warm login: new user {new_units}, returning user {returning_units} (${:.2} per million returning logins)   [target: new <= 6, returning <= 4]",
        returning_units as f64 * 0.625
    );
    assert_eq!(wx_calls, 2);

    bench_authorizer(&release, &stack, &proxy).await;
    bench_load().await;
}

/// The abuse guard under load: bursts through several debug-built instances (the limits are
/// the figure here, not the speed).
async fn bench_load() {
    use wxlogin_tests::load;
    println!("\nload: one burst each, all requests at once over 4 instances, against moto");
    let show = |what: &str, limit: &str, b: load::Burst, started: Instant| {
        let rate_limited = b.metrics.get("RateLimited").copied().unwrap_or(0.0);
        println!(
            "{what:<34} {limit:<26} requests {:>3}, admitted {:>3}, refused {:>3}, other {}, upstream calls {:>3}, RateLimited metric {rate_limited}   ({:.1} s)",
            b.requests,
            b.admitted,
            b.refused,
            b.other,
            b.upstream_calls,
            started.elapsed().as_secs_f64()
        );
    };
    let stack = Stack::new().await;
    let started = Instant::now();
    let b = load::logins(&stack, 4, 200, 50).await;
    show(
        "logins from one address",
        "LIMIT_LOGIN_PER_ADDRESS 50",
        b,
        started,
    );
    let started = Instant::now();
    let b = load::phone_binds(&stack, 4, 40, 15).await;
    show(
        "phone binds (new-style codes)",
        "PHONE_DAILY_BUDGET 15",
        b,
        started,
    );
    let started = Instant::now();
    let b = load::sms_sends(&stack, 4, 100, 30).await;
    show(
        "SMS sends from one /24",
        "LIMIT_SMS_PER_NETWORK 30",
        b,
        started,
    );
}

/// Each function's release binary, as deployed (one cargo invocation per function), and the
/// bare runtime under them.
fn print_sizes(release: &std::path::Path) {
    let mb = |path: &std::path::Path| {
        std::fs::metadata(path)
            .map(|m| format!("{:.2} MB", m.len() as f64 / 1e6))
            .unwrap_or_else(|_| "missing".into())
    };
    for (name, target) in [
        ("code-exchange", "<= 6 MB"),
        ("bind-phone", "<= 6 MB"),
        ("account", "<= 6 MB"),
        ("session", "<= 6 MB"),
        ("key-rotation", "<= 6 MB"),
        ("authorizer", "<= 3 MB"),
    ] {
        println!(
            "{name:<14} size (release, stripped): {}   [target {target}]",
            mb(&release.join(name))
        );
    }
    println!(
        "{:<14} size (release, stripped): {}\n",
        "bare runtime",
        mb(&bare_runtime())
    );
}

/// The floor: the runtime alone, built from this checkout whatever `WXLOGIN_BENCH_BINARIES`
/// says (it measures the machine, not a build of wxlogin).
fn bare_runtime() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/examples/bare_runtime")
}

/// The authorizer: cold init (one GetItem for the keys), warm decision latency through the
/// emulator and the network calls per authorization (none), each beside the bare runtime's
/// floor measured alternately with it. Its own cold start is timed with the key read answered
/// from memory (`RecordingProxy::start_replaying`): moto's few milliseconds per call are not
/// the authorizer's, and DynamoDB answers a GetItem in single-digit milliseconds too.
async fn bench_authorizer(release: &std::path::Path, stack: &Stack, proxy: &RecordingProxy) {
    let binary = release.join("authorizer");
    let floor = bare_runtime();
    assert!(
        floor.exists(),
        "build first: cargo build --release -p wxlogin --features lambda --example bare_runtime (scripts/bench.sh does)"
    );
    let replay = RecordingProxy::start_replaying(moto::endpoint()).await;
    let replay_url = replay.url();
    let replayed_env = stack.env(&[("AWS_ENDPOINT_URL", replay_url.as_str())]);
    let mut warmup = Emulator::start(&binary, &replayed_env).await;
    warmup.wait_ready().await.unwrap();
    let (mut floor_colds, mut colds, mut own_colds) = (Vec::new(), Vec::new(), Vec::new());
    let (mut floor_cpu, mut own_cpu) = (Vec::new(), Vec::new());
    for _ in 0..RUNS * 2 {
        let mut e = Emulator::start(&floor, &[]).await;
        floor_colds.push(e.wait_ready().await.unwrap());
        floor_cpu.push(e.cpu_time().unwrap_or_default());
        let mut e = Emulator::start(&binary, &stack.env(&[])).await;
        colds.push(e.wait_ready().await.unwrap());
        let mut e = Emulator::start(&binary, &replayed_env).await;
        own_colds.push(e.wait_ready().await.unwrap());
        own_cpu.push(e.cpu_time().unwrap_or_default());
    }
    let floor_cold = median(&mut floor_colds);
    println!(
        "\nbare runtime   cold init, process start -> first /next: {}",
        summary(&mut floor_colds)
    );
    println!(
        "authorizer     cold init, incl. 1 GetItem of the keys from moto: {}",
        summary(&mut colds)
    );
    println!(
        "authorizer     cold init, the GetItem answered from memory: {}",
        summary(&mut own_colds)
    );
    println!(
        "authorizer     cold init, its own time (the above minus the bare runtime, medians): {:.2} ms   [target <= 5 ms]",
        ms(median(&mut own_colds).saturating_sub(floor_cold))
    );
    println!(
        "authorizer     cold init CPU time (all threads, medians): {:.2} ms, bare runtime {:.2} ms",
        ms(median(&mut own_cpu)),
        ms(median(&mut floor_cpu))
    );

    let signer = Emulator::start(&release.join("code-exchange"), &stack.env(&[])).await;
    let mut signer = signer;
    signer.wait_ready().await.unwrap();
    let code = stack.wechat.issue_code(stack.appid(), "authorized");
    let login = signer
        .http(events::post_json("/auth/login", &json!({"code": code})))
        .await;
    let bearer = format!("Bearer {}", login.body["access_token"].as_str().unwrap());

    let proxy_url = proxy.url();
    let proxied_env = stack.env(&[("AWS_ENDPOINT_URL", proxy_url.as_str())]);
    proxy.take();
    let mut authorizer = Emulator::start(&binary, &proxied_env).await;
    authorizer.wait_ready().await.unwrap();
    let cold_counts = tally(proxy.take());
    let mut bare = Emulator::start(&floor, &[]).await;
    bare.wait_ready().await.unwrap();
    let (mut warm, mut floor_warm) = (Vec::new(), Vec::new());
    let cpu_before = (bare.cpu_time(), authorizer.cpu_time());
    for _ in 0..WARM_INVOKES {
        let event = events::authorizer(Some(&bearer));
        let started = Instant::now();
        bare.invoke(event.clone()).await;
        floor_warm.push(started.elapsed());
        let started = Instant::now();
        let outcome = authorizer.invoke(event).await;
        warm.push(started.elapsed());
        match outcome {
            wxlogin_tests::emulator::Outcome::Response(v) => assert_eq!(v["isAuthorized"], true),
            other => panic!("{other:?}"),
        }
    }
    let cpu_per_invoke = |before: Option<Duration>, after: Option<Duration>| {
        after.zip(before).map_or(0.0, |(a, b)| {
            a.saturating_sub(b).as_secs_f64() * 1e6 / WARM_INVOKES as f64
        })
    };
    let floor_cpu_us = cpu_per_invoke(cpu_before.0, bare.cpu_time());
    let cpu_us = cpu_per_invoke(cpu_before.1, authorizer.cpu_time());
    let warm_counts = tally(proxy.take());
    println!("authorizer     calls at cold start: {}", show(&cold_counts));
    println!(
        "authorizer     calls during {WARM_INVOKES} warm authorizations: {}   [target 0]",
        show(&warm_counts)
    );
    let floor_median = median(&mut floor_warm);
    println!(
        "bare runtime   warm invoke through the emulator (invoke round trip): {}",
        summary(&mut floor_warm)
    );
    println!(
        "authorizer     warm authorization through the emulator (invoke round trip): {}",
        summary(&mut warm)
    );
    println!(
        "authorizer     warm authorization over the bare runtime (medians): {:.3} ms   [target <= 0.05 ms]",
        ms(median(&mut warm).saturating_sub(floor_median))
    );
    println!(
        "authorizer     CPU time per warm authorization (all threads): {cpu_us:.1} us, bare runtime {floor_cpu_us:.1} us, over the floor {:.1} us (the token check alone: see verify_bench)",
        cpu_us - floor_cpu_us
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

async fn timed_login(lambda: &Emulator, code: &str) -> Duration {
    let started = Instant::now();
    let r = lambda
        .http(events::post_json("/auth/login", &json!({"code": code})))
        .await;
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.raw_body);
    took
}

fn summary(samples: &mut [Duration]) -> String {
    samples.sort();
    let pick = |q: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    format!(
        "median {:.2} ms, p90 {:.2} ms, min {:.2} ms (n={})",
        ms(pick(0.5)),
        ms(pick(0.9)),
        ms(pick(0.0)),
        samples.len()
    )
}

fn show(counts: &HashMap<String, usize>) -> String {
    let service = |prefix: &str| -> (usize, Vec<String>) {
        let mut ops: Vec<String> = counts
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| format!("{}x{v}", k.trim_start_matches(prefix)))
            .collect();
        ops.sort();
        (
            counts
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(_, v)| v)
                .sum(),
            ops,
        )
    };
    let (ddb, ddb_ops) = service("DynamoDB_20120810.");
    let (sm, sm_ops) = service("secretsmanager.");
    format!(
        "DynamoDB {ddb} ({}), Secrets Manager {sm} ({})",
        ddb_ops.join(" "),
        sm_ops.join(" ")
    )
}

/// Calls per operation.
fn tally(calls: Vec<wxlogin_tests::proxy::Call>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for c in calls {
        *counts.entry(c.operation).or_default() += 1;
    }
    counts
}
