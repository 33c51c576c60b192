//! A Lambda Runtime API emulator: serves `/2018-06-01/runtime/invocation/next` (with the
//! request-id, deadline and ARN headers), collects `/response`, `/error` and `/init/error`,
//! and runs the real function binary as Lambda would (`AWS_LAMBDA_RUNTIME_API`, the
//! `AWS_LAMBDA_FUNCTION_*` variables). One emulator is one warm Lambda instance.

use serde_json::Value;
use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use wxlogin::fake::{HttpServer, serve};
use wxlogin::http::{HttpRequest, HttpResponse};

/// What the function answered to one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Value),
    Error(Value),
    /// The answer came after the invocation's deadline: Lambda would have stopped the function
    /// and discarded it ("Task timed out").
    TimedOut,
}

#[derive(Default)]
struct Shared {
    pending: HashMap<String, oneshot::Sender<Outcome>>,
    first_next: Option<Instant>,
    init_error: Option<String>,
    /// The function's `Timeout`: each invocation's deadline is this long after it is handed
    /// out (`None`: 30 s, API Gateway's limit).
    timeout: Option<Duration>,
    /// Each handed-out invocation's deadline (ms since the epoch).
    deadlines: HashMap<String, u128>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log_path);
    }
}

pub struct Emulator {
    queue: mpsc::UnboundedSender<(String, Value)>,
    shared: Arc<Mutex<Shared>>,
    child: tokio::process::Child,
    started: Instant,
    log_path: std::path::PathBuf,
    _server: HttpServer,
    counter: std::sync::atomic::AtomicU64,
}

/// The path of a workspace binary. A test process first runs `cargo build --workspace --bins`
/// once (a no-op taking about a second when the test command has just built them), so a test
/// run on its own, e.g. `cargo test -p wxlogin-tests many_users`, never starts a missing or
/// stale binary. The bench binary (not under `deps/`) uses what is built.
pub fn binary(name: &str) -> std::path::PathBuf {
    // Tests run from target/debug/deps, the bench binary from target/debug.
    let exe = std::env::current_exe().unwrap();
    let mut dir = exe.parent().unwrap();
    if dir.ends_with("deps") {
        dir = dir.parent().unwrap();
        build_workspace_binaries_once(dir);
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` before the tests (scripts/test.sh does)",
        path.display()
    );
    path
}

/// `cargo build --workspace --bins` into the target directory this test binary lives in, once
/// per process; a failed build fails the test that needed it.
fn build_workspace_binaries_once(profile_dir: &std::path::Path) {
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let outcome = BUILT.get_or_init(|| {
        let target_dir = profile_dir.parent().unwrap();
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        let output = std::process::Command::new(env!("CARGO"))
            .args(["build", "--workspace", "--bins", "--quiet", "-j2"])
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(workspace)
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    });
    if let Err(e) = outcome {
        panic!("building the workspace binaries failed:\n{e}");
    }
}

impl Emulator {
    /// Starts the emulator and the binary with `env` (plus the Lambda variables).
    pub async fn start(binary_path: &std::path::Path, env: &[(&str, String)]) -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (queue, rx) = mpsc::unbounded_channel::<(String, Value)>();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handler_shared = shared.clone();
        let server = serve(
            listener,
            Arc::new(move |req: HttpRequest| {
                let shared = handler_shared.clone();
                let rx = rx.clone();
                Box::pin(async move { runtime_api(req, shared, rx).await })
            }),
        )
        .unwrap();
        let mut cmd = tokio::process::Command::new(binary_path);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", server.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", binary_path.file_name().unwrap())
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        // Output goes to a file: nothing is lost when the process exits early.
        let log_path = std::env::temp_dir().join(format!(
            "wxlogin-emulator-{}.log",
            wxlogin::crypto::random_id(8)
        ));
        let log_file = std::fs::File::create(&log_path).unwrap();
        cmd.stdout(Stdio::from(log_file.try_clone().unwrap()))
            .stderr(Stdio::from(log_file));
        let started = Instant::now();
        let child = cmd.spawn().unwrap();
        Self {
            queue,
            shared,
            child,
            started,
            log_path,
            _server: server,
            counter: Default::default(),
        }
    }

    /// Gives later invocations this `Timeout` (their `Lambda-Runtime-Deadline-Ms`).
    pub fn set_timeout(&self, timeout: Duration) {
        self.shared.lock().unwrap().timeout = Some(timeout);
    }

    /// Waits for the first `/next` (the end of cold init) and returns how long it took.
    pub async fn wait_ready(&mut self) -> Result<Duration, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            {
                let s = self.shared.lock().unwrap();
                if let Some(at) = s.first_next {
                    return Ok(at - self.started);
                }
                if let Some(e) = &s.init_error {
                    return Err(e.clone());
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "process exited during init ({status}); logs:\n{}",
                    self.logs()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!("no /next within 20 s; logs:\n{}", self.logs()));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Sends one event and waits for the function's answer.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let id = format!(
            "req-{}",
            self.counter
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let (tx, rx) = oneshot::channel();
        self.shared.lock().unwrap().pending.insert(id.clone(), tx);
        self.queue.send((id, event)).unwrap();
        match tokio::time::timeout(Duration::from_secs(30), rx).await {
            Ok(Ok(outcome)) => outcome,
            _ => panic!("no answer within 30 s; logs:\n{}", self.logs()),
        }
    }

    /// Invokes with an API Gateway event and returns (status, headers, JSON body).
    pub async fn http(&self, event: Value) -> HttpReply {
        match self.invoke(event).await {
            Outcome::Response(v) => HttpReply::from_apigw(&v),
            Outcome::Error(e) => panic!("function returned an invocation error: {e}"),
            Outcome::TimedOut => panic!("the function answered after its deadline"),
        }
    }

    /// Everything the process printed so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The CPU time the function's process has used so far, all its threads (the scheduler's
    /// own count, `/proc/<pid>/task/*/schedstat`, in nanoseconds): unlike a round trip, it
    /// does not grow when the machine is busy with something else. `None` off Linux or
    /// after the process exited.
    pub fn cpu_time(&self) -> Option<Duration> {
        let pid = self.child.id()?;
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
        let mut total = 0u64;
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
        Some(Duration::from_nanos(total))
    }

    pub async fn exit_status(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(within, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }
}

/// An HTTP API response, decoded.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub headers: serde_json::Map<String, Value>,
    pub raw_body: String,
    pub body: Value,
}

impl HttpReply {
    fn from_apigw(v: &Value) -> Self {
        let raw_body = v["body"].as_str().unwrap_or_default().to_owned();
        Self {
            status: v["statusCode"].as_u64().unwrap() as u16,
            headers: v["headers"].as_object().cloned().unwrap_or_default(),
            body: serde_json::from_str(&raw_body).unwrap_or(Value::Null),
            raw_body,
        }
    }
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(Value::as_str)
    }
}

async fn runtime_api(
    req: HttpRequest,
    shared: Arc<Mutex<Shared>>,
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>>,
) -> HttpResponse {
    let path = req.path.clone();
    let ok = |body: String| HttpResponse {
        status: 202,
        headers: vec![],
        body,
    };
    if req.method == "GET" && path == "/2018-06-01/runtime/invocation/next" {
        {
            let mut s = shared.lock().unwrap();
            if s.first_next.is_none() {
                s.first_next = Some(Instant::now());
            }
        }
        let next = rx.lock().await.recv().await;
        let Some((id, event)) = next else {
            return HttpResponse {
                status: 500,
                headers: vec![],
                body: String::new(),
            };
        };
        let timeout = shared
            .lock()
            .unwrap()
            .timeout
            .unwrap_or(Duration::from_secs(30));
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + timeout.as_millis();
        shared
            .lock()
            .unwrap()
            .deadlines
            .insert(id.clone(), deadline);
        return HttpResponse {
            status: 200,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("lambda-runtime-aws-request-id".into(), id),
                ("lambda-runtime-deadline-ms".into(), deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn".into(),
                    "arn:aws:lambda:us-east-1:123456789012:function:test".into(),
                ),
                (
                    "lambda-runtime-trace-id".into(),
                    "Root=1-00000000-000000000000000000000000".into(),
                ),
            ],
            body: event.to_string(),
        };
    }
    if req.method == "POST" && path == "/2018-06-01/runtime/init/error" {
        shared.lock().unwrap().init_error = Some(String::from_utf8_lossy(&req.body).into_owned());
        return ok("{}".into());
    }
    if req.method == "POST"
        && let Some(rest) = path.strip_prefix("/2018-06-01/runtime/invocation/")
        && let Some((id, kind)) = rest.split_once('/')
    {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let late = shared
            .lock()
            .unwrap()
            .deadlines
            .remove(id)
            .is_some_and(|deadline| now_ms > deadline);
        let outcome = if late {
            Outcome::TimedOut
        } else if kind == "response" {
            Outcome::Response(body)
        } else {
            Outcome::Error(body)
        };
        if let Some(tx) = shared.lock().unwrap().pending.remove(id) {
            let _ = tx.send(outcome);
        }
        return ok("{}".into());
    }
    HttpResponse {
        status: 404,
        headers: vec![],
        body: String::new(),
    }
}
