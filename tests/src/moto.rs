//! Starts one moto server per test process on a free 127.0.0.1 port, with `MOTO_PYTHON`, the
//! repo's `.venv` Python (the README's test command installs it), or else a `python3` that has
//! moto. The server is
//! `tests/moto/serial_moto.py`: moto behind one lock, so that its transactions are as isolated
//! as DynamoDB's (tooling-notes: moto's own are not, and race tests would judge moto). It is
//! never skipped: no moto, no test run. A watchdog shell kills moto when the test process exits.

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static ENDPOINT: OnceLock<String> = OnceLock::new();

fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `python serial_moto.py`, as one shell word each.
fn moto_command() -> String {
    let script = repo_root().join("tests/moto/serial_moto.py");
    let venv = repo_root().join(".venv/bin/python");
    let python = match std::env::var("MOTO_PYTHON") {
        Ok(path) => path,
        Err(_) if venv.exists() => venv.to_string_lossy().into_owned(),
        // A test run on its own in a checkout the test command has not set up yet
        // (`cargo test -p wxlogin-tests many_users`): the machine's python, if it has moto.
        Err(_) if has_moto("python3") => "python3".to_owned(),
        Err(_) => panic!(
            "moto not found: run ./scripts/test.sh (it creates .venv with moto) or set MOTO_PYTHON"
        ),
    };
    format!("'{python}' '{}'", script.display())
}

/// Whether `python` can import moto's server.
fn has_moto(python: &str) -> bool {
    Command::new(python)
        .args(["-c", "import moto.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The endpoint URL of the shared moto server, starting it on first use.
pub fn endpoint() -> String {
    ENDPOINT.get_or_init(start_server).clone()
}

/// A moto server of the caller's own, for a test whose volume would slow every other test
/// sharing one (moto applies one request at a time, and its transactions copy whole tables).
pub fn private_endpoint() -> String {
    start_server()
}

fn start_server() -> String {
    let port = free_port();
    let script = format!(
        "{bin} -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; while kill -0 {parent} 2>/dev/null; do sleep 0.3; done; kill $m",
        bin = moto_command(),
        parent = std::process::id()
    );
    // The watchdog shell outlives this handle on purpose; it exits with the test process.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start moto");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto_server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    format!("http://127.0.0.1:{port}")
}

/// Environment a process (or the SDK in this process) needs to talk to moto.
pub fn aws_env() -> Vec<(&'static str, String)> {
    aws_env_at(&endpoint())
}

/// `aws_env` for the moto at `endpoint`.
pub fn aws_env_at(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_SESSION_TOKEN", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// An SDK config pointed at moto, for test setup and assertions.
pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_at(&endpoint()).await
}

/// `sdk_config` for the moto at `endpoint`.
pub async fn sdk_config_at(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

/// A unique name, so parallel tests never share a table or secret.
pub fn unique(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!(
        "{prefix}-{}-{n}-{}",
        std::process::id(),
        wxlogin::crypto::random_id(4)
    )
}

/// Creates a table shaped like the template's: `pk` string key, on-demand, TTL on `expires_at`.
pub async fn create_table(sdk: &aws_config::SdkConfig, name: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    let client = aws_sdk_dynamodb::Client::new(sdk);
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires_at")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

pub async fn put_secret(sdk: &aws_config::SdkConfig, name: &str, value: &str) {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
}

pub async fn update_secret(sdk: &aws_config::SdkConfig, name: &str, value: &str) {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    client
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
}

/// Every item of a table whose `pk` starts with `prefix`.
pub async fn scan_prefix(
    sdk: &aws_config::SdkConfig,
    table: &str,
    prefix: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let mut items = Vec::new();
    let mut start = None;
    // Every page: a Scan answers at most 1 MB.
    loop {
        let out = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(out.items.unwrap_or_default().into_iter().filter(|i| {
            i.get("pk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|pk| pk.starts_with(prefix))
        }));
        start = out.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}
